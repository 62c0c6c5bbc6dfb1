package licensing_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/fake"
	"github.com/licet/licet/internal/keys"
	"github.com/licet/licet/internal/licensing"
)

var _ licensing.Store = (*fake.CheckStore)(nil)

const (
	orgID = "4F767AFF-B33F-437C-A7CB-00249948C82B"
	alice = "661BAC34-1128-40B1-9653-00B9F54158CD"
	bob   = "7A1C2E4B-0D3F-4E5A-8B6C-9D0E1F2A3B4C"
	carol = "8B2D3F5C-1E4A-4F6B-9C7D-0E1F2A3B4C5D"
)

var t0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

type env struct {
	store *fake.CheckStore
	clock *fake.Clock
	ring  *keys.Ring
	svc   *licensing.Service
}

// newEnv makes a service over a fake store holding one organization with
// seats of "Standard".
func newEnv(t *testing.T, seats int, settings licet.Settings, cfg licensing.Config) *env {
	t.Helper()
	ring, err := keys.Open(t.TempDir(), true)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{clock: fake.NewClock(t0), ring: ring}
	e.store = fake.NewCheckStore(e.clock)
	e.store.PutLicenseType(licet.LicenseType{Name: "Standard"})
	e.store.PutOrg(licet.Organization{ID: orgID, Name: "Acme", URL: "https://acme.example", Settings: settings})
	if seats > 0 {
		e.store.AddPool(licet.Pool{OrgID: orgID, LicenseType: "Standard", Seats: seats, From: t0.Add(-time.Hour)})
	}
	cfg.Keys, cfg.Clock, cfg.LeaseLength, cfg.ServerURL = ring, e.clock, 7*24*time.Hour, "https://licet.example.com"
	e.svc = licensing.New(e.store, cfg)
	return e
}

func (e *env) check(t *testing.T, user string, gate licensing.Gate) *licet.Answer {
	t.Helper()
	a, err := e.svc.Check(context.Background(), &licet.CheckRequest{OrganizationID: orgID, UserID: user,
		DeviceID: "device-of-" + user, OrganizationURL: "https://acme.example"}, gate)
	if err != nil {
		t.Fatalf("check %s: %v", user, err)
	}
	return a
}

// A new user is assigned a seat by the store, counted, and given a lease
// the ring verifies; the next check answers without writing, and its
// sighting waits for the flush.
func TestCheckAssignsSignsAndBuffersSightings(t *testing.T) {
	e := newEnv(t, 1, licet.DefaultSettings(), licensing.Config{})
	a := e.check(t, alice, nil)
	if a.Status != licet.StatusLicensed || a.LicenseType != "Standard" {
		t.Fatalf("alice: %s %q; want Licensed Standard", a.Status, a.LicenseType)
	}
	if !e.ring.Verify(a.KeyID, a.Lease, a.Signature) {
		t.Error("the lease does not verify with the ring")
	}
	var l licet.Lease
	if err := json.Unmarshal(a.Lease, &l); err != nil || l.User != alice || l.Role != licet.RolePrimary || l.Status != licet.StatusLicensed {
		t.Errorf("lease %+v (%v)", l, err)
	}
	if u := e.store.StoredUser(orgID, alice); u == nil || u.State != licet.UserLicensed || u.AssignedBy != licet.ActorAutomatic {
		t.Errorf("stored alice: %+v", u)
	}
	if b := e.check(t, bob, nil); b.Status != licet.StatusNoLicenseAvailable {
		t.Errorf("bob, no seat left: %s", b.Status)
	}
	admits := e.store.Calls("Admit")
	e.clock.Add(time.Minute)
	if a := e.check(t, alice, nil); a.Status != licet.StatusLicensed {
		t.Fatalf("alice again: %s", a.Status)
	}
	if e.store.Calls("Admit") != admits {
		t.Error("a licensed user's check wrote")
	}
	if n := e.svc.Pending(); n != 1 {
		t.Errorf("pending sightings: %d; want 1", n)
	}
	if err := e.svc.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if u := e.store.StoredUser(orgID, alice); !u.LastSeen.Equal(t0.Add(time.Minute)) || u.Last.DeviceID != "device-of-"+alice {
		t.Errorf("after the flush alice was last seen %s on %q", u.LastSeen, u.Last.DeviceID)
	}
	st := e.svc.Stats()
	if st.Assigned != 1 || st.Flushed != 1 || st.FlushErrors != 0 || st.Temporary != 0 || st.Reclaimed != 0 {
		t.Errorf("stats %+v", st)
	}
}

