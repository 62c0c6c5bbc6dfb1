package io.github.licet;

/**
 * A refusal. {@link #reason()} is the code every licet verifier gives (Go's
 * client.Reason, the JavaScript library, the conformance vectors):
 * malformed, unknown-key, revoked-key, bad-signature, wrong-organization,
 * wrong-user, wrong-device, wrong-url, not-yet-valid, expired,
 * user-not-licensed.
 */
public final class VerifyException extends Exception {
    private static final long serialVersionUID = 1L;
    private final String reason;

    public VerifyException(String reason, String message) {
        super(message);
        this.reason = reason;
    }

    public String reason() { return reason; }
}
