// Verifies the "valid" lease vector N times and prints the time per
// verification (docs/BENCHMARKS.md): node bench/verify.mjs [N]
import { readFileSync } from 'node:fs';
import { parsePublicKeys, verifyLease } from '../src/index.mjs';

const dir = new URL('../../vectors/', import.meta.url);
const keyFile = JSON.parse(readFileSync(new URL('keys.json', dir)));
const c = JSON.parse(readFileSync(new URL('leases.json', dir))).cases[0];
const keys = await parsePublicKeys(c.trust.map((n) => keyFile.keys[n].publicKeyPem).join(''));
const check = { ...c.check, now: new Date(c.check.now) };
const n = Number(process.argv[2] ?? 2000);
for (let i = 0; i < 200; i++) await verifyLease(c.lease, c.signature, keys, check); // warm up
const t0 = process.hrtime.bigint();
for (let i = 0; i < n; i++) await verifyLease(c.lease, c.signature, keys, check);
const ns = Number(process.hrtime.bigint() - t0) / n;
console.log(`verifyLease: ${n} verifications, ${(ns / 1000).toFixed(1)} µs each (node ${process.version})`);
