package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/sqlite"
	"github.com/licet/licet/internal/storetest"
)

func open(t *testing.T, clock licet.Clock) licet.Store {
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "licet.db"), sqlite.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestContract(t *testing.T) { storetest.Run(t, open) }

func TestReadOnlyRefusesWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "licet.db")
	ctx := context.Background()
	rw, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	org := &licet.Organization{ID: storetest.GUID('o', 1), Name: "o", URL: "https://o.example", Settings: licet.DefaultSettings()}
	if err := rw.CreateOrganization(ctx, org, "op"); err != nil {
		t.Fatal(err)
	}
	rw.Close()
	ro, err := sqlite.Open(ctx, path, sqlite.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if _, err := ro.Organization(ctx, org.ID); err != nil {
		t.Errorf("read on a read-only store: %v", err)
	}
	if _, err := ro.ChangeUser(ctx, org.ID, storetest.GUID('u', 1), licet.ActionAdd, "", "op"); licet.ErrorCode(err) != licet.EREADONLY {
		t.Errorf("write on a read-only store: %v", err)
	}
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "licet.db")
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	org := &licet.Organization{ID: storetest.GUID('o', 1), Name: "o", URL: "https://o.example", Settings: licet.DefaultSettings()}
	if err := s.CreateOrganization(ctx, org, "op"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = sqlite.Open(ctx, path, sqlite.Options{}) // migrations run again, idempotently
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Organization(ctx, org.ID); err != nil {
		t.Error(err)
	}
}

func BenchmarkSightings(b *testing.B) { benchSightings(b, 10_000, 10_000) }

// BenchmarkSightingsField is the field scenario's flush: 100,000 users,
// 13,000 of them (a second of the field's checks) seen in each batch.
func BenchmarkSightingsField(b *testing.B) { benchSightings(b, 100_000, 13_000) }

func benchSightings(b *testing.B, users, batch int) {
	s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "licet.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.BenchmarkSightings(b, s, users, batch)
}
