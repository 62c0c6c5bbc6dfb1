// Against the real thing: `licet serve` started here, a lease from its
// check and an offline license it issued, verified by this library and its
// command line, and the whole check order with the primary up and down.
// LICET_BIN names the licet binary; without it the test builds one with Go.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, parsePublicKeys, verifyLease, verifyOffline, memoryStore, encryptedStore, encodeBase64 } from '../src/index.mjs';
import { fileBackend } from '../src/node.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..', '..');
const cli = join(here, '..', 'bin', 'licet-verify.mjs');
const dir = mkdtempSync(join(tmpdir(), 'licet-js-live-'));
const ORG = '4F767AFF-B33F-437C-A7CB-00249948C82B';
const USER = '661BAC34-1128-40B1-9653-00B9F54158CD';
const DEVICE = 'js-device-1';

let bin, server, serverURL, backend, backendURL, offlineFile = null, pem, keys;

function licet(...args) {
  return execFileSync(bin, args, { encoding: 'utf8', env: { ...process.env, LICET_SERVER: serverURL, LICET_TOKEN_FILE: join(dir, 'data', 'operator-token') } });
}

before(async () => {
  bin = process.env.LICET_BIN;
  if (!bin) {
    bin = join(dir, 'licet');
    execFileSync('go', ['build', '-o', bin, './cmd/licet'], { cwd: root, stdio: 'inherit' });
  }
  assert.ok(existsSync(bin), `${bin} is required (bash .ci/run builds it)`);
  // The organization's backend: serves the offline license once issued.
  backend = createServer((req, res) => {
    if (req.url === '/crm/licet-offline.lic' && offlineFile) {
      res.writeHead(200).end(offlineFile);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise((r) => backend.listen(0, '127.0.0.1', r));
  backendURL = `http://127.0.0.1:${backend.address().port}/crm`;

  server = spawn(bin, ['serve', '--listen', '127.0.0.1:0', '--data', join(dir, 'data')], { stdio: ['ignore', 'ignore', 'pipe'] });
  serverURL = await new Promise((res, rej) => {
    let logs = '';
    server.stderr.on('data', (b) => {
      logs += b;
      const m = /"msg":"licet serving","addr":"([^"]+)"/.exec(logs);
      if (m) res(`http://${m[1]}`);
    });
    server.on('exit', (code) => rej(new Error(`licet serve exited ${code}: ${logs}`)));
  });
  licet('org', 'create', '--id', ORG, '--name', 'testcrm', '--url', backendURL);
  licet('pool', 'add', '--org', ORG, '--type', 'Standard', '--seats', '5');
  licet('org', 'set', '--org', ORG, '--auto-assign=true', '--offline=true');
  // Assigned by hand before its first check: offline licenses name only those.
  licet('user', 'assign', '--org', ORG, '--user', USER);
  pem = licet('keys', 'public');
  writeFileSync(join(dir, 'public.pem'), pem);
  keys = await parsePublicKeys(pem);
  request = makeRequest();
});

after(() => {
  server?.kill();
  backend?.close();
});

let request;
const makeRequest = () => ({ organizationId: ORG, userId: USER, deviceId: DEVICE, organizationUrl: backendURL, version: '6.1.0.0', edition: 'Standard' });

test('a lease from the live server verifies, in the library and on the command line', async () => {
  const resp = await fetch(`${serverURL}/v1/license/check`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(request) });
  const a = await resp.json();
  assert.equal(a.status, 'Licensed');
  const l = await verifyLease(a.lease, a.signature, keys, { org: ORG, user: USER, device: DEVICE });
  assert.equal(l.licenseType, 'Standard');
  assert.equal(l.keyId, a.keyId);
  const ok = spawnSync(process.execPath, [cli, 'lease', '--key', join(dir, 'public.pem'), '--lease', a.lease, '--signature', a.signature, '--org', ORG.toLowerCase(), '--user', USER, '--device', DEVICE], { encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stderr);
  const other = spawnSync(process.execPath, [cli, 'lease', '--key', join(dir, 'public.pem'), '--lease', a.lease, '--signature', a.signature, '--device', 'another'], { encoding: 'utf8' });
  assert.equal(other.status, 1);
  assert.match(other.stderr, /wrong-device/);
});

test('after keys rotate and keys revoke, the device learns the revocation from the signed key set', async () => {
  const first = await new Client({ primary: serverURL, keys, request, store: memoryStore() }).check();
  const [oldKid] = keys.keys();
  licet('keys', 'rotate');
  const both = await parsePublicKeys(licet('keys', 'public'));
  assert.equal(both.size, 2);
  licet('keys', 'revoke', oldKid);
  const store = memoryStore();
  const o = await new Client({ primary: serverURL, keys: both, request, store, allowInsecureKeyFetch: true }).check();
  assert.equal(o.source, 'primary', JSON.stringify(o.steps));
  assert.notEqual(o.lease.keyId, oldKid);
  assert.deepEqual((await store.load()).revokedKeys, [oldKid]);
  // The old key's lease is refused for ever on this device, by the library and the command line.
  await assert.rejects(verifyLease(first.lease.payload, first.lease.signature, both, { org: ORG, user: USER, device: DEVICE, revoked: [oldKid] }), { reason: 'revoked-key' });
  const r = spawnSync(process.execPath, [cli, 'lease', '--key', join(dir, 'public.pem'), '--lease', encodeBase64(first.lease.payload), '--signature', encodeBase64(first.lease.signature), '--revoked', oldKid], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /revoked-key/);
  // The app ships the keys the server has now.
  keys = await parsePublicKeys(licet('keys', 'public'));
  writeFileSync(join(dir, 'public.pem'), licet('keys', 'public'));
});

test("the encrypted store is the Go client's, both ways: licet check writes it, this library reads it, and back", async () => {
  const key = new Uint8Array(32).fill(0x11);
  writeFileSync(join(dir, 'store.key'), Buffer.from(key).toString('hex'));
  const f = join(dir, 'shared.store');
  const goCheck = (server) => spawnSync(bin, ['check', '--org', ORG, '--user', USER, '--device', DEVICE, '--url', backendURL, '--server', server,
    '--key', join(dir, 'public.pem'), '--store', f, '--store-key-file', join(dir, 'store.key')], { encoding: 'utf8' });
  let r = goCheck(serverURL);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  // Nothing reachable: the lease Go stored keeps the user working here.
  const o = await new Client({ primary: 'http://127.0.0.1:1', keys, request, store: encryptedStore(fileBackend(f), key) }).check();
  assert.equal(o.source, 'cache', JSON.stringify(o.steps));
  assert.equal(o.licensed, true);
  // And what this library saved, Go reads.
  r = goCheck('http://127.0.0.1:1');
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /cache/);
});

