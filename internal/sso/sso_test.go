package sso

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/licet/licet/internal/secrets"
)

func TestClaimHas(t *testing.T) {
	for _, tc := range []struct {
		claim string
		want  string
		ok    bool
	}{
		{`"LicenseAdmin"`, "LicenseAdmin", true},
		{`"LicenseAdmins"`, "LicenseAdmin", false},
		{`["Sales","LicenseAdmin"]`, "LicenseAdmin", true},
		{`["Sales","licenseadmin"]`, "LicenseAdmin", false}, // exact, as the provider spells it
		{`[["LicenseAdmin"]]`, "LicenseAdmin", false},
		{`{"LicenseAdmin":true}`, "LicenseAdmin", false},
		{`true`, "true", true},
		{`null`, "LicenseAdmin", false},
		{`"Sales LicenseAdmin"`, "LicenseAdmin", false}, // not split on spaces
	} {
		var v any
		if err := json.Unmarshal([]byte(tc.claim), &v); err != nil {
			t.Fatal(err)
		}
		if got := claimHas(v, tc.want); got != tc.ok {
			t.Errorf("claim %s has %q: %v; want %v", tc.claim, tc.want, got, tc.ok)
		}
	}
}

// LoadKey opens the data folder's key file as serve does (internal/secrets,
// one key file for every sealed secret) for the client secrets.
func LoadKey(path string) (Sealer, error) {
	b, err := secrets.Open(path, true)
	if err != nil {
		return nil, err
	}
	return b.At("sso_providers.secret_sealed"), nil
}

func TestKeySealer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secrets.key")
	k1, err := LoadKey(path)
	if err != nil {
		t.Fatal(err)
	}
	sealed, _ := k1.Seal([]byte("s3cret"))
	k2, err := LoadKey(path) // the same file: the same key
	if err != nil {
		t.Fatal(err)
	}
	if plain, err := k2.Open(sealed); err != nil || string(plain) != "s3cret" {
		t.Errorf("open: %q %v", plain, err)
	}
	other, _ := LoadKey(filepath.Join(t.TempDir(), "secrets.key"))
	if _, err := other.Open(sealed); err == nil {
		t.Error("another key opened the secret")
	}
	if _, err := k1.Open(sealed[:len(sealed)-2] + "AA"); err == nil {
		t.Error("a tampered secret opened")
	}
	if _, err := k1.Open("s3cret"); err == nil {
		t.Error("a clear secret opened")
	}
}
