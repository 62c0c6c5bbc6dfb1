#!/usr/bin/env node
// licet-verify: verify a lease or an offline license from the command line.
//   licet-verify lease --key PUB.pem --lease B64 --signature B64 [--org G --user G --device D]
//   licet-verify offline FILE --key PUB.pem --org G --url URL --user G
// Both take [--at TIME] (RFC 3339; default now), [--drift 5m] and
// [--revoked KID,KID] (key IDs known to be revoked); lease also
// [--max-lease 168h] (the longest lease believed: the server's --lease-duration).
// Exit 0: valid and matching. 1: refused (the reason on stderr). 2: a
// mistake on the command line.
import { readFile } from 'node:fs/promises';
import { parsePublicKeys, verifyLease, verifyOffline } from '../src/index.mjs';

class Usage extends Error {}

const FLAGS = {
  lease: ['key', 'lease', 'signature', 'org', 'user', 'device', 'at', 'drift', 'revoked', 'max-lease'],
  offline: ['key', 'org', 'url', 'user', 'at', 'drift', 'revoked'],
};
const REQUIRED = { lease: ['key', 'lease', 'signature'], offline: ['key', 'org', 'url', 'user'] };

function parseArgs(cmd, args) {
  const opts = {};
  const rest = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith('-')) { rest.push(a); continue; }
    let [name, value] = a.replace(/^--?/, '').split(/=(.*)/s);
    if (!FLAGS[cmd].includes(name)) throw new Usage(`unknown flag ${a}`);
    if (value === undefined) {
      if (i + 1 >= args.length) throw new Usage(`${a} needs a value`);
      value = args[++i];
    }
    opts[name] = value;
  }
  for (const r of REQUIRED[cmd]) if (!opts[r]) throw new Usage(`--${r} is required`);
  return { opts, rest };
}

function duration(s, flag = 'drift', def = '5m') {
  const m = /^((?:\d+(?:\.\d+)?(?:h|m|s|ms))+)$/.exec(s ?? def);
  if (!m) throw new Usage(`--${flag} ${JSON.stringify(s)} is not a duration like 5m or 30s`);
  let ms = 0;
  for (const [, n, u] of m[1].matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s)/g)) ms += Number(n) * { h: 3600e3, m: 60e3, s: 1e3, ms: 1 }[u];
  return ms / 1000;
}

function at(s) {
  if (s === undefined) return new Date();
  const t = Date.parse(s);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(s) || Number.isNaN(t)) throw new Usage(`--at ${JSON.stringify(s)} is not an RFC 3339 time`);
  return new Date(t);
}

async function main(argv) {
  const [cmd, ...args] = argv;
  if (!FLAGS[cmd]) throw new Usage('usage: licet-verify lease|offline … (see the README)');
  const { opts, rest } = parseArgs(cmd, args);
  const check = { now: at(opts.at), driftSeconds: duration(opts.drift), revoked: (opts.revoked ?? '').split(',').filter(Boolean) };
  let keys;
  try {
    keys = await parsePublicKeys(await readFile(opts.key, 'utf8'));
  } catch (e) {
    throw new Usage(`--key ${opts.key}: ${e.message}`);
  }
  if (cmd === 'lease') {
    if (rest.length) throw new Usage(`unexpected argument ${rest[0]}`);
    const maxLeaseSeconds = duration(opts['max-lease'], 'max-lease', '168h');
    const l = await verifyLease(opts.lease, opts.signature, keys, { ...check, maxLeaseSeconds, org: opts.org, user: opts.user, device: opts.device });
    return `valid: ${l.status} ${l.licenseType} for user ${l.user} of ${l.org} on device ${l.device}, until ${l.expiresAt} (key ${l.keyId})`;
  }
  if (rest.length !== 1) throw new Usage('give one offline license FILE');
  let file;
  try {
    file = await readFile(rest[0]);
  } catch (e) {
    throw new Usage(`${rest[0]}: ${e.message}`);
  }
  const v = await verifyOffline(file, keys, { ...check, org: opts.org, url: opts.url, user: opts.user });
  return `valid: offline license ${v.license.serial} gives ${opts.user} a ${v.licenseType} license until ${v.license.validUntil}`;
}

try {
  process.stdout.write(`${await main(process.argv.slice(2))}\n`);
} catch (e) {
  if (e instanceof Usage) {
    process.stderr.write(`licet-verify: ${e.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`licet-verify: ${e.reason ?? 'error'}: ${e.message}\n`);
  process.exit(1);
}
