package protocol

import (
	"cmp"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Status is the answer to a license check. The names are part of the wire
// protocol: the check answer's "status", and a lease's.
type Status string

const (
	StatusLicensed            Status = "Licensed"
	StatusTemporary           Status = "Temporary"
	StatusNoLicenseAvailable  Status = "NoLicenseAvailable"
	StatusNotAssigned         Status = "NotAssigned"
	StatusUserDisabled        Status = "UserDisabled"
	StatusSubscriptionExpired Status = "SubscriptionExpired"
	StatusUnknownOrganization Status = "UnknownOrganization"
	StatusReadOnlyServer      Status = "ReadOnlyServer"
)

// Licensed reports whether a device may work on this status: the only two
// a lease may carry.
func (s Status) Licensed() bool { return s == StatusLicensed || s == StatusTemporary }

// Server roles named in a lease.
const (
	RolePrimary = "primary"
	RoleBackup  = "backup"
)

// Lease is the signed statement that a user of an organization holds a
// license until ExpiresAt. Its JSON encoding is the payload that is signed;
// the member names are part of the protocol (docs/PROTOCOL.md). The server
// signs one (internal/licensing encodes it without reflection, to the same
// bytes as json.Marshal); a device reads one with VerifyLease.
type Lease struct {
	Version     int    `json:"v"`
	Org         string `json:"org"`
	User        string `json:"user"`
	Device      string `json:"device"`
	LicenseType string `json:"type"`
	Status      Status `json:"status"`
	IssuedAt    string `json:"iat"` // TimeFormat
	ExpiresAt   string `json:"exp"`
	KeyID       string `json:"kid"`
	Role        string `json:"role"`   // RolePrimary or RoleBackup
	Server      string `json:"server"` // the server's public URL
}

// Errors a lease is refused with. The mismatches and a malformed payload
// are also ErrForged (errors.Is), the way a device's check walk reports
// them.
var (
	ErrLeaseMalformed         = fmt.Errorf("%w: the payload is not a licet lease", ErrForged)
	ErrLeaseWrongOrganization = fmt.Errorf("%w: the lease is for another organization", ErrForged)
	ErrLeaseWrongUser         = fmt.Errorf("%w: the lease is for another user", ErrForged)
	ErrLeaseWrongDevice       = fmt.Errorf("%w: the lease is for another device", ErrForged)
	ErrLeaseExpired           = errors.New("the lease has expired")
)

// LeaseCheck is what a lease is checked against. An empty Org, User or
// Device is not compared (inspection tools); a device passes all three.
// GUIDs compare in canonical form (SameGUID).
type LeaseCheck struct {
	Org, User, Device string
	Now               time.Time
	// Drift is how far the device clock may be off: a lease issued more
	// than Drift after Now is refused.
	Drift time.Duration
	// MaxLease is the longest lease (exp − iat) believed; zero is
	// DefaultLeaseLength.
	MaxLease time.Duration
	// Revoked are key IDs the device knows to be revoked (from a signed
	// key set): what they signed is refused.
	Revoked []string
}

// VerifyLease verifies a lease's exact payload bytes and signature with
// the trusted keys (key ID → key), then that it is for this organization,
// user and device, issued no later than Now+Drift, valid no longer than
// MaxLease, and not expired at Now. It never re-encodes the payload: the
// bytes signed are the bytes read.
func VerifyLease(payload, sig []byte, keys map[string]ed25519.PublicKey, c LeaseCheck) (*Lease, error) {
	var l Lease
	if err := UnmarshalStrict(payload, &l); err != nil || exactMembers(payload, leaseMembers...) != nil {
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
	if l.Version != 1 || err1 != nil || err2 != nil || !l.Status.Licensed() {
		return nil, ErrLeaseMalformed
	}
	switch {
	case c.Org != "" && !SameGUID(l.Org, c.Org):
		return nil, ErrLeaseWrongOrganization
	case c.User != "" && !SameGUID(l.User, c.User):
		return nil, ErrLeaseWrongUser
	case c.Device != "" && l.Device != strings.TrimSpace(c.Device):
		return nil, ErrLeaseWrongDevice
	case iat.After(c.Now.Add(c.Drift)):
		// It would raise the latest trusted time and refuse every honest
		// answer until then.
		return &l, fmt.Errorf("%w (issued %s)", ErrFromFuture, l.IssuedAt)
	case exp.Sub(iat) > cmp.Or(c.MaxLease, DefaultLeaseLength):
		return &l, fmt.Errorf("%w (a lease from %s to %s; the longest believed is %s)", ErrTooLong, l.IssuedAt, l.ExpiresAt, cmp.Or(c.MaxLease, DefaultLeaseLength))
	case !c.Now.Before(exp):
		return &l, ErrLeaseExpired
	}
	return &l, nil
}

var leaseMembers = []string{"v", "org", "user", "device", "type", "status", "iat", "exp", "kid", "role", "server"}
