// Every conformance vector (sdk/vectors) through the library, and a few
// through the command line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parsePublicKeys, verifyLease, verifyOffline, verifyKeySet, decodeBase64, VerifyError, useSubtleCrypto, canonicalGUID, canonicalURL, parseSignedJSON } from '../src/index.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const vectors = join(here, '..', '..', 'vectors');
const read = (name) => JSON.parse(readFileSync(join(vectors, name), 'utf8'));
const keyFile = read('keys.json');
const cli = join(here, '..', 'bin', 'licet-verify.mjs');

async function trust(names) {
  return parsePublicKeys(names.map((n) => keyFile.keys[n].publicKeyPem).join(''));
}

async function outcome(fn) {
  try {
    return { valid: true, reason: 'ok', value: await fn() };
  } catch (e) {
    if (!(e instanceof VerifyError)) throw e;
    return { valid: false, reason: e.reason };
  }
}

const leases = read('leases.json').cases;
const offline = read('offline.json').cases;
const keysets = read('keysets.json').cases;
// The canonical forms and strict parsing, from the Go protocol package.
const protocol = JSON.parse(readFileSync(join(here, '..', '..', '..', 'protocol', 'testdata', 'vectors.json'), 'utf8'));

test('there are vectors', () => {
  assert.ok(leases.length >= 20 && offline.length >= 20);
});

for (const c of leases) {
  test(`lease: ${c.name}`, async () => {
    const got = await outcome(async () => verifyLease(c.lease, c.signature, await trust(c.trust), { ...c.check, now: new Date(c.check.now) }));
    assert.equal(got.reason, c.expect.reason, c.description);
    assert.equal(got.valid, c.expect.valid);
    if (c.expect.valid) {
      assert.equal(got.value.status, c.expect.status);
      assert.equal(got.value.licenseType, c.expect.licenseType);
      assert.equal(got.value.expiresAt, c.expect.expires);
    }
  });
}

for (const c of offline) {
  test(`offline: ${c.name}`, async () => {
    const got = await outcome(async () => verifyOffline(decodeBase64(c.file), await trust(c.trust), { ...c.check, now: new Date(c.check.now) }));
    assert.equal(got.reason, c.expect.reason, c.description);
    assert.equal(got.valid, c.expect.valid);
    if (c.expect.valid) {
      assert.equal(got.value.licenseType, c.expect.licenseType);
      assert.equal(got.value.license.validUntil, c.expect.expires);
    }
  });
}

for (const c of keysets) {
  test(`key set: ${c.name}`, async () => {
    const trusted = c.trust?.length ? await trust(c.trust) : new Map();
    const got = await outcome(async () => verifyKeySet(c.keySet, trusted, c.revoked ?? []));
    assert.equal(got.reason, c.expect.reason, c.description);
    assert.equal(got.valid, c.expect.valid);
    if (c.expect.valid) {
      assert.deepEqual(got.value.keys.map((k) => k.id), c.expect.keys);
      assert.deepEqual(got.value.revoked, c.expect.revoked ?? []);
    }
  });
}

test('protocol: canonical GUIDs', () => {
  for (const c of protocol.guid) assert.equal(canonicalGUID(c.in), c.canonical, JSON.stringify(c.in));
});

test('protocol: canonical URLs', () => {
  for (const c of protocol.url) assert.equal(canonicalURL(c.in), c.canonical, JSON.stringify(c.in));
});

test('protocol: strict JSON', () => {
  for (const c of protocol.strictJson) {
    const bytes = c.docBase64 ? decodeBase64(c.docBase64) : new TextEncoder().encode(c.doc);
    let ok = true;
    try {
      parseSignedJSON(bytes);
    } catch {
      ok = false;
    }
    assert.equal(ok, c.ok, c.why);
  }
});

test('the node:crypto fallback reaches the same outcomes as WebCrypto', async () => {
  useSubtleCrypto({ digest: (...a) => crypto.subtle.digest(...a), importKey: () => { throw new Error('no Ed25519 here'); } });
  try {
    for (const c of leases) {
      const got = await outcome(async () => verifyLease(c.lease, c.signature, await trust(c.trust), { ...c.check, now: new Date(c.check.now) }));
      assert.equal(got.reason, c.expect.reason, c.name);
    }
  } finally {
    useSubtleCrypto(null);
  }
});

test('command line: a vector of every reason, exit codes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'licet-js-'));
  const pem = (names) => {
    const p = join(dir, `${names.join('+')}.pem`);
    writeFileSync(p, names.map((n) => keyFile.keys[n].publicKeyPem).join(''));
    return p;
  };
  const run = (args) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  const oneEach = (cases) => cases.filter((c, i) => cases.findIndex((d) => d.expect.reason === c.expect.reason) === i);
  for (const c of oneEach(leases)) {
    const args = ['lease', '--key', pem(c.trust), '--lease', c.lease, '--signature', c.signature, '--at', c.check.now, '--drift', `${c.check.driftSeconds}s`];
    for (const k of ['org', 'user', 'device']) if (c.check[k]) args.push(`--${k}`, c.check[k]);
    if (c.check.revoked) args.push('--revoked', c.check.revoked.join(','));
    const r = run(args);
    assert.equal(r.status, c.expect.valid ? 0 : 1, `${c.name}: ${r.stderr}`);
    if (!c.expect.valid) assert.match(r.stderr, new RegExp(`^licet-verify: ${c.expect.reason}: `), c.name);
  }
  for (const c of oneEach(offline)) {
    const f = join(dir, `${c.name}.lic`);
    writeFileSync(f, decodeBase64(c.file));
    const r = run(['offline', f, '--key', pem(c.trust), '--org', c.check.org, '--url', c.check.url, '--user', c.check.user, '--at', c.check.now, '--drift', `${c.check.driftSeconds}s`,
      ...(c.check.revoked ? ['--revoked', c.check.revoked.join(',')] : [])]);
    assert.equal(r.status, c.expect.valid ? 0 : 1, `${c.name}: ${r.stderr}`);
    if (!c.expect.valid) assert.match(r.stderr, new RegExp(`^licet-verify: ${c.expect.reason}: `), c.name);
  }
  // A server with a longer --lease-duration: --max-lease raises the bound.
  const long = leases.find((c) => c.name === 'too-long');
  const args = ['lease', '--key', pem(long.trust), '--lease', long.lease, '--signature', long.signature, '--at', long.check.now];
  assert.equal(run(args).status, 1);
  assert.equal(run([...args, '--max-lease', '200h']).status, 0);
  // Mistakes on the command line: exit 2, one line.
  for (const args of [[], ['lease'], ['lease', '--key', pem(['current']), '--lease', 'x', '--signature', 'y', '--max-lease', 'a week'], ['lease', '--key', pem(['current'])], ['offline', '--key', pem(['current'])], ['lease', '--bogus', 'x'],
    ['lease', '--key', join(dir, 'missing.pem'), '--lease', 'x', '--signature', 'y']]) {
    const r = run(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  }
  assert.ok(execFileSync(process.execPath, [cli, 'lease', '--key', pem(['current']), '--lease', leases[0].lease, '--signature', leases[0].signature, '--at', leases[0].check.now], { encoding: 'utf8' }).startsWith('valid: Licensed Standard'));
});
