// The device's whole check order (docs/CLIENT.md): the primary, then the
// offline license on the organization's backend, then the backup, then the
// last verified lease kept on the device.

import { subtleCrypto, verifyLease, verifyOffline, verifyKeySet, offlineLocation, decodeBase64, encodeBase64, keyId, DEFAULT_MAX_LEASE_SECONDS, MAX_OFFLINE_VALIDITY_SECONDS } from './index.mjs';

const STORE_MAGIC = 'licet-store-v1\n';

/** Keeps the state in memory only (tests, or an app that stores nothing). */
export function memoryStore() {
  let state = null;
  return { async load() { return state && structuredClone(state); }, async save(s) { state = structuredClone(s); } };
}

/**
 * Keeps the state encrypted with AES-256-GCM, in the Go client's file
 * format ("licet-store-v1\n", a 12-byte nonce, the sealed JSON with the
 * magic as additional data). `backend` reads and writes the bytes
 * (`fileBackend` in '@licet/client/node', localStorage, AsyncStorage…);
 * `key` is a non-extractable AES-GCM CryptoKey (or 32 raw bytes) from the
 * platform's keystore. A file that does not decrypt is treated as empty
 * and reported as a 'store-corrupt' step.
 */
export function encryptedStore(backend, key) {
  const magic = new TextEncoder().encode(STORE_MAGIC);
  const subtle = () => {
    const x = subtleCrypto();
    if (!x) throw new Error('no WebCrypto: install a polyfill and pass it to useSubtleCrypto (docs/CLIENT.md)');
    return x;
  };
  let k;
  const aesKey = async () => (k ??= key instanceof Uint8Array
    ? await subtle().importKey('raw', key, { name: 'AES-GCM' }, false, ['encrypt', 'decrypt'])
    : key);
  return {
    async load() {
      const b = await backend.read();
      if (!b) return null;
      if (b.length < magic.length + 12 + 16 || magic.some((x, i) => b[i] !== x)) throw new StoreCorrupt();
      try {
        const plain = await subtle().decrypt({ name: 'AES-GCM', iv: b.subarray(magic.length, magic.length + 12), additionalData: magic }, await aesKey(), b.subarray(magic.length + 12));
        return JSON.parse(new TextDecoder().decode(plain));
      } catch {
        throw new StoreCorrupt();
      }
    },
    async save(state) {
      const iv = globalThis.crypto.getRandomValues(new Uint8Array(12)); // the platform's (or the polyfill's) random source
      const sealed = new Uint8Array(await subtle().encrypt({ name: 'AES-GCM', iv, additionalData: magic }, await aesKey(), new TextEncoder().encode(JSON.stringify(state))));
      const out = new Uint8Array(magic.length + 12 + sealed.length);
      out.set(magic);
      out.set(iv, magic.length);
      out.set(sealed, magic.length + 12);
      await backend.write(out);
    },
  };
}

class StoreCorrupt extends Error {
  constructor() { super('local store: corrupted, tampered with, or under another key; starting empty'); this.code = 'store-corrupt'; }
}

class StepError extends Error {
  constructor(code, message) { super(message); this.code = code; }
}

const STEP = {
  unreachable: 'cannot be reached',
  forged: "the answer's lease does not verify: not believed",
  'no-offline': 'no offline license at the backend',
  'clock-rollback': 'the device clock is earlier than a time a signed document vouched for: not trusting local data',
  'no-cache': 'no verified lease stored on this device',
  'cache-expired': 'the stored lease has expired',
  'no-trusted-keys': 'no trusted public keys: configure them or allow fetching them over TLS',
  replayed: "the answer's lease is older than one already seen: a replay, not believed",
  refused: 'the server refused the check',
};
const fail = (code, detail) => new StepError(code, detail ? `${STEP[code]}: ${detail}` : STEP[code]);

const MAX_OFFLINE_BYTES = 8 << 20;

/**
 * A device's license check. See index.d.mts for the configuration; every
 * I/O is pluggable: `fetch` (default globalThis.fetch) and `store`.
 */
export class Client {
  constructor(config) {
    this.c = {
      stepTimeoutMs: 5000, deadlineMs: 15000, driftSeconds: 300, keyRefreshSeconds: 24 * 3600,
      maxLeaseSeconds: DEFAULT_MAX_LEASE_SECONDS, maxOfflineValiditySeconds: MAX_OFFLINE_VALIDITY_SECONDS,
      now: () => new Date(), fetch: globalThis.fetch?.bind(globalThis), store: null,
      ...config,
    };
    if (!this.c.request?.organizationId || !this.c.request?.userId || !this.c.request?.deviceId) {
      throw new TypeError('request needs organizationId, userId and deviceId');
    }
    if (typeof this.c.fetch !== 'function') throw new TypeError('no fetch: pass config.fetch');
  }