test('the whole check order: primary, key fetch and pinning, offline, cache', async () => {
  // With pinned keys, against the primary.
  const store = encryptedStore(fileBackend(join(dir, 'device.store')), crypto.getRandomValues(new Uint8Array(32)));
  let o = await new Client({ primary: serverURL, keys, request, store }).check();
  assert.equal(o.licensed, true, JSON.stringify(o.steps));
  assert.equal(o.source, 'primary');
  assert.equal(o.licenseType, 'Standard');
  assert.ok(o.expires > new Date());

  // No configured keys: fetched once (plain http only because allowed here), pinned in the store.
  const pinStore = memoryStore();
  o = await new Client({ primary: serverURL, request, store: pinStore, allowInsecureKeyFetch: true }).check();
  assert.equal(o.source, 'primary', JSON.stringify(o.steps));
  assert.deepEqual(Object.keys((await pinStore.load()).pinnedKeys), [...keys.keys()]);
  // …and never over plain http unless allowed.
  o = await new Client({ primary: serverURL, request, store: memoryStore() }).check();
  assert.equal(o.licensed, false);
  assert.equal(o.steps[0].code, 'no-trusted-keys');

  // An offline license, issued by the server for a user assigned by hand.
  licet('offline', 'issue', '--org', ORG, '--out', join(dir, 'offline.lic'));
  offlineFile = readFileSync(join(dir, 'offline.lic'));
  const v = await verifyOffline(offlineFile, keys, { org: ORG, url: backendURL, user: USER });
  assert.equal(v.licenseType, 'Standard');
  const r = spawnSync(process.execPath, [cli, 'offline', join(dir, 'offline.lic'), '--key', join(dir, 'public.pem'), '--org', ORG, '--url', `${backendURL}/`, '--user', USER], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const stranger = spawnSync(process.execPath, [cli, 'offline', join(dir, 'offline.lic'), '--key', join(dir, 'public.pem'), '--org', ORG, '--url', backendURL, '--user', '00000000-0000-0000-0000-000000000009'], { encoding: 'utf8' });
  assert.equal(stranger.status, 1);
  assert.match(stranger.stderr, /user-not-licensed/);

  // The primary goes away: the offline license on the backend decides.
  server.kill();
  await new Promise((r2) => server.once('exit', r2));
  o = await new Client({ primary: serverURL, keys, request, store }).check();
  assert.equal(o.source, 'offline', JSON.stringify(o.steps));
  assert.equal(o.licensed, true);
  assert.equal(o.steps[0].source, 'primary');
  assert.equal(o.steps[0].code, 'unreachable');

  // No offline license either: the stored lease (encrypted on disk) keeps the user working.
  offlineFile = null;
  o = await new Client({ primary: serverURL, keys, request, store }).check();
  assert.equal(o.source, 'cache', JSON.stringify(o.steps));
  assert.equal(o.licensed, true);
  assert.deepEqual(o.steps.map((s) => s.code), ['unreachable', 'no-offline']);

  // Under another key the store does not open: treated as empty, said so.
  const wrongKey = encryptedStore(fileBackend(join(dir, 'device.store')), new Uint8Array(32));
  o = await new Client({ primary: serverURL, keys, request, store: wrongKey }).check();
  assert.equal(o.licensed, false);
  assert.deepEqual(o.steps.map((s) => s.code), ['store-corrupt', 'unreachable', 'no-offline', 'no-cache']);
});
