package io.github.licet;

import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;

/**
 * Verifies an Ed25519 signature over exact bytes. The default uses the
 * platform's "Ed25519" Signature (JDK 15+; on Android where the platform
 * provider has it, API 33+). Elsewhere plug in another implementation,
 * for example BouncyCastle's lightweight Ed25519Signer (README.md).
 */
public interface Ed25519Verifier {
    /** Reports whether signature is rawPublicKey's signature of message. spki is the same key as a SubjectPublicKeyInfo. */
    boolean verify(byte[] rawPublicKey, byte[] spki, byte[] message, byte[] signature) throws GeneralSecurityException;

    /** The platform's Ed25519 (java.security). */
    Ed25519Verifier PLATFORM = new Ed25519Verifier() {
        @Override
        public boolean verify(byte[] raw, byte[] spki, byte[] message, byte[] signature) throws GeneralSecurityException {
            if (signature.length != 64) return false;
            PublicKey pub = KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(spki));
            Signature v = Signature.getInstance("Ed25519");
            v.initVerify(pub);
            v.update(message);
            try {
                return v.verify(signature);
            } catch (java.security.SignatureException e) {
                return false;
            }
        }
    };
}