  /** Runs the whole order and returns the outcome; it does not throw for a failed source. */
  async check() {
    const deadline = AbortSignal.timeout(this.c.deadlineMs);
    const o = { licensed: false, status: 'Unreachable', licenseType: '', message: '', source: 'none', expires: null, lease: null, offline: null, steps: [] };
    let st = {};
    if (this.c.store) {
      try {
        st = (await this.c.store.load()) ?? {};
      } catch (e) {
        o.steps.push(step('cache', e.code ? e : fail('no-cache', e.message)));
      }
    }
    st.revokedKeys ??= [];
    // The clock reading of this check; the store keeps the latest one (and
    // the latest believed iat), so a clock set back is noticed even when
    // no signed document came in since.
    const now = this.now();
    const latest = Math.max(ms(st.latestSeen), ms(st.latestTrusted));
    const rollback = latest > 0 && now < latest - this.c.driftSeconds * 1000;
    if (now > ms(st.latestSeen)) st.latestSeen = iso(now);
    let keys;
    try {
      keys = await this.trustedKeys(st, deadline);
    } catch (e) {
      o.steps.push(step('primary', e));
      if (rollback) {
        o.steps.push(step('cache', fail('clock-rollback')));
        return this.finish(o, st);
      }
      return this.finish(await this.fromCache(o, st, null), st);
    }
    if (await this.server('primary', this.c.primary, keys, st, o, deadline)) return this.finish(o, st);
    if (!rollback) {
      if (await this.offline(keys, st, o, deadline)) return this.finish(o, st);
    } else {
      o.steps.push(step('offline', fail('clock-rollback')));
    }
    if (this.c.backup && (await this.server('backup', this.c.backup, keys, st, o, deadline))) return this.finish(o, st);
    if (rollback) {
      o.steps.push(step('cache', fail('clock-rollback')));
      return this.finish(o, st);
    }
    return this.finish(await this.fromCache(o, st, keys), st);
  }

  now() { return this.c.now().getTime(); }

  async finish(o, st) {
    if (this.c.store) await this.c.store.save({ ...st, request: this.c.request });
    return o;
  }

