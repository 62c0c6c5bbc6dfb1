package postgres_test

import (
	"context"
	"sync"
	"testing"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/postgres"
	"github.com/licet/licet/internal/storetest"
)

func open(t *testing.T, clock licet.Clock) licet.Store {
	s, err := postgres.Open(context.Background(), storetest.PostgresURL(t), postgres.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestContract(t *testing.T) { storetest.Run(t, open) }

// Several processes starting at once on an empty database migrate one
// after another and all come up.
func TestConcurrentMigrations(t *testing.T) {
	url := storetest.PostgresURL(t)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			s, err := postgres.Open(context.Background(), url, postgres.Options{})
			if err == nil {
				s.Close()
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// Stores on separate connection pools stand for separate processes: the
// seat limit holds between them because it lives in the database.
func TestSeatLimitAcrossPools(t *testing.T) {
	url := storetest.PostgresURL(t)
	ctx := context.Background()
	var stores []licet.Store
	for range 3 {
		s, err := postgres.Open(ctx, url, postgres.Options{MaxConns: 10})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores = append(stores, s)
	}
	org := storetest.GUID('o', 1)
	if err := stores[0].CreateOrganization(ctx, &licet.Organization{ID: org, Name: "o", URL: "https://o.example", Settings: licet.DefaultSettings()}, "op"); err != nil {
		t.Fatal(err)
	}
	if err := stores[1].AddPool(ctx, &licet.Pool{OrgID: org, LicenseType: "Standard", Seats: 25, From: storetest.Start}, "op"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	n := map[licet.Status]int{}
	for i := range 150 {
		wg.Go(func() {
			d, err := stores[i%3].Admit(ctx, licet.AdmitRequest{OrgID: org, UserID: storetest.GUID('u', i)})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			n[d.Status]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if n[licet.StatusLicensed] != 25 || n[licet.StatusNoLicenseAvailable] != 125 {
		t.Errorf("%v; want 25 Licensed and 125 NoLicenseAvailable", n)
	}
}

// Admissions of one group read their users ahead and count seats once per
// transaction: a user checking twice at once, and many new users at once,
// still get exactly the seats there are, and the seat counts agree with
// the users licensed.
func TestGroupedAdmissionsOfTheSameUsers(t *testing.T) {
	ctx := context.Background()
	s := open(t, nil)
	org := storetest.GUID('o', 1)
	if err := s.CreateOrganization(ctx, &licet.Organization{ID: org, Name: "o", URL: "https://o.example", Settings: licet.DefaultSettings()}, "op"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddPool(ctx, &licet.Pool{OrgID: org, LicenseType: "Standard", Seats: 40, From: storetest.Start}, "op"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	licensed := map[string]int{}
	for i := range 240 {
		wg.Go(func() {
			user := storetest.GUID('u', i%120)
			d, err := s.Admit(ctx, licet.AdmitRequest{OrgID: org, UserID: user})
			if err != nil {
				t.Error(err)
				return
			}
			if d.Status == licet.StatusLicensed {
				mu.Lock()
				licensed[user]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(licensed) != 40 {
		t.Errorf("%d users licensed, want 40", len(licensed))
	}
	counts, err := s.SeatCounts(ctx, org)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range counts {
		if c.LicenseType == "Standard" && (c.Used != 40 || c.Available != 0) {
			t.Errorf("seat counts %+v, want 40 used, none available", c)
		}
	}
	// Every admitted user is in the change log other processes follow.
	ch := s.(interface {
		UserChangesSince(ctx context.Context, orgID string, seq int64) ([]string, bool, error)
	})
	ids, complete, err := ch.UserChangesSince(ctx, org, 0)
	if err != nil || !complete {
		t.Fatalf("user changes: complete %v, %v", complete, err)
	}
	changed := map[string]bool{}
	for _, id := range ids {
		changed[id] = true
	}
	for i := range 120 {
		user := storetest.GUID('u', i)
		if !changed[user] {
			t.Errorf("user %s admitted but not in the change log", user)
		}
		u, err := s.User(ctx, org, user)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := u.State == licet.UserLicensed, licensed[user] > 0; got != want {
			t.Errorf("user %s: licensed %v, answered licensed %d times", user, got, licensed[user])
		}
	}
}

func BenchmarkSightings(b *testing.B) {
	s, err := postgres.Open(context.Background(), storetest.PostgresURL(b), postgres.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.BenchmarkSightings(b, s, 10_000, 10_000)
}