// Flushes running beside the checks, two at once, lose no sighting: in
// each of ten rounds every user checks in once, and after the last flush
// every user is recorded as last seen in that round.
func TestFlushesBesideChecksLoseNoSighting(t *testing.T) {
	const users = 400
	e := newEnv(t, users, licet.DefaultSettings(), licensing.Config{})
	ids := make([]string, users)
	for i := range ids {
		ids[i] = fmt.Sprintf("%08X-0000-4000-8000-%012X", i, i)
		e.check(t, ids[i], nil)
	}
	for round := range 10 {
		e.clock.Add(time.Minute)
		var checks, flushes sync.WaitGroup
		done := make(chan struct{})
		for range 2 {
			flushes.Go(func() {
				for {
					select {
					case <-done:
						return
					default:
					}
					if err := e.svc.Flush(context.Background()); err != nil {
						t.Error(err)
					}
				}
			})
		}
		for w := range 4 {
			checks.Go(func() {
				for i := w; i < users; i += 4 {
					if _, err := e.svc.Check(context.Background(), &licet.CheckRequest{OrganizationID: orgID, UserID: ids[i],
						DeviceID: "d"}, nil); err != nil {
						t.Error(err)
					}
				}
			})
		}
		checks.Wait()
		close(done)
		flushes.Wait()
		if err := e.svc.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			if u := e.store.StoredUser(orgID, id); !u.LastSeen.Equal(e.clock.Now()) {
				t.Fatalf("round %d: %s last seen %s; want %s", round, id, u.LastSeen, e.clock.Now())
			}
		}
	}
}

// A sighting batch the store refuses is kept and written by the next
// flush; the failure is counted.
func TestFlushFailureKeepsSightings(t *testing.T) {
	e := newEnv(t, 1, licet.DefaultSettings(), licensing.Config{})
	e.check(t, alice, nil)
	e.check(t, alice, nil)
	e.store.Down(licet.Errorf(licet.EUNAVAILABLE, "database away"))
	if err := e.svc.Flush(context.Background()); err == nil {
		t.Fatal("the flush did not fail")
	}
	if e.svc.Pending() != 1 || e.svc.Stats().FlushErrors != 1 {
		t.Fatalf("pending %d, stats %+v", e.svc.Pending(), e.svc.Stats())
	}
	e.store.Down(nil)
	if err := e.svc.Flush(context.Background()); err != nil || e.svc.Pending() != 0 || e.svc.Stats().Flushed != 1 {
		t.Errorf("second flush: %v, pending %d, stats %+v", err, e.svc.Pending(), e.svc.Stats())
	}
}

// A read-only server answers licensed users and denials, never assigns,
// and writes nothing.
func TestReadOnlyNeverWrites(t *testing.T) {
	e := newEnv(t, 2, licet.DefaultSettings(), licensing.Config{ReadOnly: true})
	e.store.PutUser(licet.User{OrgID: orgID, ID: alice, State: licet.UserLicensed, LicenseType: "Standard", AssignedAt: t0})
	a := e.check(t, alice, nil)
	var l licet.Lease
	if json.Unmarshal(a.Lease, &l); a.Status != licet.StatusLicensed || l.Role != licet.RoleBackup {
		t.Errorf("alice on a backup: %s, role %q", a.Status, l.Role)
	}
	if b := e.check(t, bob, nil); b.Status != licet.StatusReadOnlyServer || len(b.Lease) != 0 {
		t.Errorf("bob on a backup: %s", b.Status)
	}
	if e.store.Calls("Admit") != 0 || e.svc.Pending() != 0 {
		t.Errorf("a backup wrote: %d admissions, %d sightings", e.store.Calls("Admit"), e.svc.Pending())
	}
}

// The gate is asked before anything is written, and its refusal stands.
func TestGateRefusesBeforeWriting(t *testing.T) {
	e := newEnv(t, 1, licet.DefaultSettings(), licensing.Config{})
	var seen []licensing.Admission
	refuse := func(a licensing.Admission) error {
		seen = append(seen, a)
		return licet.Errorf(licet.ERATE, "slow down")
	}
	_, err := e.svc.Check(context.Background(), &licet.CheckRequest{OrganizationID: orgID, UserID: alice, DeviceID: "d"}, refuse)
	if licet.ErrorCode(err) != licet.ERATE {
		t.Fatalf("err %v; want the gate's", err)
	}
	if len(seen) != 1 || !seen[0].Writes || seen[0].Known || seen[0].Org == nil {
		t.Errorf("the gate saw %+v; want one writing check from a stranger", seen)
	}
	if e.store.Calls("Admit") != 0 || e.store.StoredUser(orgID, alice) != nil {
		t.Error("a refused check wrote")
	}
	// A licensed user's device that got a lease is known afterwards.
	pass := func(a licensing.Admission) error { seen = append(seen, a); return nil }
	seen = nil
	e.check(t, alice, pass)
	e.check(t, alice, pass)
	if len(seen) != 2 || seen[1].Known != true || seen[1].Writes {
		t.Errorf("the gate saw %+v; want the second check known and not writing", seen)
	}
}