  // get makes one request and reads at most max bytes of the answer, all
  // within one step's timeout and the whole walk's deadline (no
  // AbortSignal.any: Node 18 and older browsers lack it).
  async get(url, init, deadline, max) {
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(new Error('the step timed out')), this.c.stepTimeoutMs);
    const onDeadline = () => ac.abort(new Error("the check's deadline passed"));
    if (deadline.aborted) onDeadline();
    deadline.addEventListener('abort', onDeadline);
    try {
      // No redirects: the device talks only to the servers it was given.
      const resp = await this.c.fetch(url, { ...init, signal: ac.signal, redirect: 'manual' });
      if (resp.type === 'opaqueredirect' || (resp.status >= 300 && resp.status < 400)) throw new Error(`redirected (${resp.status}); redirects are not followed`);
      return { status: resp.status, body: await readCapped(resp, max) };
    } finally {
      clearTimeout(timer);
      deadline.removeEventListener('abort', onDeadline);
    }
  }

  async server(src, base, keys, st, o, deadline) {
    if (!base) {
      o.steps.push(step(src, fail('unreachable', 'no URL configured')));
      return false;
    }
    let resp, text;
    try {
      resp = await this.get(`${base.replace(/\/+$/, '')}/v1/license/check`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(this.c.request),
      }, deadline, 1 << 20);
      text = new TextDecoder().decode(resp.body);
    } catch (e) {
      o.steps.push(step(src, fail('unreachable', e.message)));
      return false;
    }
    if (resp.status >= 500 || resp.status === 429) {
      o.steps.push(step(src, fail('unreachable', `${resp.status}`)));
      return false;
    }
    let a;
    try {
      a = JSON.parse(text);
    } catch {
      a = null;
    }
    if (!a || typeof a !== 'object' || resp.status >= 400) {
      o.steps.push(step(src, fail('refused', a?.error?.message ?? `${resp.status}`)));
      return false;
    }
    if (!a.licensed) {
      // A live server's "no" ends the walk and forgets the stored lease: a
      // user disabled now must not work on from the cache once the
      // licensing host is blocked. It is not signed: at worst a forger
      // makes a device stop working, never work unlicensed. A backup's
      // ReadOnlyServer ("cannot assign") is no revocation.
      Object.assign(o, { source: src, status: a.status, message: a.message ?? '', licenseType: a.licenseType ?? '' });
      if (a.status !== 'ReadOnlyServer') {
        delete st.lease;
        delete st.signature;
      }
      return true;
    }
    let l;
    let err;
    try {
      l = await this.verify(a.lease, a.signature, keys, st);
    } catch (e) {
      err = e;
      if (e.reason === 'unknown-key') {
        // The server may have rotated its key (or revoked one): fetch the
        // signed key set again; new keys join the pins when the app
        // configured none.
        try {
          keys = await this.refreshKeys(st, deadline);
          l = await this.verify(a.lease, a.signature, keys, st);
          err = undefined;
        } catch (e2) {
          if (e2.reason) err = e2;
        }
      }
    }
    if (err && ['revoked-key', 'issued-in-future', 'too-long'].includes(err.reason)) {
      o.steps.push(step(src, err));
      return false;
    }
    if (!l || l.status !== a.status || l.licenseType !== (a.licenseType ?? '')) {
      o.steps.push(step(src, fail('forged')));
      return false;
    }
    const iat = Date.parse(l.issuedAt);
    if (ms(st.latestTrusted) > 0 && iat < ms(st.latestTrusted) - this.c.driftSeconds * 1000) {
      // Older than a lease already seen: a replay, not a fresh answer.
      o.steps.push(step(src, fail('replayed')));
      return false;
    }
    Object.assign(o, { licensed: true, source: src, status: l.status, licenseType: l.licenseType, message: a.message ?? '', lease: l, expires: new Date(l.expiresAt) });
    st.lease = encodeBase64(l.payload);
    st.signature = encodeBase64(l.signature);
    saw(st, iat);
    return true;
  }

  verify(lease, signature, keys, st) {
    const r = this.c.request;
    return verifyLease(lease, signature, keys, {
      org: r.organizationId, user: r.userId, device: r.deviceId, now: this.now(), driftSeconds: this.c.driftSeconds,
      maxLeaseSeconds: this.c.maxLeaseSeconds, revoked: st.revokedKeys,
    });
  }

  async offline(keys, st, o, deadline) {
    const where = this.c.offlineURL || offlineLocation(this.c.request.organizationUrl ?? '');
    let resp, doc;
    try {
      resp = await this.get(where, { method: 'GET' }, deadline, MAX_OFFLINE_BYTES);
      if (resp.status === 404) {
        o.steps.push(step('offline', fail('no-offline')));
        return false;
      }
      if (resp.status !== 200) {
        o.steps.push(step('offline', fail('unreachable', `${resp.status}`)));
        return false;
      }
      doc = resp.body;
    } catch (e) {
      o.steps.push(step('offline', fail('unreachable', e.message)));
      return false;
    }
    const r = this.c.request;
    let v;
    try {
      v = await verifyOffline(doc, keys, {
        org: r.organizationId, url: r.organizationUrl, user: r.userId, now: this.now(), driftSeconds: this.c.driftSeconds,
        maxValiditySeconds: this.c.maxOfflineValiditySeconds, revoked: st.revokedKeys,
      });
    } catch (e) {
      o.steps.push(step('offline', e));
      return false;
    }
    Object.assign(o, { licensed: true, source: 'offline', status: 'Licensed', licenseType: v.licenseType, offline: v.license, expires: new Date(v.license.validUntil), message: `licensed by offline license ${v.license.serial}` });
    saw(st, Date.parse(v.license.issuedAt));
    return true;
  }

  async fromCache(o, st, keys) {
    if (!st.lease) {
      o.steps.push(step('cache', fail('no-cache')));
      return o;
    }
    keys ??= await this.anchors(st);
    try {
      const l = await this.verify(st.lease, st.signature, keys, st);
      Object.assign(o, { licensed: true, source: 'cache', status: l.status, licenseType: l.licenseType, lease: l, expires: new Date(l.expiresAt), message: `no licensing server can be reached; working on the stored lease until ${l.expiresAt}` });
    } catch (e) {
      if (e.reason === 'expired') {
        o.steps.push(step('cache', fail('cache-expired')));
        Object.assign(o, { source: 'cache', status: 'NotLicensed', message: 'the stored lease has expired and no licensing server can be reached' });
      } else {
        o.steps.push(step('cache', e));
      }
    }
    return o;
  }

  // anchors are the keys the device trusts now: the configured ones, else
  // the pinned ones, never a revoked one.
  async anchors(st) {
    const keys = this.c.keys ? new Map(this.c.keys) : await pinned(st);
    for (const id of st.revokedKeys) keys.delete(id);
    return keys;
  }

  // trustedKeys returns the anchors, fetching the signed key set when there
  // are none, and again when the last one is older than keyRefreshSeconds
  // (to learn of revocations; a failed refresh does not stop the check).
  async trustedKeys(st, deadline) {
    const keys = await this.anchors(st);
    if (keys.size > 0) {
      if (this.c.keyRefreshSeconds > 0 && this.now() - ms(st.keysFetched) >= this.c.keyRefreshSeconds * 1000) {
        try {
          return await this.refreshKeys(st, deadline);
        } catch { /* tried again at the next check */ }
      }
      return keys;
    }
    return this.refreshKeys(st, deadline);
  }

  // refreshKeys fetches the signed key set from the primary, then the
  // backup, and applies the first it may: signed by a key the device
  // trusts, its revocations join the device's for ever and (when the app
  // configured no keys) its keys join the pins; otherwise, over https
  // (the trust of a first fetch), its revocations only, and when that
  // leaves the device no trusted key, its keys are pinned as on a first
  // fetch.
  async refreshKeys(st, deadline) {
    const errs = [];
    for (const base of [this.c.primary, this.c.backup]) {
      if (!base) continue;
      const tls = base.startsWith('https://') || this.c.allowInsecureKeyFetch;
      const trusted = await this.anchors(st);
      if (trusted.size === 0 && !tls) {
        errs.push(`${base} is not https`);
        continue;
      }
      let ks;
      try {
        const resp = await this.get(`${base.replace(/\/+$/, '')}/v1/keys`, { method: 'GET' }, deadline, 1 << 20);
        if (resp.status !== 200) throw new Error(`fetching keys: ${resp.status}`);
        // Parsed and checked on its own signatures; trust is decided here.
        ks = await verifyKeySet(JSON.parse(new TextDecoder().decode(resp.body)).keySet, new Map(), st.revokedKeys);
      } catch (e) {
        errs.push(e.message);
        continue;
      }
      const anchored = ks.keys.some((k) => trusted.has(k.id) && trusted.get(k.id).raw.every((b, i) => b === k.key.raw[i]));
      if (!anchored && !tls) {
        errs.push(`the key set from ${base} is not signed by a trusted key`);
        continue;
      }
      st.pinnedKeys ??= {};
      for (const id of ks.revoked) {
        if (!st.revokedKeys.includes(id)) st.revokedKeys.push(id);
        delete st.pinnedKeys[id];
      }
      if (!this.c.keys && (anchored || (await this.anchors(st)).size === 0)) {
        for (const k of ks.keys) st.pinnedKeys[k.id] = encodeBase64(k.key.raw);
      }
      st.keysFetched = iso(this.now());
      const keys = await this.anchors(st);
      if (keys.size > 0) return keys;
      errs.push('every key the device trusted is revoked');
    }
    throw fail('no-trusted-keys', errs.join('; '));
  }
}

