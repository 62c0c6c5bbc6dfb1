package secrets_test

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
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

// The first form of the key file (32 raw bytes) and of sealed values
// ("v1:", single sign-on's) still open; the file is written again in the
// new form.
func TestFirstFormStillOpens(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secrets.key")
	raw := make([]byte, 32)
	for i := range raw {
		raw[i] = byte(i)
	}
	os.WriteFile(path, raw, 0o600)
	blk, _ := aes.NewCipher(raw)
	g, _ := cipher.NewGCM(blk)
	nonce := make([]byte, g.NonceSize())
	legacy := "v1:" + base64.RawStdEncoding.EncodeToString(g.Seal(nonce, nonce, []byte("client-secret"), nil))
	b, err := secrets.Open(path, true)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := b.At("anywhere").Open(legacy); err != nil || string(got) != "client-secret" {
		t.Errorf("a first-form value: %q %v", got, err)
	}
	again, err := secrets.Open(path, false)
	if err != nil || again.ActiveID() != b.ActiveID() {
		t.Errorf("the rewritten file: %v", err)
	}
	if data, _ := os.ReadFile(path); !strings.HasPrefix(string(data), "#") {
		t.Errorf("the file was not written again in the new form")
	}
}

// The key file is refused, as the data folder's other secrets are, when it
// is a symbolic link (another user could point it at a key they hold) or
// readable by others.
func TestOpenRefusesAKeyFileThatIsALinkOrOpenToOthers(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "elsewhere.key")
	if _, err := secrets.Open(real, true); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "secrets.key")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	for _, create := range []bool{false, true} {
		if _, err := secrets.Open(link, create); err == nil || !strings.Contains(err.Error(), "symbolic link") {
			t.Errorf("create=%v: a linked key file: %v; want it refused as a symbolic link", create, err)
		}
	}
	os.Chmod(real, 0o640)
	if _, err := secrets.Open(real, false); err == nil || !strings.Contains(err.Error(), "readable by group or others") {
		t.Errorf("a key file readable by group: %v", err)
	}
}
