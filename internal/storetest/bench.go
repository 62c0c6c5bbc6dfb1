package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/licet/licet"
)

// BenchmarkSightings measures RecordSightings on s as the field flushes
// it: every second a batch of 10,000 different users, each seen once.
// Reported per sighting.
func BenchmarkSightings(b *testing.B, s licet.Store) {
	ctx := context.Background()
	org := &licet.Organization{ID: GUID('o', 1), Name: "bench", URL: "https://bench.example.net", Settings: licet.DefaultSettings()}
	if err := s.CreateOrganization(ctx, org, "op"); err != nil {
		b.Fatal(err)
	}
	const users = 10_000
	ids := make([]string, users)
	for i := range ids {
		ids[i] = GUID('u', i)
	}
	for i := 0; i < users; i += 1000 {
		if _, err := s.ChangeUsers(ctx, org.ID, ids[i:i+1000], licet.ActionAdd, "", "op"); err != nil {
			b.Fatal(err)
		}
	}
	batch := make([]licet.Sighting, users)
	at := Start
	b.ResetTimer()
	for b.Loop() {
		at = at.Add(time.Second)
		for i, id := range ids {
			batch[i] = licet.Sighting{OrgID: org.ID, UserID: id, At: at, DeviceID: "45d780e4f18354949676f743b0h11633951652bc",
				DeviceInfo: "iPad 2 Wi-Fi only (iPad2,1) iPhone OS 6.0", Version: "6.1.0.0", Edition: "Resco",
				OrganizationURL: "https://crm.example.net", OrganizationName: "bench"}
		}
		if err := s.RecordSightings(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*users), "ns/sighting")
}
