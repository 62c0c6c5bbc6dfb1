package licensing

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"math/rand/v2"
	"testing"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/keys"
)

// leaseOf builds a lease whose every string field is s, with a few fields
// kept realistic so that the cases stay readable.
func leaseOf(s string) licet.Lease {
	return licet.Lease{Version: 1, Org: s, User: "661BAC34-1128-40B1-9653-00B9F54158CD", Device: s, LicenseType: s,
		Status: licet.Status(s), IssuedAt: "2026-11-27T03:00:00Z", ExpiresAt: s, KeyID: s, Role: licet.RolePrimary, Server: s}
}

var hostile = []string{"", "plain", `quote " and \ backslash`, "<script>&amp;</script>", "tab\tnew\nline\r", "\x00\x01\x1f\x7f",
	"é ü ß 日本", "\u2028\u2029", "\xff\xfe invalid", "emoji 🙂", "a\u0085b", strings1k()}

func strings1k() string { return string(bytes.Repeat([]byte("ab<"), 400)) }

func TestAppendLeaseMatchesMarshal(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	cases := []licet.Lease{}
	for _, s := range hostile {
		cases = append(cases, leaseOf(s))
	}
	for range 2000 {
		b := make([]byte, r.IntN(40))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		l := leaseOf(string(b))
		l.Version = r.IntN(1000) - 500
		cases = append(cases, l)
	}
	for _, l := range cases {
		want, err := json.Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendLease(nil, &l); !bytes.Equal(got, want) {
			t.Fatalf("appendLease(%+v)\n got %s\nwant %s", l, got, want)
		}
	}
}

func FuzzAppendLease(f *testing.F) {
	for _, s := range hostile {
		f.Add(s, 1)
	}
	f.Fuzz(func(t *testing.T, s string, v int) {
		l := leaseOf(s)
		l.Version = v
		want, _ := json.Marshal(l)
		if got := appendLease(nil, &l); !bytes.Equal(got, want) {
			t.Fatalf("got %s\nwant %s", got, want)
		}
	})
}

// TestSignLeaseBytes holds SignLease to what devices verify: the payload
// is json.Marshal's encoding of the lease, and the signature is
// crypto/ed25519's over exactly those bytes.
func TestSignLeaseBytes(t *testing.T) {
	ring, err := keys.Open(t.TempDir(), true)
	if err != nil {
		t.Fatal(err)
	}
	k := ring.Active()
	for _, s := range hostile {
		l := leaseOf(s)
		payload, sig := SignLease(k, l)
		want, _ := json.Marshal(l)
		if !bytes.Equal(payload, want) {
			t.Fatalf("payload %s, want %s", payload, want)
		}
		if !bytes.Equal(sig, ed25519.Sign(k.Private, want)) || !ring.Verify(k.ID, payload, sig) {
			t.Fatalf("signature over %s differs from crypto/ed25519's", payload)
		}
	}
}

// BenchmarkLeasePayload compares the payload's encoding by reflection
// with appendLease.
func BenchmarkLeasePayload(b *testing.B) {
	l := licet.Lease{Version: 1, Org: req.OrganizationID, User: req.UserID, Device: req.DeviceID, LicenseType: "Standard",
		Status: licet.StatusLicensed, IssuedAt: "2026-11-27T03:00:00Z", ExpiresAt: "2026-12-04T03:00:00Z", KeyID: "6639af3f01d34114",
		Role: licet.RolePrimary, Server: "https://licet.example.com"}
	b.Run("json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			json.Marshal(l)
		}
	})
	b.Run("appendLease", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			appendLease(make([]byte, 0, 384), &l)
		}
	})
}
