package protocol

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"
)

// The members VerifyLease holds exact in case are the members the Lease
// type writes, in its order: a field added to one and not the other fails
// here before a device refuses honest leases.
func TestLeaseMembersAreTheType(t *testing.T) {
	b, err := json.Marshal(Lease{})
	if err != nil {
		t.Fatal(err)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	var names []string
	d.Token() // {
	for d.More() {
		k, _ := d.Token()
		names = append(names, k.(string))
		var v json.RawMessage
		d.Decode(&v)
	}
	if !slices.Equal(names, leaseMembers) {
		t.Errorf("Lease writes %v; VerifyLease checks %v", names, leaseMembers)
	}
}

func TestStatusLicensed(t *testing.T) {
	for _, s := range []Status{StatusLicensed, StatusTemporary} {
		if !s.Licensed() {
			t.Errorf("%s: not licensed", s)
		}
	}
	for _, s := range []Status{StatusNoLicenseAvailable, StatusNotAssigned, StatusUserDisabled, StatusSubscriptionExpired,
		StatusUnknownOrganization, StatusReadOnlyServer, "licensed", ""} {
		if s.Licensed() {
			t.Errorf("%q: licensed", s)
		}
	}
}

// A lease whose status no device may work on is malformed even when
// signed: the server never signs one.
func TestVerifyLeaseRefusesUnlicensedStatus(t *testing.T) {
	key := testKey
	l := Lease{Version: 1, Org: "4F767AFF-B33F-437C-A7CB-00249948C82B", User: "661BAC34-1128-40B1-9653-00B9F54158CD", Device: "d",
		LicenseType: "Standard", Status: StatusNotAssigned, IssuedAt: "2026-03-01T08:00:00Z", ExpiresAt: "2026-03-08T08:00:00Z",
		KeyID: KeyID(key.Public().(ed25519.PublicKey)), Role: RolePrimary, Server: "s"}
	now := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	for _, st := range []Status{StatusNotAssigned, StatusLicensed} {
		l.Status = st
		payload, _ := json.Marshal(l)
		_, err := VerifyLease(payload, ed25519.Sign(key, payload), testKeys(), LeaseCheck{Now: now})
		if st.Licensed() != (err == nil) || (err != nil && !errors.Is(err, ErrLeaseMalformed)) {
			t.Errorf("%s: %v", st, err)
		}
	}
}
