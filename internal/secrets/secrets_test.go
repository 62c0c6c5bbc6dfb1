package secrets_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/licet/licet/internal/secrets"
)

func TestSealedValuesOpenOnlyWhereTheyWereSealed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secrets.key")
	b, err := secrets.Open(path, true)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v", fi.Mode().Perm())
	}
	v, err := b.Seal([]byte("basic crm:s3cret"), "org A")
	if err != nil || strings.Contains(v, "s3cret") {
		t.Fatalf("seal: %q %v", v, err)
	}
	if got, err := b.Open(v, "org A"); err != nil || string(got) != "basic crm:s3cret" {
		t.Errorf("open: %q %v", got, err)
	}
	if _, err := b.Open(v, "org B"); err == nil {
		t.Error("a value moved to another place opened")
	}
	tampered := v[:len(v)-4] + "AAA="
	if _, err := b.Open(tampered, "org A"); err == nil {
		t.Error("a tampered value opened")
	}
	// Another installation's key opens nothing, and says which key is missing.
	other, _ := secrets.Open(filepath.Join(t.TempDir(), "secrets.key"), true)
	if _, err := other.Open(v, "org A"); err == nil || !strings.Contains(err.Error(), b.ActiveID()) {
		t.Errorf("another key: %v", err)
	}
	// Without the file (a read-only server not given it): a clear error.
	none, err := secrets.Open(filepath.Join(t.TempDir(), "secrets.key"), false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := none.Open(v, "org A"); err == nil || !strings.Contains(err.Error(), "copy secrets.key") {
		t.Errorf("no key file: %v", err)
	}
	// Rotation keeps old values open until Retain.
	old := b.ActiveID()
	if err := b.Rotate(); err != nil || b.ActiveID() == old || !b.Has(old) {
		t.Fatalf("rotate: %v", err)
	}
	if _, err := b.Open(v, "org A"); err != nil {
		t.Errorf("an old value after rotation: %v", err)
	}
	b.Retain()
	reread, err := secrets.Open(path, false)
	if err != nil || reread.Has(old) || reread.ActiveID() != b.ActiveID() {
		t.Errorf("after Retain the file holds: %v %v", reread, err)
	}
	// A key file others can read is refused.
	os.Chmod(path, 0o644)
	if _, err := secrets.Open(path, false); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a readable key file: %v", err)
	}
}
