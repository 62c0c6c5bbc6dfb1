// The check order against servers that lie: a real HTTP server (node:http)
// answering what an attacker would, and a vendor key made here.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { Client, parsePublicKeys, memoryStore, encodeBase64 } from '../src/index.mjs';

const ORG = '4F767AFF-B33F-437C-A7CB-00249948C82B';
const USER = '661BAC34-1128-40B1-9653-00B9F54158CD';
const request = { organizationId: ORG, userId: USER, deviceId: 'dev-1', organizationUrl: 'https://crm.example.net' };
let vendor, stranger, keys, srv, base, answer;

async function keyPair() {
  const k = await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify']);
  const spki = new Uint8Array(await crypto.subtle.exportKey('spki', k.publicKey));
  const pem = `-----BEGIN PUBLIC KEY-----\n${encodeBase64(spki)}\n-----END PUBLIC KEY-----\n`;
  const [id] = (await parsePublicKeys(pem)).keys();
  return { ...k, pem, id };
}

const ts = (d) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

async function signed(k, over = {}) {
  const now = Date.now();
  const l = { v: 1, org: ORG, user: USER, device: 'dev-1', type: 'Standard', status: 'Licensed', iat: ts(new Date(now)), exp: ts(new Date(now + 7 * 864e5)), kid: k.id, role: 'primary', server: base, ...over };
  const payload = new TextEncoder().encode(JSON.stringify(l));
  const sig = new Uint8Array(await crypto.subtle.sign('Ed25519', k.privateKey, payload));
  return { status: l.status, licensed: true, licenseType: l.type, message: 'ok', lease: encodeBase64(payload), signature: encodeBase64(sig), keyId: k.id };
}