// A seat unused for longer than freeUnusedDays moves to a new user; both
// users' changes reach the cache.
func TestReclaimMovesAnIdleSeat(t *testing.T) {
	s := licet.DefaultSettings()
	s.FreeUnusedDays = 90
	e := newEnv(t, 1, s, licensing.Config{})
	e.store.PutUser(licet.User{OrgID: orgID, ID: alice, State: licet.UserLicensed, LicenseType: "Standard",
		AssignedAt: t0, LastSeen: t0, FirstSeen: t0})
	e.clock.Add(91 * 24 * time.Hour)
	if a := e.check(t, bob, nil); a.Status != licet.StatusLicensed {
		t.Fatalf("bob: %s %s; want the idle seat", a.Status, a.Message)
	}
	if u := e.store.StoredUser(orgID, alice); u.State != licet.UserUnlicensed {
		t.Errorf("alice kept her seat: %+v", u)
	}
	if st := e.svc.Stats(); st.Reclaimed != 1 || st.Assigned != 0 {
		t.Errorf("stats %+v; want one reclaim", st)
	}
	if a := e.check(t, alice, nil); a.Status == licet.StatusLicensed {
		t.Errorf("alice after the reclaim: %s", a.Status)
	}
}

// Without automatic assignment a new user gets one temporary license,
// never a second.
func TestTemporaryLicenseOnce(t *testing.T) {
	s := licet.DefaultSettings()
	s.AutoAssign, s.TemporaryDays = false, 14
	e := newEnv(t, 10, s, licensing.Config{})
	a := e.check(t, alice, nil)
	if a.Status != licet.StatusTemporary || !a.Expires.Equal(t0.Add(7*24*time.Hour)) {
		t.Fatalf("alice: %s until %s", a.Status, a.Expires)
	}
	e.store.DeleteUser(orgID, alice)
	if a := e.check(t, alice, nil); a.Status != licet.StatusNotAssigned {
		t.Errorf("alice again after being deleted: %s; want NotAssigned", a.Status)
	}
	if st := e.svc.Stats(); st.Temporary != 1 {
		t.Errorf("stats %+v", st)
	}
}

// The cache answers a licensed user from memory; a change made in this
// process reaches it at once (the store tells the service), a change made
// by another process at the next poll.
func TestCacheHearsLocalChangesAtOnceAndOthersByPolling(t *testing.T) {
	e := newEnv(t, 2, licet.DefaultSettings(), licensing.Config{})
	e.store.PutUser(licet.User{OrgID: orgID, ID: alice, State: licet.UserLicensed, LicenseType: "Standard", AssignedAt: t0})
	e.store.PutUser(licet.User{OrgID: orgID, ID: bob, State: licet.UserLicensed, LicenseType: "Standard", AssignedAt: t0})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.svc.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	waitFor(t, "the cache to answer", func() bool {
		e.check(t, alice, nil)
		e.check(t, bob, nil)
		n := e.store.Calls("CheckUser")
		e.check(t, alice, nil)
		e.check(t, bob, nil)
		return e.store.Calls("CheckUser") == n
	})

	disable := func(id string) {
		u := e.store.StoredUser(orgID, id)
		u.Disabled = true
		e.store.PutUser(*u)
	}
	disable(alice)
	if a := e.check(t, alice, nil); a.Status != licet.StatusUserDisabled {
		t.Errorf("alice right after a local change: %s; want UserDisabled", a.Status)
	}
	e.store.Elsewhere(func() { disable(bob) })
	waitFor(t, "another process's change to arrive", func() bool { return e.check(t, bob, nil).Status == licet.StatusUserDisabled })

	// Organizations too: a local change of the settings drops them.
	e.store.PutOrg(licet.Organization{ID: orgID, Name: "Acme", URL: "https://acme.example", Settings: licet.Settings{AutoAssign: false}})
	if a := e.check(t, carol, nil); a.Status != licet.StatusNotAssigned {
		t.Errorf("carol after automatic assignment was switched off: %s", a.Status)
	}
}

