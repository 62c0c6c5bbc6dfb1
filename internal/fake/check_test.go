package fake_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/fake"
	"github.com/licet/licet/internal/licensing"
	"github.com/licet/licet/internal/sqlite"
)

var (
	_ licensing.Store = (*fake.CheckStore)(nil)
	_ licet.Clock     = (*fake.Clock)(nil)
)

const (
	orgA = "4F767AFF-B33F-437C-A7CB-00249948C82B"
	orgB = "5A878B00-C440-448D-B8DC-11350A59D93C"
)

func user(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }

// listener records what a store tells it.
type listener struct {
	mu     sync.Mutex
	events []string
}

func (l *listener) Invalidate() {
	l.mu.Lock()
	l.events = append(l.events, "invalidate")
	l.mu.Unlock()
}
func (l *listener) UsersChanged(org string, ids []string) {
	if len(ids) == 0 {
		// The SQL store's group commit tells an admission that changed
		// nothing (an unknown organization) with no users; that drops
		// nothing from a cache, and the fake does not tell it.
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	ids = slices.Sorted(slices.Values(ids))
	l.events = append(l.events, fmt.Sprint("users ", org, ids))
}
func (l *listener) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.events
	l.events = nil
	return e
}

// view is what a check reads of a user, times in milliseconds as stored.
func view(u *licet.User) string {
	if u == nil {
		return "<nil>"
	}
	ms := func(t time.Time) int64 {
		if t.IsZero() {
			return 0
		}
		return t.UnixMilli()
	}
	return fmt.Sprintf("%s/%s %s disabled=%t type=%q assigned=%d by %q temp=%d first=%d last=%d %q %q %q %q recorded=%d",
		u.OrgID, u.ID, u.State, u.Disabled, u.LicenseType, ms(u.AssignedAt), u.AssignedBy, ms(u.TemporaryUntil),
		ms(u.FirstSeen), ms(u.LastSeen), u.Last.DeviceID, u.Last.Version, u.Last.Edition, u.Last.OrganizationURL, ms(u.RecordedAt))
}

func decision(d *licet.Decision) string {
	ms := func(t time.Time) int64 {
		if t.IsZero() {
			return 0
		}
		return t.UnixMilli()
	}
	return fmt.Sprintf("%s %q %q until=%d action=%d reclaimed=%q evicted=%d user=[%s]",
		d.Status, d.LicenseType, d.Message, ms(d.Until), d.Action, d.Reclaimed, d.Evicted, view(d.User))
}

