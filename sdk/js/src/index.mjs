// @licet/client: verify licet leases and offline licenses, and run a
// device's whole license check (docs/CLIENT.md), with WebCrypto Ed25519
// and no dependencies. The conformance vectors in sdk/vectors hold it to
// the same outcomes as the Go client and the Java library.

import { parseStrict, JSONNumber, foldKey } from './json.mjs';

export { parseStrict };

/** The first line of every offline license file starts with this. */
export const OFFLINE_MAGIC = 'licet-offline-v1';

const SPKI_ED25519_PREFIX = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];
const MESSAGES = {
  malformed: 'not a licet document',
  'unknown-key': 'signed by a key this app does not trust',
  'revoked-key': 'signed by a revoked key',
  'bad-signature': 'the signature does not match the content',
  'wrong-organization': 'issued for another organization',
  'wrong-user': 'issued for another user',
  'wrong-device': 'issued for another device',
  'wrong-url': 'issued for another organization URL',
  'not-yet-valid': 'not valid yet',
  'issued-in-future': 'issued later than the device clock allows: not believed',
  'too-long': 'valid for longer than this app allows: not believed',
  untrusted: 'key set: not signed by any key this device trusts',
  expired: 'expired',
  'user-not-licensed': 'this user is not in it',
};

/**
 * A refusal. `reason` is the code every licet verifier uses (Go's
 * client.Reason, the Java library, the conformance vectors).
 */
export class VerifyError extends Error {
  constructor(reason, message) {
    super(message ?? MESSAGES[reason] ?? reason);
    this.name = 'VerifyError';
    this.reason = reason;
  }
}

const refuse = (reason, detail) => { throw new VerifyError(reason, detail); };

