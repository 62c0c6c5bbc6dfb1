package client

import (
	"cmp"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/licet/licet/protocol"
)

// Errors a lease is refused with. The mismatches and a malformed payload
// are also ErrForged (errors.Is), the way the check walk reports them.
var (
	ErrLeaseMalformed         = fmt.Errorf("%w: the payload is not a licet lease", ErrForged)
	ErrLeaseWrongOrganization = fmt.Errorf("%w: the lease is for another organization", ErrForged)
	ErrLeaseWrongUser         = fmt.Errorf("%w: the lease is for another user", ErrForged)
	ErrLeaseWrongDevice       = fmt.Errorf("%w: the lease is for another device", ErrForged)
	ErrLeaseExpired           = errors.New("the lease has expired")
)

// DecodeBase64 decodes the standard, padded base64 of leases, signatures
// and offline headers. Unlike encoding/base64 alone it refuses line breaks
// inside the text, as the JavaScript and Java verifiers do.
func DecodeBase64(s string) ([]byte, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, errors.New("base64 with a line break")
	}
	return base64.StdEncoding.DecodeString(s)
}

// timeLayout is how signed documents write times: UTC, whole seconds.
const timeLayout = "2006-01-02T15:04:05Z"

// parseTime reads exactly that form (time.Parse alone would also take
// fractions of a second, which the other verifiers refuse).
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(timeLayout, s)
	if err == nil && t.Format(timeLayout) != s {
		err = fmt.Errorf("time %q is not in the form %s", s, timeLayout)
	}
	return t, err
}

// LeaseCheck is what a lease is checked against. An empty Org, User or
// Device is not compared (inspection tools); a device passes all three.
// GUIDs compare in canonical form (protocol.SameGUID).
type LeaseCheck struct {
	Org, User, Device string
	Now               time.Time
	// Drift is how far the device clock may be off: a lease issued more
	// than Drift after Now is refused.
	Drift time.Duration
	// MaxLease is the longest lease (exp − iat) believed; zero is
	// protocol.DefaultLeaseLength.
	MaxLease time.Duration
	// Revoked are key IDs the device knows to be revoked (from a signed
	// key set): what they signed is refused.
	Revoked []string
}

// VerifyLease verifies a lease's exact payload bytes and signature with
// the trusted keys (key ID → key), then that it is for this organization,
// user and device, issued no later than Now+Drift, valid no longer than
// MaxLease, and not expired at Now.
func VerifyLease(payload, sig []byte, keys map[string]ed25519.PublicKey, c LeaseCheck) (*Lease, error) {
	var l Lease
	if err := protocol.UnmarshalStrict(payload, &l); err != nil || exactMembers(payload, leaseMembers...) != nil {
		return nil, ErrLeaseMalformed
	}
	if slices.Contains(c.Revoked, l.KeyID) {
		return nil, ErrRevokedKey
	}
	pub, ok := keys[l.KeyID]
	if !ok {
		return nil, ErrUnknownKey
	}
	if !ed25519.Verify(pub, payload, sig) {
		return nil, ErrBadSignature
	}
	iat, err1 := parseTime(l.IssuedAt)
	exp, err2 := parseTime(l.ExpiresAt)
	if l.Version != 1 || err1 != nil || err2 != nil || (l.Status != "Licensed" && l.Status != "Temporary") {
		return nil, ErrLeaseMalformed
	}
	switch {
	case c.Org != "" && !protocol.SameGUID(l.Org, c.Org):
		return nil, ErrLeaseWrongOrganization
	case c.User != "" && !protocol.SameGUID(l.User, c.User):
		return nil, ErrLeaseWrongUser
	case c.Device != "" && l.Device != strings.TrimSpace(c.Device):
		return nil, ErrLeaseWrongDevice
	case iat.After(c.Now.Add(c.Drift)):
		// It would raise the latest trusted time and refuse every honest
		// answer until then.
		return &l, fmt.Errorf("%w (issued %s)", ErrFromFuture, l.IssuedAt)
	case exp.Sub(iat) > cmp.Or(c.MaxLease, protocol.DefaultLeaseLength):
		return &l, fmt.Errorf("%w (a lease from %s to %s; the longest believed is %s)", ErrTooLong, l.IssuedAt, l.ExpiresAt, cmp.Or(c.MaxLease, protocol.DefaultLeaseLength))
	case !c.Now.Before(exp):
		return &l, ErrLeaseExpired
	}
	return &l, nil
}

// Reason names why a lease or an offline license was refused ("ok" for
// nil) with the code every licet verifier uses, in Go, JavaScript and Java
// alike: the conformance vectors in sdk/vectors are written in these codes.
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

// exactMembers refuses an object member whose name matches a known one only
// when case is ignored: Go's decoder would read "ORG" as "org", JavaScript
// and Java would not, and a signed document must mean one thing to every
// verifier. Unknown names are left to the caller's rules.
func exactMembers(raw []byte, known ...string) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return err
	}
	for k := range m {
		for _, want := range known {
			if k != want && strings.EqualFold(k, want) {
				return fmt.Errorf("member %q is not %q", k, want)
			}
		}
	}
	return nil
}

var (
	leaseMembers   = []string{"v", "org", "user", "device", "type", "status", "iat", "exp", "kid", "role", "server"}
	offlineMembers = []string{"v", "kind", "serial", "org", "url", "iat", "nbf", "exp", "kid", "users"}
)
