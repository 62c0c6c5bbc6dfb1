package keys

import (
	"crypto/ed25519"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/licet/licet/protocol"
)

func TestRevocation(t *testing.T) {
	dir := t.TempDir()
	r, err := Open(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	first := r.Active()
	second, _ := r.Rotate()
	third, _ := r.Rotate()
	if err := r.Retire(second.ID); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)
	for kid, want := range map[string]string{third.ID: "rotate first", "0000000000000000": "no key", "../../etc": "no key"} {
		if err := r.Revoke(kid, now); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("revoke %q: %v", kid, err)
		}
	}
	if err := r.Revoke(first.ID, now); err != nil {
		t.Fatal(err)
	}
	if err := r.Revoke(second.ID, now); err != nil { // a retired key can be revoked too
		t.Fatal(err)
	}
	check := func(r *Ring) {
		t.Helper()
		if r.Verify(first.ID, []byte("x"), ed25519.Sign(first.Private, []byte("x"))) {
			t.Error("a revoked key still verifies")
		}
		ks, err := protocol.VerifyKeySet(r.KeySet(), map[string]ed25519.PublicKey{third.ID: third.Private.Public().(ed25519.PublicKey)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := ks.RevokedIDs(); !slices.Equal(got, []string{first.ID, second.ID}) || len(ks.Keys) != 1 || ks.Keys[0].KeyID != third.ID {
			t.Errorf("key set: revoked %v, keys %+v", got, ks.Keys)
		}
	}
	check(r)
	r2, err := Open(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	check(r2)

	// A revoked key never signs again, even if the active file names it.
	os.WriteFile(filepath.Join(dir, "active"), []byte(first.ID+"\n"), 0o600)
	os.Rename(filepath.Join(dir, "revoked", first.ID+".pem"), filepath.Join(dir, first.ID+".pem"))
	if _, err := Open(dir, false); err == nil || !strings.Contains(err.Error(), "revoked") {
		t.Errorf("opening with a revoked active key: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "active"), []byte(third.ID+"\n"), 0o600)
	os.WriteFile(filepath.Join(dir, revokedFile), []byte("garbage\n"), 0o600)
	if _, err := Open(dir, false); err == nil {
		t.Error("a malformed revoked.txt was accepted")
	}
}
