package licensing

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/keys"
)

func service(b testing.TB, reuse time.Duration) *Service {
	ring, err := keys.Open(b.TempDir(), true)
	if err != nil {
		b.Fatal(err)
	}
	return New(noStore{}, Config{Keys: ring, Clock: licet.SystemClock{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		LeaseLength: 7 * 24 * time.Hour, LeaseReuse: reuse, ServerURL: "https://licet.example.com"})
}

// noStore is a store signing never reads.
type noStore struct{ Store }

func (noStore) Listen(licet.ChangeListener) {}

var req = &licet.CheckRequest{OrganizationID: "4F767AFF-B33F-437C-A7CB-00249948C82B", UserID: "661BAC34-1128-40B1-9653-00B9F54158CD",
	DeviceID: "45d780e4f18354949676f743b0h11633951652bc"}

// BenchmarkSignLease measures a fresh lease: JSON encoding and an Ed25519
// signature.
func BenchmarkSignLease(b *testing.B) {
	s := service(b, 0)
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		a := &licet.Answer{Status: licet.StatusLicensed, LicenseType: "Standard"}
		s.sign(a, req, now, time.Time{})
	}
}

// BenchmarkSignLeaseReused measures a lease sent again within the reuse
// window.
func BenchmarkSignLeaseReused(b *testing.B) {
	s := service(b, 5*time.Minute)
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		a := &licet.Answer{Status: licet.StatusLicensed, LicenseType: "Standard"}
		s.sign(a, req, now, time.Time{})
	}
}

func TestLeaseReuse(t *testing.T) {
	s := service(t, 5*time.Minute)
	now := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	sign := func(r *licet.CheckRequest, at time.Time, typ string) *licet.Answer {
		a := &licet.Answer{Status: licet.StatusLicensed, LicenseType: typ}
		s.sign(a, r, at, time.Time{})
		return a
	}
	first := sign(req, now, "Standard")
	if again := sign(req, now.Add(4*time.Minute), "Standard"); string(again.Lease) != string(first.Lease) {
		t.Error("a check within the window got a new lease")
	}
	if later := sign(req, now.Add(5*time.Minute), "Standard"); string(later.Lease) == string(first.Lease) {
		t.Error("a check after the window got the old lease")
	}
	other := *req
	other.DeviceID = "another device"
	if a := sign(&other, now.Add(time.Minute), "Standard"); string(a.Lease) == string(first.Lease) {
		t.Error("another device got the first device's lease")
	}
	if a := sign(req, now.Add(time.Minute), "Premium"); string(a.Lease) == string(first.Lease) {
		t.Error("a changed license type reused the old lease")
	}
	if _, err := s.cfg.Keys.Rotate(); err != nil {
		t.Fatal(err)
	}
	if a := sign(req, now.Add(time.Minute), "Standard"); a.KeyID == first.KeyID {
		t.Error("after a key rotation the old key's lease was reused")
	}
}
