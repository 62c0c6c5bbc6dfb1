// Signs a key set the way the server does (client.SignKeySet): compact
// JSON in the documented member order, every listed key signing it.
import { encodeBase64, parsePublicKeys } from '../src/index.mjs';

export async function signKeySet(signers, revoked) {
  const keys = [];
  for (const k of signers) {
    const [key] = (await parsePublicKeys(k.pem)).values();
    keys.push({ kid: key.id, alg: 'Ed25519', pub: encodeBase64(key.raw), state: keys.length === 0 ? 'active' : 'retired', created: '2026-01-01T00:00:00Z' });
  }
  const payload = new TextEncoder().encode(JSON.stringify({ v: 1, kind: 'keyset', iat: '2026-01-01T00:00:00Z', keys, revoked: revoked.map((kid) => ({ kid, revokedAt: '2026-01-01T00:00:00Z' })) }));
  const signatures = [];
  for (const k of signers) signatures.push({ kid: k.id, sig: encodeBase64(new Uint8Array(await crypto.subtle.sign('Ed25519', k.privateKey, payload))) });
  return { payload: encodeBase64(payload), signatures };
}
