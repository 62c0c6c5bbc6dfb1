package protocol

import (
	"crypto/ed25519"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// The conformance vectors (sdk/vectors) that sdk/js and sdk/java pass too.
var vectorDir = filepath.Join("..", "sdk", "vectors")

type vectorExpect struct {
	Valid       bool   `json:"valid"`
	Reason      string `json:"reason"`
	Status      string `json:"status"`
	LicenseType string `json:"licenseType"`
	Expires     string `json:"expires"`
}

func readVectors(t testing.TB, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(vectorDir, name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func vectorKeys(t testing.TB, names []string) map[string]ed25519.PublicKey {
	t.Helper()
	var kf struct {
		Keys map[string]struct {
			PEM string `json:"publicKeyPem"`
		} `json:"keys"`
	}
	readVectors(t, "keys.json", &kf)
	out := map[string]ed25519.PublicKey{}
	for _, n := range names {
		k, err := ParsePublicKeys([]byte(kf.Keys[n].PEM))
		if err != nil {
			t.Fatalf("key %q: %v", n, err)
		}
		for id, pub := range k {
			out[id] = pub
		}
	}
	return out
}

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestLeaseVectors(t *testing.T) {
	var f struct {
		Cases []struct {
			Name             string
			Trust            []string
			Lease, Signature string
			Check            struct {
				Org, User, Device, Now string
				DriftSeconds           int
				Revoked                []string
			}
			Expect vectorExpect
		}
	}
	readVectors(t, "leases.json", &f)
	if len(f.Cases) < 20 {
		t.Fatalf("only %d lease vectors", len(f.Cases))
	}
	for _, c := range f.Cases {
		t.Run(c.Name, func(t *testing.T) {
			var l *Lease
			payload, err := DecodeBase64(c.Lease)
			sig, err2 := DecodeBase64(c.Signature)
			if err == nil && err2 == nil {
				l, err = VerifyLease(payload, sig, vectorKeys(t, c.Trust), LeaseCheck{Org: c.Check.Org, User: c.Check.User, Device: c.Check.Device,
					Now: mustTime(t, c.Check.Now), Drift: time.Duration(c.Check.DriftSeconds) * time.Second, Revoked: c.Check.Revoked})
			} else {
				err = ErrLeaseMalformed
			}
			if got := Reason(err); got != c.Expect.Reason || (err == nil) != c.Expect.Valid {
				t.Fatalf("reason %q (%v); want %q", got, err, c.Expect.Reason)
			}
			if c.Expect.Valid && (string(l.Status) != c.Expect.Status || l.LicenseType != c.Expect.LicenseType || l.ExpiresAt != c.Expect.Expires) {
				t.Errorf("got %s %s until %s; want %+v", l.Status, l.LicenseType, l.ExpiresAt, c.Expect)
			}
		})
	}
}

func TestOfflineVectors(t *testing.T) {
	var f struct {
		Cases []struct {
			Name  string
			Trust []string
			File  string
			Check struct {
				Org, URL, User, Now string
				DriftSeconds        int
				Revoked             []string
			}
			Expect vectorExpect
		}
	}
	readVectors(t, "offline.json", &f)
	if len(f.Cases) < 20 {
		t.Fatalf("only %d offline vectors", len(f.Cases))
	}
	for _, c := range f.Cases {
		t.Run(c.Name, func(t *testing.T) {
			doc, err := DecodeBase64(c.File)
			if err != nil {
				t.Fatal(err)
			}
			l, typ, err := VerifyOffline(doc, vectorKeys(t, c.Trust), OfflineCheck{Org: c.Check.Org, URL: c.Check.URL, User: c.Check.User,
				Now: mustTime(t, c.Check.Now), Drift: time.Duration(c.Check.DriftSeconds) * time.Second, Revoked: c.Check.Revoked})
			if got := Reason(err); got != c.Expect.Reason || (err == nil) != c.Expect.Valid {
				t.Fatalf("reason %q (%v); want %q", got, err, c.Expect.Reason)
			}
			if c.Expect.Valid && (typ != c.Expect.LicenseType || l.ValidUntil != c.Expect.Expires) {
				t.Errorf("got %s until %s; want %+v", typ, l.ValidUntil, c.Expect)
			}
		})
	}
}

func TestKeySetVectors(t *testing.T) {
	var f struct {
		Cases []struct {
			Name           string
			Trust, Revoked []string
			KeySet         *KeySetEnvelope
			Expect         struct {
				Valid         bool
				Reason        string
				Keys, Revoked []string
			}
		}
	}
	readVectors(t, "keysets.json", &f)
	if len(f.Cases) < 15 {
		t.Fatalf("only %d key set vectors", len(f.Cases))
	}
	for _, c := range f.Cases {
		t.Run(c.Name, func(t *testing.T) {
			trusted := map[string]ed25519.PublicKey{}
			if len(c.Trust) > 0 {
				trusted = vectorKeys(t, c.Trust)
			}
			ks, err := VerifyKeySet(c.KeySet, trusted, c.Revoked)
			if got := Reason(err); got != c.Expect.Reason || (err == nil) != c.Expect.Valid {
				t.Fatalf("reason %q (%v); want %q", got, err, c.Expect.Reason)
			}
			if err != nil {
				return
			}
			var ids []string
			for _, k := range ks.Keys {
				ids = append(ids, k.KeyID)
			}
			if !slices.Equal(ids, c.Expect.Keys) || !slices.Equal(ks.RevokedIDs(), c.Expect.Revoked) && len(c.Expect.Revoked)+len(ks.RevokedIDs()) > 0 {
				t.Errorf("keys %v revoked %v; want %v %v", ids, ks.RevokedIDs(), c.Expect.Keys, c.Expect.Revoked)
			}
		})
	}
}

// BenchmarkVerifyLeaseVector verifies the "valid" lease vector: the work a
// device does per answer (docs/BENCHMARKS.md compares the three verifiers).
func BenchmarkVerifyLeaseVector(b *testing.B) {
	var f struct {
		Cases []struct {
			Name, Lease, Signature string
			Trust                  []string
			Check                  struct{ Org, User, Device, Now string }
		}
	}
	readVectors(b, "leases.json", &f)
	c := f.Cases[0]
	keys := vectorKeys(b, c.Trust)
	payload, _ := DecodeBase64(c.Lease)
	sig, _ := DecodeBase64(c.Signature)
	lc := LeaseCheck{Org: c.Check.Org, User: c.Check.User, Device: c.Check.Device, Now: mustTime(b, c.Check.Now), Drift: 5 * time.Minute}
	for b.Loop() {
		if _, err := VerifyLease(payload, sig, keys, lc); err != nil {
			b.Fatal(err)
		}
	}
}
