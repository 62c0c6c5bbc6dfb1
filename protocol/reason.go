package protocol

import "errors"

// Errors every kind of signed document is refused with.
var (
	// ErrForged is wrapped by every refusal of a lease that makes it
	// untrustworthy (malformed, or for another organization, user or
	// device): a device does not believe the answer that carried it.
	ErrForged = errors.New("the answer's lease does not verify: not believed")
	// ErrUnknownKey: signed by a key the verifier does not trust.
	ErrUnknownKey = errors.New("offline license: signed by a key this app does not trust")
	// ErrBadSignature: the signature is not of these bytes.
	ErrBadSignature = errors.New("offline license: the signature does not match the content")
	// ErrRevokedKey: signed by a key a signed key set revoked.
	ErrRevokedKey = errors.New("signed by a revoked key: not trusted")
	// ErrFromFuture: issued later than the verifier's clock plus the drift.
	ErrFromFuture = errors.New("a signed document was issued later than the device clock allows: not believed")
	// ErrTooLong: valid (exp − iat) for longer than the verifier believes.
	ErrTooLong = errors.New("a signed document is valid for longer than this app allows: not believed")
)

// Reason names why a lease, an offline license or a key set was refused
// ("ok" for nil) with the code every licet verifier uses, in Go,
// JavaScript and Java alike: the conformance vectors in sdk/vectors are
// written in these codes.
func Reason(err error) string {
	for _, r := range reasons {
		if errors.Is(err, r.err) {
			return r.code
		}
	}
	if err == nil {
		return "ok"
	}
	return "malformed"
}

var reasons = []struct {
	err  error
	code string
}{
	{ErrKeySetUntrusted, "untrusted"},
	{ErrKeySetMalformed, "malformed"},
	{ErrRevokedKey, "revoked-key"},
	{ErrUnknownKey, "unknown-key"},
	{ErrBadSignature, "bad-signature"},
	{ErrLeaseWrongOrganization, "wrong-organization"},
	{ErrWrongOrganization, "wrong-organization"},
	{ErrLeaseWrongUser, "wrong-user"},
	{ErrLeaseWrongDevice, "wrong-device"},
	{ErrWrongURL, "wrong-url"},
	{ErrFromFuture, "issued-in-future"},
	{ErrTooLong, "too-long"},
	{ErrNotYetValid, "not-yet-valid"},
	{ErrLeaseExpired, "expired"},
	{ErrExpired, "expired"},
	{ErrUserNotLicensed, "user-not-licensed"},
	{ErrLeaseMalformed, "malformed"},
	{ErrMalformed, "malformed"},
}
