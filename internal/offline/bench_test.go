package offline_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/keys"
	"github.com/licet/licet/internal/offline"
	"github.com/licet/licet/internal/sqlite"
)

// benchOrg is an organization with n licensed users and an issued offline
// license, then 1% of them unassigned: what the Offline page compares.
func benchOrg(b *testing.B, n int) (*offline.Service, string) {
	ctx := context.Background()
	dir := b.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "licet.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	ring, err := keys.Open(filepath.Join(dir, "keys"), true)
	if err != nil {
		b.Fatal(err)
	}
	org := "4F767AFF-B33F-437C-A7CB-00249948C82B"
	o := &licet.Organization{ID: org, Name: "bench", URL: "https://crm.example.net", Settings: licet.DefaultSettings()}
	o.Settings.Offline = true
	if err := st.CreateOrganization(ctx, o, "bench"); err != nil {
		b.Fatal(err)
	}
	if err := st.AddPool(ctx, &licet.Pool{OrgID: org, LicenseType: "Standard", Seats: n}, "bench"); err != nil {
		b.Fatal(err)
	}
	var ids []string
	for i := range n {
		ids = append(ids, fmt.Sprintf("%08X-0000-4000-8000-000000000000", i))
		if len(ids) == 10_000 || i == n-1 {
			if _, err := st.ChangeUsers(ctx, org, ids, licet.ActionAssign, "Standard", "bench"); err != nil {
				b.Fatal(err)
			}
			ids = ids[:0]
		}
	}
	svc := offline.New(st, ring, licet.SystemClock{}, slog.New(slog.NewTextHandler(io.Discard, nil)), false)
	if _, err := svc.Issue(ctx, org, "bench"); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < n/100; i++ {
		ids = append(ids, fmt.Sprintf("%08X-0000-4000-8000-000000000000", i))
	}
	if _, err := st.ChangeUsers(ctx, org, ids, licet.ActionUnassign, "", "bench"); err != nil {
		b.Fatal(err)
	}
	return svc, org
}

// BenchmarkOfflineChanges50k is the cost of the change count the Offline
// page and "licet offline show" compute, for 50,000 licensed users.
func BenchmarkOfflineChanges50k(b *testing.B) {
	svc, org := benchOrg(b, 50_000)
	b.ResetTimer()
	for b.Loop() {
		c, err := svc.Changes(context.Background(), org)
		if err != nil || c.Unassigned != 500 {
			b.Fatalf("%+v %v", c, err)
		}
	}
}

// BenchmarkOfflineIssue50k is an Update for 50,000 users without a backend.
func BenchmarkOfflineIssue50k(b *testing.B) {
	svc, org := benchOrg(b, 50_000)
	b.ResetTimer()
	for b.Loop() {
		if _, err := svc.Issue(context.Background(), org, "bench"); err != nil {
			b.Fatal(err)
		}
	}
}
