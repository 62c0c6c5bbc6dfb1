package sqlstore_test

import (
	"context"
	"testing"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/storetest"
)

// BenchmarkCheckUser reads, as a check of a user not in the cache does, a
// new user of an organization with seats of two types used (the counts
// are read too) and a licensed user (they are not).
func BenchmarkCheckUser(b *testing.B) {
	ctx := context.Background()
	s, _ := open(b, storetest.NewClock(storetest.Start))
	org := storetest.GUID('o', 1)
	if err := s.CreateOrganization(ctx, &licet.Organization{ID: org, Name: "o", URL: "https://o.example", Settings: licet.DefaultSettings()}, "op"); err != nil {
		b.Fatal(err)
	}
	for _, typ := range []string{"Standard", "Premium"} {
		if err := s.AddPool(ctx, &licet.Pool{OrgID: org, LicenseType: typ, Seats: 100, From: storetest.Start}, "op"); err != nil {
			b.Fatal(err)
		}
	}
	for i := range 20 {
		if _, err := s.ChangeUser(ctx, org, storetest.GUID('u', i), licet.ActionAssign, []string{"Standard", "Premium"}[i%2], "op"); err != nil {
			b.Fatal(err)
		}
	}
	for _, c := range []struct {
		name, user string
		counts     bool
	}{{"new", storetest.GUID('u', 999), true}, {"licensed", storetest.GUID('u', 1), false}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, counts, err := s.CheckUser(ctx, org, c.user)
				if err != nil || (counts != nil) != c.counts {
					b.Fatal(counts, err)
				}
			}
		})
	}
}