// The fake answers what the SQL store answers, for everything a check
// uses: the same admissions (assign, record, reclaim, temporary license,
// once only), the same reads, the same change counters and change lists,
// the same notifications to listeners.
func TestCheckStoreAnswersAsTheSQLStore(t *testing.T) {
	ctx := context.Background()
	clock := fake.NewClock(time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC))
	real, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "licet.db"), sqlite.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer real.Close()
	fk := fake.NewCheckStore(clock)
	stores := []licensing.Store{real, fk}
	names := []string{"sql", "fake"}

	// The same data, through each store's own way in.
	sa, sb := licet.DefaultSettings(), licet.DefaultSettings()
	sa.FreeUnusedDays = 90
	sb.AutoAssign, sb.TemporaryDays, sb.TemporaryMax = false, 14, 1
	now := clock.Now()
	orgs := []licet.Organization{{ID: orgA, Name: "A", URL: "https://a.example", Settings: sa}, {ID: orgB, Name: "B", URL: "https://b.example", Settings: sb}}
	pools := []licet.Pool{{OrgID: orgA, LicenseType: "Standard", Seats: 2, From: now.Add(-time.Hour)},
		{OrgID: orgB, LicenseType: "Standard", Seats: 5, From: now.Add(-time.Hour), Until: now.Add(100 * 24 * time.Hour)}}
	types := []licet.LicenseType{{Name: "Standard"}, {Name: "Premium", Includes: []string{"Standard"}}}
	for _, lt := range types {
		if err := real.PutLicenseType(ctx, lt, "op"); err != nil {
			t.Fatal(err)
		}
		fk.PutLicenseType(lt)
	}
	for _, o := range orgs {
		if err := real.CreateOrganization(ctx, &o, "op"); err != nil {
			t.Fatal(err)
		}
		fk.PutOrg(o)
	}
	for _, p := range pools {
		if err := real.AddPool(ctx, &p, "op"); err != nil {
			t.Fatal(err)
		}
		fk.AddPool(p)
	}
	ls := []*listener{{}, {}}
	base := make([]map[string]int64, 2)
	for i, s := range stores {
		s.Listen(ls[i])
		if base[i], err = s.UserSeqs(ctx); err != nil {
			t.Fatal(err)
		}
	}

	same := func(what string, get func(s licensing.Store) string) {
		t.Helper()
		a, b := get(real), get(fk)
		t.Logf("%s: %s", what, a)
		if a != b {
			t.Errorf("%s:\n  sql:  %s\n  fake: %s", what, a, b)
		}
	}
	admit := func(org string, n int, edition string) {
		t.Helper()
		req := licet.AdmitRequest{OrgID: org, UserID: user(n), Sighting: licet.Sighting{OrgID: org, UserID: user(n), At: clock.Now(),
			DeviceID: fmt.Sprint("device", n), Version: "1.2", Edition: edition, OrganizationURL: "https://x.example"}}
		same(fmt.Sprintf("admit %s user %d", org[:4], n), func(s licensing.Store) string {
			d, err := s.Admit(ctx, req)
			if err != nil {
				return "error " + err.Error()
			}
			return decision(d)
		})
		var told [2][]string
		for i := range ls {
			told[i] = ls[i].take()
		}
		if !slices.Equal(told[0], told[1]) {
			t.Errorf("admit %d told sql %v, fake %v", n, told[0], told[1])
		}
	}
	readUser := func(org string, n int) {
		t.Helper()
		same(fmt.Sprintf("check user %s %d", org[:4], n), func(s licensing.Store) string {
			u, used, err := s.CheckUser(ctx, org, user(n))
			return fmt.Sprint(view(u), used, err)
		})
	}

	admit(orgA, 1, "")
	admit(orgA, 2, "Standard")
	admit(orgA, 3, "") // no seat left: recorded
	admit(orgA, 4, "Premium")
	clock.Add(24 * time.Hour)
	admit(orgA, 2, "") // a licensed user's admission only sees it
	clock.Add(91 * 24 * time.Hour)
	admit(orgA, 3, "") // user 1 idle longest: reclaimed
	admit(orgA, 5, "")
	admit(orgB, 6, "") // temporary
	admit(orgB, 7, "") // the allowance is 1
	admit(orgB, 6, "") // still temporary: nothing to do
	admit("00000000-0000-4000-8000-00000000dead", 8, "")
	for n := 1; n <= 8; n++ {
		readUser(orgA, n)
		readUser(orgB, n)
	}
	same("temporary standing", func(s licensing.Store) string {
		h, had, err := s.TemporaryStanding(ctx, orgB, user(6), clock.Now())
		h2, had2, _ := s.TemporaryStanding(ctx, orgB, user(7), clock.Now())
		return fmt.Sprint(h, had, h2, had2, err)
	})
	same("org data", func(s licensing.Store) string {
		o, ps, err := s.OrgData(ctx, orgB)
		none, _, _ := s.OrgData(ctx, "00000000-0000-4000-8000-00000000dead")
		return fmt.Sprint(o.ID, o.Name, o.URL, o.Settings, len(ps), ps[0].LicenseType, ps[0].Seats, ps[0].Until.UnixMilli(), none, err)
	})
	same("license types", func(s licensing.Store) string {
		lt, err := s.LicenseTypes(ctx)
		return fmt.Sprint(lt, err)
	})

	// Sightings: the newest wins, an older one and one of a stranger are
	// dropped, and no counter moves.
	seqs := func(i int) string {
		m, err := stores[i].UserSeqs(ctx)
		if err != nil {
			return err.Error()
		}
		return fmt.Sprint(m[orgA]-base[i][orgA], m[orgB]-base[i][orgB])
	}
	before := [2]string{seqs(0), seqs(1)}
	if before[0] != before[1] {
		t.Errorf("user change counters moved by sql %s, fake %s", before[0], before[1])
	}
	later := clock.Now().Add(time.Minute)
	batch := []licet.Sighting{{OrgID: orgA, UserID: user(2), At: later, DeviceID: "new", Version: "2.0"},
		{OrgID: orgA, UserID: user(3), At: clock.Now().Add(-time.Hour), DeviceID: "old"},
		{OrgID: orgA, UserID: user(99), At: later, DeviceID: "stranger"}}
	for _, s := range stores {
		if err := s.RecordSightings(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	readUser(orgA, 2)
	readUser(orgA, 3)
	readUser(orgA, 99)
	if a, b := seqs(0), seqs(1); a != before[0] || b != before[1] {
		t.Errorf("sightings moved the counters: sql %s, fake %s", a, b)
	}
	same("changes since", func(s licensing.Store) string {
		var out []string
		for i, st := range stores {
			if st == s {
				for _, org := range []string{orgA, orgB} {
					ids, complete, err := s.UserChangesSince(ctx, org, base[i][org])
					slices.Sort(ids)
					out = append(out, fmt.Sprint(ids, complete, err))
					_, complete, _ = s.UserChangesSince(ctx, org, base[i][org]+100)
					out = append(out, fmt.Sprint(complete))
				}
			}
		}
		return fmt.Sprint(out)
	})
	// Pruned history is incomplete.
	same("pruned", func(s licensing.Store) string {
		n, err := s.PruneUserChanges(ctx, clock.Now().Add(time.Hour))
		for i, st := range stores {
			if st == s {
				_, complete, _ := s.UserChangesSince(ctx, orgA, base[i][orgA])
				return fmt.Sprint(n, err, complete)
			}
		}
		return ""
	})
	// Changes to organizations, pools and types are told and counted.
	seq0 := [2]int64{}
	for i, s := range stores {
		seq0[i], _ = s.ChangeSeq(ctx)
	}
	if err := real.PutLicenseType(ctx, licet.LicenseType{Name: "Field"}, "op"); err != nil {
		t.Fatal(err)
	}
	fk.PutLicenseType(licet.LicenseType{Name: "Field"})
	for i, s := range stores {
		if seq, _ := s.ChangeSeq(ctx); seq <= seq0[i] {
			t.Errorf("%s: ChangeSeq did not move", names[i])
		}
		if e := ls[i].take(); !slices.Equal(e, []string{"invalidate"}) {
			t.Errorf("%s told %v; want one invalidate", names[i], e)
		}
	}
}

// Strangers beyond the cap are evicted, oldest first, as the SQL store does.
func TestCheckStoreEvictsStrangersAsTheSQLStore(t *testing.T) {
	ctx := context.Background()
	clock := fake.NewClock(time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC))
	real, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "licet.db"), sqlite.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer real.Close()
	fk := fake.NewCheckStore(clock)
	o := licet.Organization{ID: orgA, Name: "A", URL: "https://a.example", Settings: licet.DefaultSettings()}
	o.Settings.AutoAssign = false
	if err := real.CreateOrganization(ctx, &o, "op"); err != nil {
		t.Fatal(err)
	}
	fk.PutOrg(o)
	capN := fake.StrangerCap(nil, clock.Now())
	for n := 1; n <= capN+2; n++ {
		clock.Add(time.Second)
		req := licet.AdmitRequest{OrgID: orgA, UserID: user(n), Sighting: licet.Sighting{DeviceID: "d"}}
		a, err1 := real.Admit(ctx, req)
		b, err2 := fk.Admit(ctx, req)
		if err1 != nil || err2 != nil || decision(a) != decision(b) {
			t.Fatalf("user %d:\n  sql:  %v %v\n  fake: %v %v", n, decision(a), err1, decision(b), err2)
		}
	}
	for _, n := range []int{1, 2, 3, capN + 2} {
		u1, _, _ := real.CheckUser(ctx, orgA, user(n))
		u2, _, _ := fk.CheckUser(ctx, orgA, user(n))
		if view(u1) != view(u2) {
			t.Errorf("user %d:\n  sql:  %s\n  fake: %s", n, view(u1), view(u2))
		}
	}
}
