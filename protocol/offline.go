package protocol

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// OfflineMagic starts every offline license file.
const OfflineMagic = "licet-offline-v1"

// Errors an offline license is refused with. Each says one thing.
var (
	ErrMalformed         = errors.New("offline license: not a licet offline license file")
	ErrWrongOrganization = errors.New("offline license: issued for another organization")
	ErrWrongURL          = errors.New("offline license: issued for another organization URL")
	ErrNotYetValid       = errors.New("offline license: not valid yet")
	ErrExpired           = errors.New("offline license: expired")
	ErrUserNotLicensed   = errors.New("offline license: this user is not in it")
)

// OfflineLicense is a verified offline license's content.
type OfflineLicense struct {
	Version    int                 `json:"v"`
	Kind       string              `json:"kind"`
	Serial     int64               `json:"serial"`
	Org        string              `json:"org"`
	URL        string              `json:"url"`
	IssuedAt   string              `json:"iat"`
	ValidFrom  string              `json:"nbf"`
	ValidUntil string              `json:"exp"`
	KeyID      string              `json:"kid"`
	Users      map[string][]string `json:"users"` // license type → user IDs, sorted
}

// LicenseType returns the type the license gives user, and whether it
// names the user at all. IDs compare in canonical form
// (CanonicalGUID): any case, with or without hyphens or braces.
func (l *OfflineLicense) LicenseType(user string) (string, bool) {
	user, ok := CanonicalGUID(user)
	if !ok {
		return "", false
	}
	for typ, ids := range l.Users {
		for _, id := range ids {
			if c, ok := CanonicalGUID(id); ok && c == user {
				return typ, true
			}
		}
	}
	return "", false
}

// SplitOffline separates a file into its key ID, signature and the payload
// bytes the signature covers: everything after the first line feed.
func SplitOffline(doc []byte) (kid string, sig, payload []byte, err error) {
	line, payload, ok := bytes.Cut(doc, []byte("\n"))
	if !ok {
		return "", nil, nil, ErrMalformed
	}
	// Exactly as documented: three fields, single spaces, one line feed.
	// Every verifier (sdk/js, sdk/java) reads the line the same way.
	f := strings.Split(string(line), " ")
	if len(f) != 3 || f[0] != OfflineMagic || len(f[1]) == 0 || len(f[1]) > 64 {
		return "", nil, nil, ErrMalformed
	}
	sig, err = DecodeBase64(f[2])
	if err != nil || len(sig) != ed25519.SignatureSize {
		return "", nil, nil, ErrMalformed
	}
	return f[1], sig, payload, nil
}

// ParseOffline verifies the signature of an offline license file with the
// trusted keys (key ID → public key) and decodes its content. It does not
// look at organization, URL, user or time: VerifyOffline does.
func ParseOffline(doc []byte, keys map[string]ed25519.PublicKey) (*OfflineLicense, error) {
	return parseOffline(doc, keys, nil)
}

func parseOffline(doc []byte, keys map[string]ed25519.PublicKey, revoked []string) (*OfflineLicense, error) {
	kid, sig, payload, err := SplitOffline(doc)
	if err != nil {
		return nil, err
	}
	if slices.Contains(revoked, kid) {
		return nil, fmt.Errorf("the offline license is %w", ErrRevokedKey)
	}
	pub, ok := keys[kid]
	if !ok {
		return nil, ErrUnknownKey
	}
	if !ed25519.Verify(pub, payload, sig) {
		return nil, ErrBadSignature
	}
	if err := CheckStrictJSON(payload); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if err := exactMembers(payload, offlineMembers...); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	var l OfflineLicense
	d := json.NewDecoder(bytes.NewReader(payload))
	d.DisallowUnknownFields()
	if err := d.Decode(&l); err != nil || d.More() {
		return nil, ErrMalformed
	}
	if l.Version != 1 || l.Kind != "offline" || l.KeyID != kid {
		return nil, ErrMalformed
	}
	return &l, nil
}

// OfflineCheck is what a device checks an offline license against.
type OfflineCheck struct {
	Org, URL, User string
	Now            time.Time
	// Drift is how far the device clock may be off: the license is
	// accepted from ValidFrom-Drift to ValidUntil+Drift, and refused when
	// issued after Now+Drift.
	Drift time.Duration
	// Revoked are key IDs the device knows to be revoked: a license one
	// of them signed is refused.
	Revoked []string
	// MaxValidity is the longest validity (exp − iat) believed; zero is
	// MaxOfflineValidity.
	MaxValidity time.Duration
}

// VerifyOffline verifies a file for one user: signature and key, then
// organization, URL, validity window and the user, in that order.
func VerifyOffline(doc []byte, keys map[string]ed25519.PublicKey, c OfflineCheck) (*OfflineLicense, string, error) {
	l, err := parseOffline(doc, keys, c.Revoked)
	if err != nil {
		return nil, "", err
	}
	if !SameGUID(l.Org, c.Org) {
		return l, "", ErrWrongOrganization
	}
	if !SameURL(l.URL, c.URL) {
		return l, "", ErrWrongURL
	}
	from, err1 := parseTime(l.ValidFrom)
	until, err2 := parseTime(l.ValidUntil)
	iat, err3 := parseTime(l.IssuedAt)
	if err1 != nil || err2 != nil || err3 != nil {
		return l, "", ErrMalformed
	}
	maxValidity := c.MaxValidity
	if maxValidity <= 0 {
		maxValidity = MaxOfflineValidity
	}
	if until.Sub(iat) > maxValidity {
		return l, "", fmt.Errorf("offline license: %w (issued %s, valid until %s; the longest believed is %s)", ErrTooLong, l.IssuedAt, l.ValidUntil, maxValidity)
	}
	if c.Now.Before(from.Add(-c.Drift)) {
		return l, "", ErrNotYetValid
	}
	if !c.Now.Before(until.Add(c.Drift)) {
		return l, "", fmt.Errorf("%w on %s", ErrExpired, until.UTC().Format(time.RFC3339))
	}
	if iat.After(c.Now.Add(c.Drift)) {
		return l, "", fmt.Errorf("offline license: %w (issued %s)", ErrFromFuture, l.IssuedAt)
	}
	typ, ok := l.LicenseType(c.User)
	if !ok {
		return l, "", ErrUserNotLicensed
	}
	return l, typ, nil
}

var offlineMembers = []string{"v", "kind", "serial", "org", "url", "iat", "nbf", "exp", "kid", "users"}