before(async () => {
  vendor = await keyPair();
  stranger = await keyPair();
  keys = await parsePublicKeys(vendor.pem);
  srv = createServer((req, res) => {
    const a = answer(req);
    res.writeHead(a.status ?? 200, { 'Content-Type': 'application/json', ...(a.headers ?? {}) }).end(a.body === undefined ? '' : JSON.stringify(a.body));
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${srv.address().port}`;
});
after(() => srv.close());

const client = (extra = {}) => new Client({ primary: base, keys, request, store: memoryStore(), offlineURL: `${base}/offline.lic`, stepTimeoutMs: 2000, ...extra });

test('a lease the vendor signed is believed', async () => {
  const good = await signed(vendor);
  answer = (req) => (req.url === '/v1/license/check' ? { body: good } : { status: 404 });
  const o = await client().check();
  assert.equal(o.source, 'primary');
  assert.equal(o.licensed, true);
});

test('a "yes" signed by a stranger, for another device, or with a status the lease does not say, is not believed', async () => {
  for (const a of [await signed(stranger), await signed(vendor, { device: 'other' }), { ...(await signed(vendor)), licenseType: 'Inspections' }]) {
    answer = (req) => (req.url === '/v1/license/check' ? { body: a } : { status: 404 });
    const o = await client().check();
    assert.equal(o.licensed, false);
    assert.deepEqual(o.steps.map((s) => s.code), ['forged', 'no-offline', 'no-cache']);
  }
});

test('429, 5xx and redirects count as unreachable; a redirect is never followed', async () => {
  let followed = false;
  for (const a of [{ status: 429 }, { status: 503 }, { status: 307, headers: { Location: '/elsewhere' } }]) {
    answer = (req) => {
      if (req.url === '/elsewhere') followed = true;
      return req.url === '/v1/license/check' ? a : { status: 404 };
    };
    const o = await client().check();
    assert.equal(o.steps[0].code, 'unreachable', JSON.stringify(o.steps));
  }
  assert.equal(followed, false);
});

test('a live "no" ends the walk', async () => {
  answer = () => ({ body: { status: 'UserDisabled', licensed: false, message: 'disabled' } });
  const o = await client().check();
  assert.equal(o.source, 'primary');
  assert.equal(o.status, 'UserDisabled');
  assert.equal(o.licensed, false);
});

test('a replayed older lease is not believed once a newer one was seen', async () => {
  const store = memoryStore();
  const fresh = await signed(vendor);
  answer = () => ({ body: fresh });
  assert.equal((await client({ store }).check()).licensed, true);
  const old = await signed(vendor, { iat: ts(new Date(Date.now() - 3600e3)), exp: ts(new Date(Date.now() + 864e5)) });
  answer = (req) => (req.url === '/v1/license/check' ? { body: old } : { status: 404 });
  const o = await client({ store }).check();
  assert.equal(o.steps[0].code, 'replayed');
  assert.equal(o.source, 'cache'); // the fresh lease it kept still holds
});

test('an offline license larger than 8 MiB is not read', async () => {
  answer = (req) => (req.url === '/v1/license/check' ? { status: 503 } : { body: 'x'.repeat(9 << 20) });
  const o = await client().check();
  assert.equal(o.steps[1].source, 'offline');
  assert.equal(o.steps[1].code, 'unreachable');
  assert.match(o.steps[1].reason, /larger than/);
});

test('the deadline bounds a server that never answers', async () => {
  answer = () => new Promise(() => {});
  const hang = createServer(() => {});
  await new Promise((r) => hang.listen(0, '127.0.0.1', r));
  try {
    const t0 = Date.now();
    const o = await client({ primary: `http://127.0.0.1:${hang.address().port}`, offlineURL: `http://127.0.0.1:${hang.address().port}/x`, stepTimeoutMs: 300, deadlineMs: 500 }).check();
    assert.ok(Date.now() - t0 < 5000);
    assert.deepEqual(o.steps.map((s) => s.code), ['unreachable', 'unreachable', 'no-cache']);
  } finally {
    hang.closeAllConnections();
    hang.close();
  }
});

test('a lease signed by a key the server revoked is refused once the device fetched the key set', async () => {
  // The server's key set: the vendor key active, the stranger's revoked.
  const { signKeySet } = await import('./keyset-helper.mjs');
  const env = await signKeySet([vendor], [stranger.id]);
  const bad = await signed(stranger);
  answer = (req) => (req.url === '/v1/keys' ? { body: { keySet: env } } : req.url === '/v1/license/check' ? { body: bad } : { status: 404 });
  const store = memoryStore();
  // Trusting both at first (the app pinned both): the refresh teaches the revocation.
  const both = await parsePublicKeys(vendor.pem + stranger.pem);
  const o = await client({ keys: both, store }).check();
  assert.equal(o.licensed, false);
  assert.equal(o.steps[0].code, 'revoked-key', JSON.stringify(o.steps));
  assert.deepEqual((await store.load()).revokedKeys, [stranger.id]);
  // For ever: even a later check that fetches nothing refuses it.
  const again = await client({ keys: both, store, keyRefreshSeconds: -1 }).check();
  assert.equal(again.steps[0].code, 'revoked-key');
});

test('no configured keys: the key set is fetched over http only when allowed, pinned, and refused when nobody trusted signed it later', async () => {
  const { signKeySet } = await import('./keyset-helper.mjs');
  let env = await signKeySet([vendor], []);
  const good = await signed(vendor);
  answer = (req) => (req.url === '/v1/keys' ? { body: { keySet: env } } : req.url === '/v1/license/check' ? { body: good } : { status: 404 });
  const store = memoryStore();
  let o = await client({ keys: undefined, store }).check();
  assert.equal(o.steps[0].code, 'no-trusted-keys');
  o = await client({ keys: undefined, store, allowInsecureKeyFetch: true }).check();
  assert.equal(o.source, 'primary', JSON.stringify(o.steps));
  assert.deepEqual(Object.keys((await store.load()).pinnedKeys), [vendor.id]);
  // A key set signed only by a stranger does not replace the pins over http.
  env = await signKeySet([stranger], []);
  o = await client({ keys: undefined, store, keyRefreshSeconds: 1, now: () => new Date(Date.now() + 5000) }).check();
  assert.deepEqual(Object.keys((await store.load()).pinnedKeys), [vendor.id]);
  assert.equal(o.source, 'primary');
});
