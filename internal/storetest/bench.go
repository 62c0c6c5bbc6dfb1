package storetest

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/licet/licet"
)

// BenchmarkSightings measures RecordSightings on s as the field flushes
// it: an organization of users users, and every second a batch of batch
// different ones of them, each seen once, taken at random (the field's
// devices check in hours apart, in no order). Reported per sighting.
func BenchmarkSightings(b *testing.B, s licet.Store, users, batch int) {
	ctx := context.Background()
	org := &licet.Organization{ID: GUID('o', 1), Name: "bench", URL: "https://bench.example.net", Settings: licet.DefaultSettings()}
	if err := s.CreateOrganization(ctx, org, "op"); err != nil {
		b.Fatal(err)
	}
	ids := make([]string, users)
	for i := range ids {
		ids[i] = GUID('u', i)
	}
	for i := 0; i < users; i += 1000 {
		if _, err := s.ChangeUsers(ctx, org.ID, ids[i:min(i+1000, users)], licet.ActionAdd, "", "op"); err != nil {
			b.Fatal(err)
		}
	}
	// The server flushes under its run's context, which can be cancelled.
	run, cancel := context.WithCancel(ctx)
	defer cancel()
	rnd := rand.New(rand.NewPCG(1, 2))
	seen := make([]licet.Sighting, batch)
	at := Start
	b.ResetTimer()
	for b.Loop() {
		at = at.Add(time.Second)
		for i, k := range rnd.Perm(users)[:batch] {
			seen[i] = licet.Sighting{OrgID: org.ID, UserID: ids[k], At: at, DeviceID: "45d780e4f18354949676f743b0h11633951652bc",
				DeviceInfo: "iPad 2 Wi-Fi only (iPad2,1) iPhone OS 6.0", Version: "6.1.0.0", Edition: "Resco",
				OrganizationURL: "https://crm.example.net", OrganizationName: "bench"}
		}
		if err := s.RecordSightings(run, seen); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/sighting")
}
