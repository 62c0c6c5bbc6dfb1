package keys

import (
	"crypto/ed25519"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/licet/licet/protocol"
)

// A folder without keys gets one only when asked; keys are files of mode
// 0600, and a reopened ring signs with the same active key.
func TestOpenCreatesOnlyWhenAsked(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(dir, false); err == nil || !strings.Contains(err.Error(), "no signing key") {
		t.Fatalf("an empty folder without create: %v", err)
	}
	r, err := Open(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	k := r.Active()
	fi, err := os.Stat(filepath.Join(dir, k.ID+".pem"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v; want mode 0600", fi, err)
	}
	if k.ID != ID(k.Private.Public().(ed25519.PublicKey)) || !validKID(k.ID) {
		t.Errorf("key ID %q is not derived from the public key", k.ID)
	}
	r2, err := Open(dir, false)
	if err != nil || r2.Active().ID != k.ID {
		t.Fatalf("reopened: %v, active %v", err, r2.Active())
	}
	msg := []byte("lease")
	if !r2.Verify(k.ID, msg, ed25519.Sign(k.Private, msg)) || r2.Verify(k.ID, []byte("other"), ed25519.Sign(k.Private, msg)) {
		t.Error("verification is not bound to the message")
	}
}

// Rotating keeps the old key verifying and published, the new one first
// and active; the key set is signed by every key it lists, so a device
// that pinned only the old key accepts it. Retiring drops a key from
// both, and survives a restart; the active key cannot be retired.
func TestRotateAndRetire(t *testing.T) {
	dir := t.TempDir()
	r, err := Open(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	old := r.Active()
	cur, err := r.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	if r.Active() != cur || !r.Verify(old.ID, []byte("x"), ed25519.Sign(old.Private, []byte("x"))) {
		t.Error("after a rotation the new key is not active or the old one no longer verifies")
	}
	pub := r.Public()
	if len(pub) != 2 || pub[0].ID != cur.ID || !pub[0].Active || pub[1].Active || !strings.HasPrefix(pub[1].PEM, "-----BEGIN PUBLIC KEY-----") {
		t.Errorf("published %+v", pub)
	}
	pinned := map[string]ed25519.PublicKey{old.ID: old.Private.Public().(ed25519.PublicKey)}
	ks, err := protocol.VerifyKeySet(r.KeySet(), pinned, nil)
	if err != nil || len(ks.Keys) != 2 {
		t.Fatalf("a device pinning the old key: %v, %+v", err, ks)
	}
	if err := r.Retire(cur.ID); err == nil || !strings.Contains(err.Error(), "rotate first") {
		t.Errorf("retiring the active key: %v", err)
	}
	if err := r.Retire(old.ID); err != nil {
		t.Fatal(err)
	}
	if err := r.Retire(old.ID); err == nil {
		t.Error("a key was retired twice")
	}
	check := func(r *Ring) {
		t.Helper()
		if r.Verify(old.ID, []byte("x"), ed25519.Sign(old.Private, []byte("x"))) || len(r.Public()) != 1 {
			t.Error("a retired key still verifies or is published")
		}
		if _, err := os.Stat(filepath.Join(dir, "retired", old.ID+".pem")); err != nil {
			t.Errorf("the retired key's file was not kept: %v", err)
		}
		ks, err := protocol.VerifyKeySet(r.KeySet(), map[string]ed25519.PublicKey{cur.ID: cur.Private.Public().(ed25519.PublicKey)}, nil)
		if err != nil || len(ks.Keys) != 1 || ks.Keys[0].KeyID != cur.ID || ks.Keys[0].State != protocol.KeyActive {
			t.Errorf("key set after retiring: %v %+v", err, ks)
		}
	}
	check(r)
	r2, err := Open(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	check(r2)
}

// A key file that is a symbolic link, or not a key, is not read.
func TestSymlinkedKeyRefused(t *testing.T) {
	src := t.TempDir()
	r, err := Open(src, true)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Symlink(filepath.Join(src, r.Active().ID+".pem"), filepath.Join(dir, r.Active().ID+".pem")); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, false); err == nil {
		t.Error("a symlinked key was loaded")
	}
	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, "k.pem"), []byte("not a key"), 0o600)
	if _, err := Open(bad, false); err == nil || !strings.Contains(err.Error(), "not a PEM private key") {
		t.Errorf("a file that is not a key: %v", err)
	}
}
