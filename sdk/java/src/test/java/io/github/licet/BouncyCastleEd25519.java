package io.github.licet;

import org.bouncycastle.crypto.params.Ed25519PublicKeyParameters;
import org.bouncycastle.crypto.signers.Ed25519Signer;

/**
 * The fallback for platforms without a java.security Ed25519 (Android
 * before API 33, JDK before 15): BouncyCastle's lightweight API, over the
 * raw key and the exact bytes. README.md shows it; Tests runs every vector
 * through it. Install with Licet.useEd25519(new BouncyCastleEd25519()).
 */
final class BouncyCastleEd25519 implements Ed25519Verifier {
    @Override
    public boolean verify(byte[] raw, byte[] spki, byte[] message, byte[] signature) {
        if (signature.length != 64) return false;
        Ed25519Signer v = new Ed25519Signer();
        v.init(false, new Ed25519PublicKeyParameters(raw, 0));
        v.update(message, 0, message.length);
        return v.verifySignature(signature);
    }
}