// ---- bytes -----------------------------------------------------------------

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Decodes standard, padded base64; anything else (line breaks, missing padding, URL alphabet) throws. */
export function decodeBase64(s) {
  if (typeof s !== 'string' || !B64_RE.test(s)) throw new VerifyError('malformed', 'not standard padded base64');
  const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((s.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < s.length; i += 4) {
    const n = (B64.indexOf(s[i]) << 18) | (B64.indexOf(s[i + 1]) << 12) | ((B64.indexOf(s[i + 2]) & 63) << 6) | (B64.indexOf(s[i + 3]) & 63);
    if (o < out.length) out[o++] = n >>> 16;
    if (o < out.length) out[o++] = (n >>> 8) & 255;
    if (o < out.length) out[o++] = n & 255;
  }
  return out;
}

export function encodeBase64(b) {
  let s = '';
  for (let i = 0; i < b.length; i += 3) {
    const n = (b[i] << 16) | ((b[i + 1] ?? 0) << 8) | (b[i + 2] ?? 0);
    s += B64[n >>> 18] + B64[(n >>> 12) & 63] + (i + 1 < b.length ? B64[(n >>> 6) & 63] : '=') + (i + 2 < b.length ? B64[n & 63] : '=');
  }
  return s;
}

const utf8 = new TextEncoder();
const fromUTF8 = (b) => new TextDecoder().decode(b);
const strictUTF8 = (b) => new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(b);
const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

function toBytes(x) {
  if (typeof x === 'string') return utf8.encode(x);
  if (x instanceof Uint8Array) return x;
  if (x instanceof ArrayBuffer) return new Uint8Array(x);
  if (ArrayBuffer.isView(x)) return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  throw new TypeError('expected bytes (Uint8Array, ArrayBuffer) or a string');
}

// ---- crypto ----------------------------------------------------------------

// WebCrypto Ed25519 is in Node 20+ (crypto.subtle with {name: 'Ed25519'}),
// Chrome 137+, Firefox 129+ and Safari 17+. Where crypto.subtle lacks it
// (older Node builds), Node's own node:crypto verifies instead; elsewhere
// install a WebCrypto polyfill that has Ed25519 (docs/CLIENT.md).
let subtleOverride = null;
/** Uses another WebCrypto SubtleCrypto (a polyfill, e.g. in React Native). */
export function useSubtleCrypto(subtle) { subtleOverride = subtle; }

/** The SubtleCrypto in use: the one given to useSubtleCrypto, else the platform's. */
export const subtleCrypto = () => subtleOverride ?? globalThis.crypto?.subtle;

let nodeCrypto;
async function nodeFallback() {
  if (nodeCrypto === undefined) {
    nodeCrypto = null;
    if (globalThis.process?.versions?.node) nodeCrypto = await import('node:crypto');
  }
  return nodeCrypto;
}

async function sha256(bytes) {
  const subtle = subtleOverride ?? globalThis.crypto?.subtle;
  if (subtle) return new Uint8Array(await subtle.digest('SHA-256', bytes));
  const nc = await nodeFallback();
  if (!nc) throw new Error('no WebCrypto: install a polyfill (docs/CLIENT.md)');
  return new Uint8Array(nc.createHash('sha256').update(bytes).digest());
}

async function ed25519Verify(key, sig, data) {
  if (sig.length !== 64) return false;
  if (!key.webKey && !key.nodeKey) {
    const subtle = subtleOverride ?? globalThis.crypto?.subtle;
    try {
      if (!subtle || key.forceNode) throw new Error('no subtle');
      key.webKey = await subtle.importKey('spki', key.spki, { name: 'Ed25519' }, false, ['verify']);
    } catch (e) {
      const nc = await nodeFallback();
      if (!nc) throw new Error(`this platform's WebCrypto cannot verify Ed25519 (${e.message}): install a polyfill (docs/CLIENT.md)`);
      key.nodeKey = nc.createPublicKey({ key: Buffer.from(key.spki), format: 'der', type: 'spki' });
    }
  }
  if (key.webKey) return (subtleOverride ?? globalThis.crypto.subtle).verify({ name: 'Ed25519' }, key.webKey, sig, data);
  return nodeCrypto.verify(null, data, key.nodeKey, sig);
}

/** A key's ID as licet names it: hex of the first 8 bytes of the SHA-256 of the raw 32-byte key. */
export async function keyId(raw) {
  return hex((await sha256(raw)).slice(0, 8));
}

async function keyFromRaw(raw) {
  const spki = new Uint8Array(44);
  spki.set(SPKI_ED25519_PREFIX);
  spki.set(raw, 12);
  return { id: await keyId(raw), raw: Uint8Array.from(raw), spki };
}

/**
 * Reads every PEM "PUBLIC KEY" (Ed25519) in text into a Map of key ID →
 * trusted key. This is how an app pins the vendor's key: ship the PEM of
 * `licet keys public` in the app.
 */
export async function parsePublicKeys(pem) {
  const keys = new Map();
  const re = /-----BEGIN ([A-Z ]+)-----([\s\S]*?)-----END \1-----/g;
  for (let m; (m = re.exec(pem));) {
    if (m[1] !== 'PUBLIC KEY') continue;
    let der;
    try {
      der = decodeBase64(m[2].replace(/\s+/g, ''));
    } catch {
      throw new Error('a PEM block is not base64');
    }
    if (der.length !== 44 || SPKI_ED25519_PREFIX.some((b, i) => der[i] !== b)) throw new Error('not an Ed25519 public key');
    const k = await keyFromRaw(der.slice(12));
    keys.set(k.id, k);
  }
  if (keys.size === 0) throw new Error('no PEM PUBLIC KEY found');
  return keys;
}

// ---- shared checks -----------------------------------------------------------

const TIME_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/;

/** Parses a signed document's time: UTC, YYYY-MM-DDTHH:MM:SSZ exactly; anything else is malformed. */
export function parseTime(s) {
  const m = typeof s === 'string' && TIME_RE.exec(s);
  if (!m) refuse('malformed', `time ${JSON.stringify(s)} is not YYYY-MM-DDTHH:MM:SSZ`);
  const [y, mo, d, h, mi, se] = m.slice(1).map(Number);
  const t = new Date(0);
  t.setUTCFullYear(y, mo - 1, d);
  t.setUTCHours(h, mi, se, 0);
  if (t.getUTCFullYear() !== y || t.getUTCMonth() !== mo - 1 || t.getUTCDate() !== d || t.getUTCHours() !== h || t.getUTCMinutes() !== mi || t.getUTCSeconds() !== se) {
    refuse('malformed', `time ${s} does not exist`);
  }
  return t.getTime();
}

const nowMs = (now) => (now instanceof Date ? now.getTime() : typeof now === 'number' ? now : Date.now());
const driftMs = (c) => (c.driftSeconds ?? 300) * 1000;

/** The longest lease a device believes unless configured (protocol.DefaultLeaseLength). */
export const DEFAULT_MAX_LEASE_SECONDS = 7 * 24 * 3600;
/** The longest offline license validity a device believes (protocol.MaxOfflineValidity). */
export const MAX_OFFLINE_VALIDITY_SECONDS = 366 * 24 * 3600;

// trimSpace trims what Go's strings.TrimSpace trims (Unicode white space,
// not the byte order mark that String.prototype.trim also takes).
const SPACE = '[\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]';
const TRIM = new RegExp(`^${SPACE}+|${SPACE}+$`, 'g');
const trimSpace = (s) => String(s ?? '').replace(TRIM, '');

/**
 * A GUID's canonical form (docs/PROTOCOL.md, "Canonical forms"): any
 * case, with or without hyphens, optionally in braces, surrounding white
 * space ignored → upper case, hyphenated 8-4-4-4-12. null when not a GUID.
 */
export function canonicalGUID(s) {
  let t = trimSpace(s);
  if (t.length >= 2 && t[0] === '{' && t[t.length - 1] === '}') t = t.slice(1, -1);
  let hex;
  if (/^[0-9A-Fa-f]{32}$/.test(t)) hex = t;
  else if (/^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$/.test(t)) hex = t.replace(/-/g, '');
  else return null;
  hex = hex.toUpperCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Whether two strings are the same GUID in canonical form (false when either is none). */
export function sameGUID(a, b) {
  const ca = canonicalGUID(a);
  return ca !== null && ca === canonicalGUID(b);
}

/**
 * An organization URL's canonical form (docs/PROTOCOL.md): http or https
 * only; scheme and host in lower case, an internationalized host in
 * punycode, no trailing dot, no default port, no user information, query,
 * fragment or trailing slash; the path keeps its case and escaping. null
 * when the string is not such a URL. A non-ASCII host goes through the
 * platform's WHATWG URL parser (UTS 46) to punycode; every host then meets
 * the same DNS rules as Go's (letters, digits and hyphens, labels of 1 to
 * 63, at most 253 in all).
 */
export function canonicalURL(s) {
  const t = trimSpace(s);
  const m = /^(https?):\/\/([^/?#\\]*)([^?#\\]*)(?:[?#].*)?$/is.exec(t);
  if (!m || /[\x00-\x1f\x7f]/.test(t)) return null;
  const scheme = m[1].toLowerCase();
  const authority = m[2].replace(/^.*@/s, '');
  const hp = /^(\[[^\]]*\]|[^:]*)(?::([0-9]*))?$/.exec(authority);
  if (!hp || hp[1] === '') return null;
  let host = hp[1];
  let port = hp[2] ?? '';
  if (host.startsWith('[')) {
    try {
      host = new URL(`http://${host}/`).hostname;
    } catch {
      return null;
    }
    // An IPv4-mapped address keeps its IPv4 part dotted, as Go writes it.
    const v4 = /^\[::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})\]$/.exec(host);
    if (v4) {
      const [a, b] = [parseInt(v4[1], 16), parseInt(v4[2], 16)];
      host = `[::ffff:${a >> 8}.${a & 255}.${b >> 8}.${b & 255}]`;
    }
  } else {
    host = host.replace(/\.$/, '');
    if (host === '' || host.includes('%')) return null;
    if (/^[\x00-\x7f]*$/.test(host)) {
      // ASCII: lower case only, as IDNA's lookup mapping does (the WHATWG
      // parser would also rewrite numeric hosts such as 0x7f.1).
      host = host.toLowerCase();
    } else {
      try {
        host = new URL(`http://${host}/`).hostname;
      } catch {
        return null;
      }
    }
    if (host.length > 253 || host.split('.').some((l) => !/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(l))) return null;
  }
  const path = escapePath(m[3]);
  if (path === null) return null;
  if (port !== '') {
    port = port.replace(/^0+/, '');
    if (port === '' || port.length > 5 || Number(port) > 65535) return null;
  }
  if ((scheme === 'https' && port === '443') || (scheme === 'http' && port === '80')) port = '';
  return `${scheme}://${host}${port ? `:${port}` : ''}${path.replace(/\/+$/, '')}`;
}

// escapePath writes a URL path as Go's URL.EscapedPath does: kept as it is
// when it is a valid encoding, else decoded and escaped again (everything
// but letters, digits and -._~$&+,/:;=@). null for a broken % escape.
function escapePath(raw) {
  if (/%(?![0-9A-Fa-f]{2})/.test(raw)) return null;
  if (/^[A-Za-z0-9\-._~$&+,/:;=@!'()*[\]%]*$/.test(raw)) return raw;
  const bytes = [];
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === '%') {
      bytes.push(parseInt(raw.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      const cp = raw.codePointAt(i);
      if (cp > 0xffff) i++;
      bytes.push(...utf8.encode(String.fromCodePoint(cp)));
    }
  }
  return bytes.map((b) => (/[A-Za-z0-9\-._~$&+,/:;=@]/.test(String.fromCharCode(b)) && b < 128 ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`)).join('');
}

/** Whether two strings are the same URL in canonical form (false when either is none). */
export function sameURL(a, b) {
  const ca = canonicalURL(a);
  return ca !== null && ca === canonicalURL(b);
}

/**
 * An organization URL made comparable: its canonical form, or for a string
 * that is no http(s) URL the string trimmed and lower-cased (which never
 * equals a canonical form).
 */
export function normalizeURL(s) {
  return canonicalURL(s) ?? String(s ?? '').trim().toLowerCase().replace(/\/+$/, '');
}

/** Where an app looks for its organization's offline license unless told otherwise. */
export const offlineLocation = (orgURL) => `${normalizeURL(orgURL)}/licet-offline.lic`;

/** Reads a signed payload's bytes as every verifier must: strict UTF-8 (a byte order mark included, so refused) and strict JSON. Throws VerifyError('malformed'). */
export function parseSignedJSON(bytes) {
  return parseSigned(toBytes(bytes));
}

function parseSigned(bytes) {
  try {
    return parseStrict(strictUTF8(bytes));
  } catch (e) {
    refuse('malformed', `the payload is not strict JSON: ${e.message}`);
  }
}

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof JSONNumber);

// fields reads the members a schema names, typed; unknown members are
// refused when strict (offline licenses), ignored otherwise (leases).
function fields(obj, schema, strict) {
  if (!isObject(obj)) refuse('malformed', 'the payload is not a JSON object');
  const out = {};
  const known = Object.keys(schema);
  for (const k of Object.keys(obj)) {
    const type = schema[k];
    if (!type) {
      // A member named as a known one but for case: Go's decoder would
      // read it as that one; no verifier may.
      if (strict || known.some((n) => foldKey(n) === foldKey(k))) refuse('malformed', `unknown member ${JSON.stringify(k)}`);
      continue;
    }
    const v = obj[k];
    if (type === 'string') {
      if (typeof v !== 'string') refuse('malformed', `${k} is not a string`);
      out[k] = v;
    } else if (type === 'int') {
      if (!(v instanceof JSONNumber) || !/^-?[0-9]+$/.test(v.raw)) refuse('malformed', `${k} is not an integer`);
      const big = BigInt(v.raw);
      if (big < -(2n ** 63n) || big >= 2n ** 63n) refuse('malformed', `${k} is out of range`);
      out[k] = Number(big);
    } else if (type === 'list') {
      if (!Array.isArray(v)) refuse('malformed', `${k} is not a list`);
      out[k] = v;
    } else if (type === 'users') {
      if (!isObject(v)) refuse('malformed', 'users is not an object');
      out[k] = {};
      for (const [t, ids] of Object.entries(v)) {
        if (!Array.isArray(ids) || ids.some((x) => typeof x !== 'string')) refuse('malformed', `users.${t} is not a list of IDs`);
        out[k][t] = ids;
      }
    }
  }
  return out;
}

// ---- leases ------------------------------------------------------------------

const LEASE = { v: 'int', org: 'string', user: 'string', device: 'string', type: 'string', status: 'string', iat: 'string', exp: 'string', kid: 'string', role: 'string', server: 'string' };

/**
 * Verifies a lease as the check answered it (base64 payload and signature,
 * or their bytes): the exact payload bytes with a trusted key, then that it
 * is for this organization, user and device (an empty or absent one is not
 * compared: inspection tools; a device passes all three), issued no later
 * than now + drift and not expired. Returns the lease; throws VerifyError.
 */
export async function verifyLease(lease, signature, keys, check = {}) {
  const payload = typeof lease === 'string' ? decodeBase64(lease) : toBytes(lease);
  const sig = typeof signature === 'string' ? decodeBase64(signature) : toBytes(signature);
  const raw = parseSigned(payload);
  const l = { v: 0, org: '', user: '', device: '', type: '', status: '', iat: '', exp: '', kid: '', role: '', server: '', ...fields(raw, LEASE, false) };
  if (check.revoked?.includes(l.kid)) refuse('revoked-key');
  const key = keys.get(l.kid);
  if (!key) refuse('unknown-key');
  if (!(await ed25519Verify(key, sig, payload))) refuse('bad-signature');
  if (l.v !== 1) refuse('malformed', `lease version ${l.v}`);
  const iat = parseTime(l.iat);
  const exp = parseTime(l.exp);
  if (l.status !== 'Licensed' && l.status !== 'Temporary') refuse('malformed', `lease status ${l.status}`);
  if (check.org && !sameGUID(l.org, check.org)) refuse('wrong-organization');
  if (check.user && !sameGUID(l.user, check.user)) refuse('wrong-user');
  if (check.device && l.device !== String(check.device).trim()) refuse('wrong-device');
  const now = nowMs(check.now);
  if (iat > now + driftMs(check)) refuse('issued-in-future', `issued ${l.iat}, later than the device clock allows: not believed`);
  if (exp - iat > (check.maxLeaseSeconds ?? DEFAULT_MAX_LEASE_SECONDS) * 1000) refuse('too-long', `a lease from ${l.iat} to ${l.exp}: longer than this app allows`);
  if (now >= exp) refuse('expired', `expired on ${l.exp}`);
  return { version: l.v, org: l.org, user: l.user, device: l.device, licenseType: l.type, status: l.status, issuedAt: l.iat, expiresAt: l.exp, keyId: l.kid, role: l.role, server: l.server, payload, signature: sig };
}

// ---- offline licenses ----------------------------------------------------------

const OFFLINE = { v: 'int', kind: 'string', serial: 'int', org: 'string', url: 'string', iat: 'string', nbf: 'string', exp: 'string', kid: 'string', users: 'users' };

/**
 * Verifies an offline license file (its exact bytes) for one user: the
 * header, a trusted key, the signature over every byte after the first line
 * feed, then organization, URL, validity window (with the drift) and the
 * user, in that order. Returns {license, licenseType}; throws VerifyError.
 */
export async function verifyOffline(file, keys, check) {
  const doc = toBytes(file);
  const nl = doc.indexOf(0x0a);
  if (nl < 0) refuse('malformed', 'no line feed after the header');
  const f = fromUTF8(doc.subarray(0, nl)).split(' ');
  if (f.length !== 3 || f[0] !== OFFLINE_MAGIC || f[1].length === 0 || utf8.encode(f[1]).length > 64) refuse('malformed', 'the first line is not "licet-offline-v1 KID SIGNATURE"');
  const sig = decodeBase64(f[2]);
  if (sig.length !== 64) refuse('malformed', 'the signature is not 64 bytes');
  const payload = doc.subarray(nl + 1);
  if (check.revoked?.includes(f[1])) refuse('revoked-key');
  const key = keys.get(f[1]);
  if (!key) refuse('unknown-key');
  if (!(await ed25519Verify(key, sig, payload))) refuse('bad-signature');
  const l = { v: 0, kind: '', serial: 0, org: '', url: '', iat: '', nbf: '', exp: '', kid: '', users: {}, ...fields(parseSigned(payload), OFFLINE, true) };
  if (l.v !== 1 || l.kind !== 'offline' || l.kid !== f[1]) refuse('malformed', 'not a version 1 offline license of this key');
  if (!sameGUID(l.org, check.org)) refuse('wrong-organization');
  if (!sameURL(l.url, check.url)) refuse('wrong-url');
  const nbf = parseTime(l.nbf);
  const exp = parseTime(l.exp);
  const iat = parseTime(l.iat);
  if (exp - iat > (check.maxValiditySeconds ?? MAX_OFFLINE_VALIDITY_SECONDS) * 1000) refuse('too-long', `issued ${l.iat}, valid until ${l.exp}: longer than this app allows`);
  const now = nowMs(check.now);
  if (now < nbf - driftMs(check)) refuse('not-yet-valid');
  if (now >= exp + driftMs(check)) refuse('expired', `expired on ${l.exp}`);
  if (iat > now + driftMs(check)) refuse('issued-in-future', `issued ${l.iat}, later than the device clock allows: not believed`);
  const user = canonicalGUID(check.user);
  for (const [type, ids] of Object.entries(l.users)) {
    if (user !== null && ids.some((id) => canonicalGUID(id) === user)) {
      return { license: { version: l.v, kind: l.kind, serial: l.serial, org: l.org, url: l.url, issuedAt: l.iat, validFrom: l.nbf, validUntil: l.exp, keyId: l.kid, users: l.users }, licenseType: type };
    }
  }
  refuse('user-not-licensed');
}

// ---- signed key sets ------------------------------------------------------------

const KEYSET = { v: 'int', kind: 'string', iat: 'string', keys: 'list', revoked: 'list' };
const KEYSET_KEY = { kid: 'string', alg: 'string', pub: 'string', state: 'string', created: 'string' };
const KEYSET_REVOKED = { kid: 'string', revokedAt: 'string' };
const RFC3339 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Verifies the signed key set of GET /v1/keys (docs/PROTOCOL.md, "The
 * signed key set"): its shape, every listed key's signature of the exact
 * payload bytes, no listed key the device knows to be revoked, and that
 * one listed key is one the device trusts (trusted minus revoked), with
 * the same bytes. With no usable trusted key (a first fetch, which the
 * caller allows over https only) the set stands on its own signatures.
 * Returns {keys: [{id, state, key}], revoked: [ids]}; throws VerifyError
 * with reason 'malformed' or 'untrusted'.
 */
export async function verifyKeySet(envelope, trusted = new Map(), revoked = []) {
  if (!envelope || typeof envelope !== 'object' || typeof envelope.payload !== 'string') refuse('malformed', 'no key set');
  const payload = decodeBase64(envelope.payload);
  if (payload.length === 0 || payload.length > 1 << 20) refuse('malformed', 'key set: empty or over 1 MiB');
  const ks = fields(parseSigned(payload), KEYSET, true);
  const m = RFC3339.exec(ks.iat ?? '');
  if (ks.v !== 1 || ks.kind !== 'keyset' || !Array.isArray(ks.keys) || ks.keys.length === 0 || !m) refuse('malformed', 'not a version 1 key set');
  parseTime(`${m[1]}Z`);
  const keys = ks.keys.map((k) => fields(k, KEYSET_KEY, true));
  const gone = (ks.revoked ?? []).map((r) => fields(r, KEYSET_REVOKED, true).kid ?? '');
  const sigs = new Map();
  for (const x of Array.isArray(envelope.signatures) ? envelope.signatures : []) {
    const sig = decodeBase64(x?.sig);
    if (sig.length !== 64) refuse('malformed', 'key set: a signature is not 64 bytes');
    sigs.set(String(x.kid ?? ''), sig);
  }
  const out = [];
  for (const k of keys) {
    const raw = decodeBase64(k.pub ?? '');
    if (raw.length !== 32 || (await keyId(raw)) !== k.kid || k.alg !== 'Ed25519' || (k.state !== 'active' && k.state !== 'retired') || gone.includes(k.kid)) {
      refuse('malformed', `key set: key ${k.kid} is not a valid entry`);
    }
    const key = await keyFromRaw(raw);
    const sig = sigs.get(k.kid);
    if (!sig || !(await ed25519Verify(key, sig, payload))) refuse('malformed', `key set: key ${k.kid} did not sign it`);
    out.push({ id: k.kid, state: k.state, key });
  }
  for (const k of out) if (revoked.includes(k.id)) refuse('untrusted', `key set: it lists key ${k.id}, which was revoked`);
  const usable = [...trusted.keys()].filter((id) => !revoked.includes(id));
  const anchored = out.some((k) => usable.includes(k.id) && equalBytes(trusted.get(k.id).raw, k.key.raw));
  if (usable.length > 0 && !anchored) refuse('untrusted');
  return { keys: out, revoked: gone, anchored };
}

const equalBytes = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

export { Client, memoryStore, encryptedStore } from './client.mjs';