const ms = (t) => (t ? Date.parse(t) || 0 : 0);
const iso = (t) => new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');

// saw records a believed document's issue time.
function saw(st, iat) {
  if (iat > ms(st.latestTrusted)) st.latestTrusted = iso(iat);
  if (iat > ms(st.latestSeen)) st.latestSeen = iso(iat);
}

// readCapped reads an answer's body, refusing more than max bytes.
async function readCapped(resp, max) {
  const tooLarge = () => new Error(`the answer is larger than ${max} bytes`);
  if (!resp.body?.getReader) {
    const b = new Uint8Array(await resp.arrayBuffer());
    if (b.length > max) throw tooLarge();
    return b;
  }
  const reader = resp.body.getReader();
  const parts = [];
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.length;
    if (n > max) {
      reader.cancel().catch(() => {});
      throw tooLarge();
    }
    parts.push(value);
  }
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

// pinned reads the keys the store pinned, each checked against its ID.
async function pinned(st) {
  const keys = new Map();
  for (const [id, b64] of Object.entries(st.pinnedKeys ?? {})) {
    try {
      const raw = decodeBase64(b64);
      if (raw.length === 32 && (await keyId(raw)) === id) {
        const spki = new Uint8Array(44);
        spki.set([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);
        spki.set(raw, 12);
        keys.set(id, { id, raw, spki });
      }
    } catch { /* a damaged pin is no pin */ }
  }
  return keys;
}

function step(source, e) {
  return { source, code: e.code ?? e.reason ?? 'error', reason: e.message };
}