// While the database cannot be reached, a user the cache held as licensed
// is answered from it within StaleGrace, and not at all without it.
func TestStaleGraceAnswersKnownUsersDuringAnOutage(t *testing.T) {
	for _, grace := range []time.Duration{0, -1} {
		e := newEnv(t, 2, licet.DefaultSettings(), licensing.Config{StaleGrace: grace})
		e.store.PutUser(licet.User{OrgID: orgID, ID: alice, State: licet.UserLicensed, LicenseType: "Standard", AssignedAt: t0})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { e.svc.Run(ctx); close(done) }()
		waitFor(t, "the cache to hold alice", func() bool {
			n := e.store.Calls("CheckUser")
			e.check(t, alice, nil)
			return e.store.Calls("CheckUser") == n
		})
		e.store.Down(licet.Errorf(licet.EUNAVAILABLE, "failover"))
		// The poll fails within a second; then checks read through and fail.
		var a *licet.Answer
		var err error
		waitFor(t, "the cache to stop answering", func() bool {
			n := e.store.Calls("OrgData")
			a, err = e.svc.Check(context.Background(), &licet.CheckRequest{OrganizationID: orgID, UserID: alice, DeviceID: "d"}, nil)
			return e.store.Calls("OrgData") > n
		})
		switch {
		case grace == 0 && (err != nil || a.Status != licet.StatusLicensed):
			t.Errorf("within the grace: %v %v; want Licensed from the cache", a, err)
		case grace < 0 && licet.ErrorCode(err) != licet.EUNAVAILABLE:
			t.Errorf("without a grace: %v %v; want unavailable", a, err)
		}
		if _, err := e.svc.Check(context.Background(), &licet.CheckRequest{OrganizationID: orgID, UserID: bob, DeviceID: "d"}, nil); licet.ErrorCode(err) != licet.EUNAVAILABLE {
			t.Errorf("a user the cache did not hold: %v; want unavailable", err)
		}
		cancel()
		<-done
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// Run writes sightings as soon as MaxPending wait, long before FlushEvery,
// and once more when it stops.
func TestRunFlushesEarlyAndOnStop(t *testing.T) {
	e := newEnv(t, 2, licet.DefaultSettings(), licensing.Config{FlushEvery: time.Hour, MaxPending: 1})
	e.store.PutUser(licet.User{OrgID: orgID, ID: alice, State: licet.UserLicensed, LicenseType: "Standard", AssignedAt: t0})
	e.store.PutUser(licet.User{OrgID: orgID, ID: bob, State: licet.UserLicensed, LicenseType: "Standard", AssignedAt: t0})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.svc.Run(ctx); close(done) }()
	e.check(t, alice, nil)
	waitFor(t, "the early flush", func() bool { return e.svc.Stats().Flushed == 1 && e.svc.Pending() == 0 })
	if u := e.store.StoredUser(orgID, alice); !u.LastSeen.Equal(t0) {
		t.Errorf("alice last seen %s", u.LastSeen)
	}
	cancel()
	<-done

	// Without MaxPending, a sighting waits for FlushEvery, or the stop.
	e = newEnv(t, 2, licet.DefaultSettings(), licensing.Config{FlushEvery: time.Hour})
	e.store.PutUser(licet.User{OrgID: orgID, ID: bob, State: licet.UserLicensed, LicenseType: "Standard", AssignedAt: t0})
	ctx, cancel = context.WithCancel(context.Background())
	done = make(chan struct{})
	go func() { e.svc.Run(ctx); close(done) }()
	e.check(t, bob, nil)
	time.Sleep(50 * time.Millisecond)
	if e.svc.Pending() != 1 {
		t.Errorf("%d pending before the stop; want 1", e.svc.Pending())
	}
	cancel()
	<-done
	if u := e.store.StoredUser(orgID, bob); !u.LastSeen.Equal(t0) || e.svc.Pending() != 0 {
		t.Errorf("after stopping: bob last seen %s, %d pending", u.LastSeen, e.svc.Pending())
	}
}

// An unknown organization and an ended subscription are answered without
// a write and without a lease.
func TestDenialsWriteNothingWithoutCause(t *testing.T) {
	e := newEnv(t, 0, licet.DefaultSettings(), licensing.Config{})
	e.store.AddPool(licet.Pool{OrgID: orgID, LicenseType: "Standard", Seats: 1, From: t0.Add(-48 * time.Hour), Until: t0.Add(-24 * time.Hour)})
	e.store.PutUser(licet.User{OrgID: orgID, ID: alice, State: licet.UserLicensed, LicenseType: "Standard", AssignedAt: t0.Add(-48 * time.Hour)})
	if a := e.check(t, alice, nil); a.Status != licet.StatusSubscriptionExpired || len(a.Lease) != 0 {
		t.Errorf("alice, pool ended: %s", a.Status)
	}
	a, err := e.svc.Check(context.Background(), &licet.CheckRequest{OrganizationID: "00000000-0000-4000-8000-000000000000", UserID: alice, DeviceID: "d"}, nil)
	if err != nil || a.Status != licet.StatusUnknownOrganization || len(a.Lease) != 0 {
		t.Errorf("unknown organization: %v %v", a, err)
	}
	if e.store.Calls("Admit") != 0 {
		t.Errorf("%d admissions; want none", e.store.Calls("Admit"))
	}
}
