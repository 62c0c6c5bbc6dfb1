// Package storetest is the contract every licet.Store keeps, as one test
// suite that runs against each database, and a clock tests can move.
package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/licet/licet"
)

// Clock is a licet.Clock that tests set and move: stopped at a time, or
// running with real time plus the moves.
type Clock struct {
	mu      sync.Mutex
	t       time.Time
	running bool
	offset  time.Duration
}

// NewClock returns a clock stopped at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// NewRunningClock returns a clock that runs with real time.
func NewRunningClock() *Clock { return &Clock{running: true} }

func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running {
		return time.Now().Add(c.offset)
	}
	return c.t
}

// Add moves the clock.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
	c.t = c.t.Add(d)
}

// Opener opens a fresh, empty store that uses clock.
type Opener func(t *testing.T, clock licet.Clock) licet.Store

// Start is where every suite's clock starts.
var Start = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

// GUID makes the n-th test GUID of a kind (o for organizations, u for users).
func GUID(kind byte, n int) string {
	prefix := 0xA
	if kind == 'u' {
		prefix = 0xB
	}
	return fmt.Sprintf("%08X-0000-4000-8000-%X%011X", n, prefix, n)
}

// Run runs the contract on stores open makes.
func Run(t *testing.T, open Opener) {
	t.Run("Organizations", func(t *testing.T) { testOrganizations(t, open) })
	t.Run("ConcurrentAdmitNeverOverAssigns", func(t *testing.T) { testConcurrentAdmit(t, open) })
	t.Run("Reclaim", func(t *testing.T) { testReclaim(t, open) })
	t.Run("ChangeUser", func(t *testing.T) { testChangeUser(t, open) })
	t.Run("Sightings", func(t *testing.T) { testSightings(t, open) })
	t.Run("UsersFilterAndPage", func(t *testing.T) { testUsers(t, open) })
	t.Run("PoolsAndTypes", func(t *testing.T) { testPools(t, open) })
	t.Run("BatchIsAllOrNothing", func(t *testing.T) { testBatch(t, open) })
	t.Run("SeatCountsMatchUsers", func(t *testing.T) { testSeatCounts(t, open) })
	t.Run("CheckUserReadsTheUserAndTheSeatsUsed", func(t *testing.T) { testCheckUser(t, open) })
	t.Run("OutboxAndSubscriptions", func(t *testing.T) { testOutbox(t, open) })
	t.Run("ConsentAndSendTimeChecks", func(t *testing.T) { testConsent(t, open) })
	t.Run("Privacy", func(t *testing.T) { testPrivacy(t, open) })
	t.Run("FirstMailAtOnceThenBoundedDigests", func(t *testing.T) { testDigests(t, open) })
	t.Run("TemporaryAllowanceAndOnce", func(t *testing.T) { testTemporary(t, open) })
	t.Run("UnlicensedUsersCapped", func(t *testing.T) { testStrangerCap(t, open) })
	t.Run("UnlicensedUsersCappedInGroups", func(t *testing.T) { testStrangerCapConcurrent(t, open) })
	t.Run("ActivityAlertAtMostHourly", func(t *testing.T) { testActivityAlert(t, open) })
	t.Run("OnlyTheNewestLinkSetsThePassword", func(t *testing.T) { testAdminLinks(t, open) })
	t.Run("SingleSignOn", func(t *testing.T) { testSSO(t, open) })
	t.Run("SessionsExpireAndEnd", func(t *testing.T) { testSessions(t, open) })
	t.Run("InviteLinksExpireAndWorkOnce", func(t *testing.T) { testInviteLinks(t, open) })
	t.Run("APITokensLastUntilRevoked", func(t *testing.T) { testAdminTokens(t, open) })
	t.Run("OfflineIssues", func(t *testing.T) { testOfflineIssues(t, open) })
	t.Run("ReplacedOfflineDocumentsPrunedOnceExpired", func(t *testing.T) { testOfflinePrune(t, open) })
}

func testAdminLinks(t *testing.T, open Opener) {
	s, clk, org := setup(t, open, 1, nil)
	ctx := context.Background()
	for _, h := range []string{"first", "second"} {
		if _, err := s.AddAdmin(ctx, org, "alice@customer.example", h, clk.Now().Add(time.Hour), "op"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.SetAdminPassword(ctx, "first", "hash-by-the-old-link"); licet.ErrorCode(err) != licet.ENOTFOUND {
		t.Errorf("the older link set the password: %v", err)
	}
	a, err := s.AdminByLink(ctx, "second")
	if err != nil {
		t.Fatalf("the newest link: %v", err)
	}
	if _, err := s.AddAdmin(ctx, org, "alice@customer.example", "reset", clk.Now().Add(time.Hour), "op"); err != nil {
		t.Fatal(err)
	}
	if err := s.ChangeAdminPassword(ctx, a.ID, "hash-changed-by-alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AdminByLink(ctx, "reset"); licet.ErrorCode(err) != licet.ENOTFOUND {
		t.Errorf("a reset link outlived the password change: %v", err)
	}
	if got, _ := s.AdminByEmail(ctx, "alice@customer.example"); got == nil || got.PasswordHash != "hash-changed-by-alice" {
		t.Errorf("password hash %v", got)
	}
}

func setup(t *testing.T, open Opener, seats int, mod func(*licet.Settings)) (licet.Store, *Clock, string) {
	t.Helper()
	clk := NewClock(Start)
	s := open(t, clk)
	ctx := context.Background()
	o := &licet.Organization{ID: GUID('o', 1), Name: "testcrm", URL: "https://testcrm.example.net", Settings: licet.DefaultSettings()}
	if mod != nil {
		mod(&o.Settings)
	}
	if err := s.CreateOrganization(ctx, o, licet.ActorOperator); err != nil {
		t.Fatal(err)
	}
	if seats > 0 {
		if err := s.AddPool(ctx, &licet.Pool{OrgID: o.ID, LicenseType: "Standard", Seats: seats, From: Start}, licet.ActorOperator); err != nil {
			t.Fatal(err)
		}
	}
	return s, clk, o.ID
}

func admit(t *testing.T, s licet.Store, clk *Clock, org, user string) *licet.Decision {
	t.Helper()
	d, err := s.Admit(context.Background(), licet.AdmitRequest{OrgID: org, UserID: user,
		Sighting: licet.Sighting{OrgID: org, UserID: user, At: clk.Now(), DeviceID: "dev-" + user}})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func used(t *testing.T, s licet.Store, org, typ string) int {
	t.Helper()
	counts, err := s.SeatCounts(context.Background(), org)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range counts {
		if c.LicenseType == typ {
			return c.Used
		}
	}
	return 0
}

func testOrganizations(t *testing.T, open Opener) {
	s, _, org := setup(t, open, 0, nil)
	ctx := context.Background()
	err := s.CreateOrganization(ctx, &licet.Organization{ID: org, Name: "again", URL: "https://x.example"}, licet.ActorOperator)
	if licet.ErrorCode(err) != licet.ECONFLICT {
		t.Errorf("duplicate organization: %v", err)
	}
	if _, err := s.Organization(ctx, GUID('o', 99)); licet.ErrorCode(err) != licet.ENOTFOUND {
		t.Errorf("unknown organization: %v", err)
	}
	on, days := false, 30
	emails := []string{"a@example.com", "b@example.com"}
	o, err := s.UpdateOrganization(ctx, org, licet.SettingsPatch{AutoAssign: &on, FreeUnusedDays: &days, NotificationEmails: &emails}, "admin@example.com")
	if err != nil {
		t.Fatal(err)
	}
	o2, err := s.Organization(ctx, org)
	if err != nil {
		t.Fatal(err)
	}
	if o2.Settings.AutoAssign || o2.Settings.FreeUnusedDays != 30 || len(o2.Settings.NotificationEmails) != 2 || o.Settings.FreeUnusedDays != 30 {
		t.Errorf("settings not kept: %+v", o2.Settings)
	}
	ev, err := s.Audit(ctx, org, licet.AuditFilter{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(ev) < 2 || ev[0].Action != "organization.update" || ev[0].Actor != "admin@example.com" {
		t.Errorf("audit: %+v", ev)
	}
	all, err := s.Organizations(ctx)
	if err != nil || len(all) != 1 {
		t.Errorf("organizations: %v %v", all, err)
	}
}

func testConcurrentAdmit(t *testing.T, open Opener) {
	s, clk, org := setup(t, open, 10, nil)
	var wg sync.WaitGroup
	results := make(chan licet.Status, 50)
	for i := range 50 {
		wg.Go(func() {
			d, err := s.Admit(context.Background(), licet.AdmitRequest{OrgID: org, UserID: GUID('u', i),
				Sighting: licet.Sighting{At: clk.Now(), DeviceID: "d"}})
			if err != nil {
				t.Error(err)
				return
			}
			results <- d.Status
		})
	}
	wg.Wait()
	close(results)
	n := map[licet.Status]int{}
	for st := range results {
		n[st]++
	}
	if n[licet.StatusLicensed] != 10 || n[licet.StatusNoLicenseAvailable] != 40 {
		t.Errorf("statuses %v; want 10 Licensed, 40 NoLicenseAvailable", n)
	}
	if u := used(t, s, org, "Standard"); u != 10 {
		t.Errorf("used %d; want 10", u)
	}
	_, total, err := s.Users(context.Background(), org, licet.UserFilter{})
	if err != nil || total != 50 {
		t.Errorf("users recorded %d (%v); want all 50", total, err)
	}
}

func testReclaim(t *testing.T, open Opener) {
	s, clk, org := setup(t, open, 2, func(st *licet.Settings) { st.FreeUnusedDays = 90 })
	ctx := context.Background()
	a, b, c := GUID('u', 1), GUID('u', 2), GUID('u', 3)
	admit(t, s, clk, org, a)
	clk.Add(10 * day)
	admit(t, s, clk, org, b)
	clk.Add(85 * day) // a unseen 95 days, b 85
	if d := admit(t, s, clk, org, c); d.Status != licet.StatusLicensed || d.Reclaimed != a || d.LicenseType != "Standard" {
		t.Fatalf("c: %s reclaimed %q type %q; want Licensed from %s", d.Status, d.Reclaimed, d.LicenseType, a)
	}
	ua, err := s.User(ctx, org, a)
	if err != nil || ua.State != licet.UserUnlicensed {
		t.Errorf("a after reclaim: %+v %v", ua, err)
	}
	if d := admit(t, s, clk, org, a); d.Status != licet.StatusNoLicenseAvailable {
		t.Errorf("a again: %s; want NoLicenseAvailable (b is only 85 days idle)", d.Status)
	}
	if u := used(t, s, org, "Standard"); u != 2 {
		t.Errorf("used %d", u)
	}
	ev, _ := s.Audit(ctx, org, licet.AuditFilter{Limit: 20})
	found := false
	for _, e := range ev {
		found = found || (e.Action == "user.reclaim" && e.UserID == a && e.Actor == licet.ActorAutomatic)
	}
	if !found {
		t.Errorf("no reclaim in the audit log: %+v", ev)
	}
}

func testChangeUser(t *testing.T, open Opener) {
	s, clk, org := setup(t, open, 1, func(st *licet.Settings) { st.AutoAssign = false })
	ctx := context.Background()
	a, b := GUID('u', 1), GUID('u', 2)
	if _, err := s.ChangeUser(ctx, org, a, licet.ActionAdd, "", "op"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ChangeUser(ctx, org, a, licet.ActionAdd, "", "op"); licet.ErrorCode(err) != licet.ECONFLICT {
		t.Errorf("adding twice: %v", err)
	}
	if u, err := s.ChangeUser(ctx, org, a, licet.ActionAssign, "", "op"); err != nil || u.State != licet.UserLicensed || u.LicenseType != "Standard" || u.AssignedBy != "op" {
		t.Fatalf("assign: %+v %v", u, err)
	}
	if _, err := s.ChangeUser(ctx, org, b, licet.ActionAssign, "Standard", "op"); licet.ErrorCode(err) != licet.ECONFLICT {
		t.Errorf("assign beyond the seats: %v", err)
	}
	if _, err := s.ChangeUser(ctx, org, a, licet.ActionDisable, "", "op"); err != nil {
		t.Fatal(err)
	}
	if d := admit(t, s, clk, org, a); d.Status != licet.StatusUserDisabled {
		t.Errorf("disabled user's check: %s", d.Status)
	}
	if _, err := s.ChangeUser(ctx, org, b, licet.ActionAssign, "Standard", "op"); err != nil {
		t.Errorf("the disabled user's seat should be free: %v", err)
	}
	if _, err := s.ChangeUser(ctx, org, a, licet.ActionAssign, "", "op"); licet.ErrorCode(err) != licet.ECONFLICT {
		t.Errorf("assigning to a disabled user: %v", err)
	}
	if _, err := s.ChangeUser(ctx, org, a, licet.ActionEnable, "", "op"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ChangeUser(ctx, org, b, licet.ActionDelete, "", "op"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.User(ctx, org, b); licet.ErrorCode(err) != licet.ENOTFOUND {
		t.Errorf("deleted user: %v", err)
	}
	if u := used(t, s, org, "Standard"); u != 0 {
		t.Errorf("used %d after delete", u)
	}
	if _, err := s.ChangeUser(ctx, org, GUID('u', 9), licet.ActionDisable, "", "op"); licet.ErrorCode(err) != licet.ENOTFOUND {
		t.Errorf("unknown user: %v", err)
	}
	if _, err := s.ChangeUser(ctx, GUID('o', 9), a, licet.ActionAdd, "", "op"); licet.ErrorCode(err) != licet.ENOTFOUND {
		t.Errorf("unknown org: %v", err)
	}
}

func testSightings(t *testing.T, open Opener) {
	s, clk, org := setup(t, open, 5, nil)
	ctx := context.Background()
	a := GUID('u', 1)
	admit(t, s, clk, org, a)
	first := clk.Now()
	clk.Add(time.Hour)
	later := licet.Sighting{OrgID: org, UserID: a, At: clk.Now(), DeviceID: "new-device", Version: "7.0"}
	older := licet.Sighting{OrgID: org, UserID: a, At: first.Add(time.Minute), DeviceID: "stale"}
	gone := licet.Sighting{OrgID: org, UserID: GUID('u', 77), At: clk.Now(), DeviceID: "x"}
	if err := s.RecordSightings(ctx, []licet.Sighting{later, older, gone}); err != nil {
		t.Fatal(err)
	}
	u, err := s.User(ctx, org, a)
	if err != nil {
		t.Fatal(err)
	}
	if !u.LastSeen.Equal(later.At) || u.Last.DeviceID != "new-device" || u.Last.Version != "7.0" || !u.FirstSeen.Equal(first) {
		t.Errorf("after sightings: first %v last %v device %q", u.FirstSeen, u.LastSeen, u.Last.DeviceID)
	}
	if _, err := s.User(ctx, org, GUID('u', 77)); licet.ErrorCode(err) != licet.ENOTFOUND {
		t.Errorf("a sighting must not create a user: %v", err)
	}

	// A flush of many users (more than one statement takes), where some
	// are seen twice: each user ends with its newest sighting, first seen
	// at its earliest.
	const many = 450
	base := clk.Now()
	var batch []licet.Sighting
	for i := range many {
		id := GUID('u', 1000+i)
		if _, err := s.ChangeUser(ctx, org, id, licet.ActionAdd, "", "op"); err != nil {
			t.Fatal(err)
		}
		at := base.Add(time.Duration(i) * time.Second)
		if i%11 == 0 {
			batch = append(batch, licet.Sighting{OrgID: org, UserID: id, At: at.Add(time.Hour), DeviceID: "newer"})
		}
		batch = append(batch, licet.Sighting{OrgID: org, UserID: id, At: at, DeviceID: fmt.Sprint("d", i), Version: "v"})
		if i%7 == 0 {
			batch = append(batch, licet.Sighting{OrgID: org, UserID: id, At: at.Add(-time.Minute), DeviceID: "older"})
		}
	}
	if err := s.RecordSightings(ctx, batch); err != nil {
		t.Fatal(err)
	}
	for i := range many {
		u, err := s.User(ctx, org, GUID('u', 1000+i))
		if err != nil {
			t.Fatal(err)
		}
		at := base.Add(time.Duration(i) * time.Second)
		last, device, first := at, fmt.Sprint("d", i), at
		if i%11 == 0 {
			last, device = at.Add(time.Hour), "newer"
		}
		if i%7 == 0 {
			first = at.Add(-time.Minute)
		}
		if !u.LastSeen.Equal(last) || u.Last.DeviceID != device || !u.FirstSeen.Equal(first) {
			t.Fatalf("user %d after a flush of %d: first %v last %v device %q; want %v, %v, %q", i, many, u.FirstSeen, u.LastSeen, u.Last.DeviceID, first, last, device)
		}
	}

	// A flush whose context is done says so and writes none of its users.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	for i := range batch {
		batch[i].At, batch[i].DeviceID = batch[i].At.Add(24*time.Hour), "cancelled"
	}
	if err := s.RecordSightings(cctx, batch); err == nil {
		t.Error("a flush under a cancelled context reported success")
	}
	for i := range many {
		if u, err := s.User(ctx, org, GUID('u', 1000+i)); err != nil || u.Last.DeviceID == "cancelled" {
			t.Fatalf("user %d after a cancelled flush: %+v (%v)", i, u.Last, err)
		}
	}
}

func testUsers(t *testing.T, open Opener) {
	s, clk, org := setup(t, open, 3, nil)
	ctx := context.Background()
	for i := range 5 {
		admit(t, s, clk, org, GUID('u', i))
	}
	users, total, err := s.Users(ctx, org, licet.UserFilter{State: licet.UserLicensed, Limit: 2, Offset: 1})
	if err != nil || total != 3 || len(users) != 2 || users[0].ID != GUID('u', 1) {
		t.Errorf("licensed page: %d of %d (%v)", len(users), total, err)
	}
	if _, total, _ := s.Users(ctx, org, licet.UserFilter{State: licet.UserUnlicensed}); total != 2 {
		t.Errorf("unlicensed: %d", total)
	}
	if users, total, _ := s.Users(ctx, org, licet.UserFilter{Search: GUID('u', 4)[:8]}); total != 1 || users[0].ID != GUID('u', 4) {
		t.Errorf("search: %d", total)
	}
	if _, total, _ := s.Users(ctx, org, licet.UserFilter{Search: "%"}); total != 0 {
		t.Errorf("a LIKE wildcard must match literally: %d", total)
	}
	// Paging by cursor: the two after the first, then the page before the last.
	after, _, _ := s.Users(ctx, org, licet.UserFilter{After: GUID('u', 0), Limit: 2})
	before, _, _ := s.Users(ctx, org, licet.UserFilter{Before: GUID('u', 4), Limit: 2})
	if len(after) != 2 || after[0].ID != GUID('u', 1) || after[1].ID != GUID('u', 2) ||
		len(before) != 2 || before[0].ID != GUID('u', 2) || before[1].ID != GUID('u', 3) {
		t.Errorf("cursor paging: after %v, before %v", ids(after), ids(before))
	}
	ev, _ := s.Audit(ctx, org, licet.AuditFilter{User: GUID('u', 2)[:8], Action: "assign"})
	if len(ev) != 1 || ev[0].UserID != GUID('u', 2) {
		t.Errorf("audit filtered by user and action: %+v", ev)
	}
}

func testPools(t *testing.T, open Opener) {
	s, clk, org := setup(t, open, 0, nil)
	ctx := context.Background()
	if err := s.AddPool(ctx, &licet.Pool{OrgID: GUID('o', 9), LicenseType: "Standard", Seats: 1, From: Start}, "op"); licet.ErrorCode(err) != licet.ENOTFOUND {
		t.Errorf("pool for unknown org: %v", err)
	}
	if err := s.PutLicenseType(ctx, licet.LicenseType{Name: "Inspections", Includes: []string{"Standard"}}, "op"); err != nil {
		t.Fatal(err)
	}
	p := &licet.Pool{OrgID: org, LicenseType: "Inspections", Seats: 2, From: Start, Until: Start.Add(30 * day)}
	if err := s.AddPool(ctx, p, "op"); err != nil {
		t.Fatal(err)
	}
	if d := admit(t, s, clk, org, GUID('u', 1)); d.LicenseType != "Inspections" || !d.Until.Equal(p.Until) {
		t.Errorf("assigned %q until %v", d.LicenseType, d.Until)
	}
	two := 1
	if _, err := s.UpdatePool(ctx, org, p.ID, licet.PoolChange{Seats: &two}, "op"); err != nil {
		t.Fatal(err)
	}
	if d := admit(t, s, clk, org, GUID('u', 2)); d.Status != licet.StatusNoLicenseAvailable {
		t.Errorf("after shrinking the pool: %s", d.Status)
	}
	if _, err := s.UpdatePool(ctx, org, 9999, licet.PoolChange{Seats: &two}, "op"); licet.ErrorCode(err) != licet.ENOTFOUND {
		t.Errorf("unknown pool: %v", err)
	}
	clk.Add(31 * day)
	if d := admit(t, s, clk, org, GUID('u', 1)); d.Status != licet.StatusSubscriptionExpired {
		t.Errorf("after the term: %s", d.Status)
	}
	counts, _ := s.SeatCounts(ctx, org)
	if len(counts) != 1 || counts[0].Total != 0 || counts[0].Used != 1 || counts[0].Available != 0 {
		t.Errorf("counts after the term: %+v", counts)
	}
	types, _ := s.LicenseTypes(ctx)
	if len(types) != 2 {
		t.Errorf("types: %+v", types)
	}
}

func testBatch(t *testing.T, open Opener) {
	s, _, org := setup(t, open, 3, func(st *licet.Settings) { st.AutoAssign = false })
	ctx := context.Background()
	ids := []string{GUID('u', 1), GUID('u', 2), GUID('u', 3), GUID('u', 4)}
	if _, err := s.ChangeUsers(ctx, org, ids, licet.ActionAssign, "Standard", "op"); licet.ErrorCode(err) != licet.ECONFLICT {
		t.Fatalf("4 users on 3 seats: %v", err)
	}
	if _, total, _ := s.Users(ctx, org, licet.UserFilter{}); total != 0 {
		t.Errorf("a refused batch left %d users", total)
	}
	us, err := s.ChangeUsers(ctx, org, ids[:3], licet.ActionAssign, "", "op")
	if err != nil || len(us) != 3 || used(t, s, org, "Standard") != 3 {
		t.Fatalf("3 users on 3 seats: %d %v", len(us), err)
	}
	if _, err := s.ChangeUsers(ctx, org, ids[:3], licet.ActionDelete, "", "op"); err != nil {
		t.Fatal(err)
	}
	if used(t, s, org, "Standard") != 0 {
		t.Error("a batch delete left seats used")
	}
	ev, _ := s.Audit(ctx, org, licet.AuditFilter{Limit: 100})
	n := 0
	for _, e := range ev {
		if e.Action == "user.assign" || e.Action == "user.delete" {
			n++
		}
	}
	if n != 6 {
		t.Errorf("%d audit events for 3 assignments and 3 deletions", n)
	}
}

// testSeatCounts drives many kinds of changes and checks that the seats
// counted as used always equal the licensed users listed.
func testSeatCounts(t *testing.T, open Opener) {
	s, clk, org := setup(t, open, 15, func(st *licet.Settings) { st.FreeUnusedDays = 30 })
	ctx := context.Background()
	if err := s.AddPool(ctx, &licet.Pool{OrgID: org, LicenseType: "Premium", Seats: 5, From: Start}, "op"); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	actions := []licet.UserAction{licet.ActionAssign, licet.ActionUnassign, licet.ActionDisable, licet.ActionEnable, licet.ActionDelete}
	for i := range 400 {
		u := GUID('u', r.IntN(40))
		switch r.IntN(3) {
		case 0:
			admit(t, s, clk, org, u)
		case 1:
			typ := []string{"", "Standard", "Premium"}[r.IntN(3)]
			s.ChangeUser(ctx, org, u, actions[r.IntN(len(actions))], typ, "op") // refusals are fine
		case 2:
			clk.Add(time.Duration(r.IntN(5)) * day)
		}
		if i%50 == 49 {
			for _, typ := range []string{"Standard", "Premium"} {
				_, n, err := s.Users(ctx, org, licet.UserFilter{State: licet.UserLicensed, Type: typ})
				if err != nil {
					t.Fatal(err)
				}
				if got := used(t, s, org, typ); got != n {
					t.Fatalf("after %d changes: %d %s seats counted used, %d licensed users", i+1, got, typ, n)
				}
			}
		}
	}
}

func testOutbox(t *testing.T, open Opener) {
	s, clk, org := setup(t, open, 5, func(st *licet.Settings) {
		st.Notifications, st.NotificationEmails, st.NotifyWindow = true, []string{"it@customer.example"}, 0
	})
	ctx := context.Background()
	if _, err := s.AddAdmin(ctx, org, "Boss@Customer.example", "linkhash", Start.Add(day), "op"); err != nil {
		t.Fatal(err)
	}
	admit(t, s, clk, org, GUID('u', 1))
	mails, err := s.ClaimMail(ctx, 10, time.Minute, 0)
	if err != nil || len(mails) != 2 {
		t.Fatalf("claimed %d mails (%v); want one per recipient", len(mails), err)
	}
	if again, _ := s.ClaimMail(ctx, 10, time.Minute, 0); len(again) != 0 {
		t.Errorf("claimed mails were handed out twice")
	}
	if err := s.MailSent(ctx, mails[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := s.MailFailed(ctx, mails[1].ID, "550 no", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if failed, _ := s.Mails(ctx, "failed", 10); len(failed) != 1 || failed[0].LastError != "550 no" {
		t.Errorf("failed mails: %+v", failed)
	}
	for _, addr := range []string{"it@customer.example", "boss@customer.example"} {
		subs, err := s.Subscriptions(ctx, addr)
		if err != nil || len(subs) != 1 || !subs[0].Subscribed {
			t.Fatalf("subscriptions of %s: %+v %v", addr, subs, err)
		}
	}
	if err := s.SetSubscription(ctx, org, "boss@customer.example", false); err != nil {
		t.Fatal(err)
	}
	if subs, _ := s.Subscriptions(ctx, "boss@customer.example"); len(subs) != 1 || subs[0].Subscribed {
		t.Errorf("after unsubscribing: %+v", subs)
	}
	admit(t, s, clk, org, GUID('u', 2))
	if mails, _ := s.ClaimMail(ctx, 10, time.Minute, 0); len(mails) != 1 || mails[0].Address != "it@customer.example" {
		t.Errorf("after unsubscribing, mails to %v", mails)
	}
	a, b := s.Secret(ctx, "x")
	c, _ := s.Secret(ctx, "x")
	if b != nil || len(a) != 32 || string(a) != string(c) {
		t.Errorf("secret not kept: %v", b)
	}
}

func ids(us []*licet.User) []string {
	var out []string
	for _, u := range us {
		out = append(out, u.ID)
	}
	return out
}

// testTemporary: temporary licenses within the allowance, once per user ID
// even after a deletion, concurrently too.
func testTemporary(t *testing.T, open Opener) {
	s, clk, org := setup(t, open, 20, func(st *licet.Settings) { st.AutoAssign = false }) // allowance 2
	ctx := context.Background()
	var wg sync.WaitGroup
	var mu sync.Mutex
	granted := 0
	for i := range 10 {
		wg.Go(func() {
			d := admit(t, s, clk, org, GUID('u', i))
			if d.Status == licet.StatusTemporary {
				mu.Lock()
				granted++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if granted != 2 {
		t.Fatalf("%d temporary licenses granted at once; the allowance is 2", granted)
	}
	holders, _, err := s.TemporaryStanding(ctx, org, GUID('u', 99), clk.Now())
	if err != nil || holders != 2 {
		t.Fatalf("holders %d, %v", holders, err)
	}
	us, _, err := s.Users(ctx, org, licet.UserFilter{State: licet.UserTemporary})
	if err != nil || len(us) != 2 {
		t.Fatalf("%d temporary users, %v", len(us), err)
	}
	if _, err := s.ChangeUser(ctx, org, us[0].ID, licet.ActionDelete, "", licet.ActorOperator); err != nil {
		t.Fatal(err)
	}
	if _, had, err := s.TemporaryStanding(ctx, org, us[0].ID, clk.Now()); err != nil || !had {
		t.Errorf("the deleted holder is not remembered: %v %v", had, err)
	}
	if d := admit(t, s, clk, org, us[0].ID); d.Status != licet.StatusNotAssigned {
		t.Errorf("the deleted holder got %s", d.Status)
	}
	if d := admit(t, s, clk, org, GUID('u', 50)); d.Status != licet.StatusTemporary {
		t.Errorf("a new user after the deletion got %s (%s)", d.Status, d.Message)
	}
	// Expired licenses leave the allowance.
	clk.Add(15 * 24 * time.Hour)
	if holders, _, _ := s.TemporaryStanding(ctx, org, GUID('u', 99), clk.Now()); holders != 0 {
		t.Errorf("%d holders after every license expired", holders)
	}
}

// testStrangerCap: users recorded without a license are capped at
// max(100, 10 × active seats); the oldest go first, licensed users and
// users an administrator added never.
func testStrangerCap(t *testing.T, open Opener) {
	s, clk, org := setup(t, open, 2, nil) // cap 100
	ctx := context.Background()
	for i := range 2 {
		if d := admit(t, s, clk, org, GUID('u', 1000+i)); d.Status != licet.StatusLicensed {
			t.Fatal(d.Status)
		}
	}
	if _, err := s.ChangeUser(ctx, org, GUID('u', 2000), licet.ActionAdd, "", licet.ActorOperator); err != nil {
		t.Fatal(err)
	}
	for i := range 130 {
		clk.Add(time.Second)
		if d := admit(t, s, clk, org, GUID('u', i)); d.Status != licet.StatusNoLicenseAvailable {
			t.Fatal(d.Status)
		}
	}
	us, total, err := s.Users(ctx, org, licet.UserFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if total != 103 {
		t.Errorf("%d users; want 100 strangers, 2 licensed and 1 added", total)
	}
	have := map[string]bool{}
	for _, u := range us {
		have[u.ID] = true
	}
	if have[GUID('u', 29)] || !have[GUID('u', 30)] || !have[GUID('u', 129)] || !have[GUID('u', 2000)] || !have[GUID('u', 1000)] {
		t.Error("the wrong users were evicted: the oldest strangers go, nobody else")
	}
}

// testStrangerCapConcurrent: the cap holds exactly when refusals arrive
// together (group commit keeps their count in the transaction), also when
// some of them are strangers checking again.
func testStrangerCapConcurrent(t *testing.T, open Opener) {
	s, clk, org := setup(t, open, 2, nil) // cap 100
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 20 {
				// Every fifth check is a stranger of an earlier round again.
				user := GUID('u', g*20+i)
				if i%5 == 4 {
					user = GUID('u', g*20+i-3)
				}
				if _, err := s.Admit(ctx, licet.AdmitRequest{OrgID: org, UserID: user,
					Sighting: licet.Sighting{OrgID: org, UserID: user, At: clk.Now(), DeviceID: "d"}}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	us, total, err := s.Users(ctx, org, licet.UserFilter{})
	if err != nil {
		t.Fatal(err)
	}
	licensed := 0
	for _, u := range us {
		if u.State == licet.UserLicensed {
			licensed++
		}
	}
	if licensed != 2 || total != 102 {
		t.Errorf("%d users, %d licensed; want 100 strangers and 2 licensed", total, licensed)
	}
}

// testActivityAlert: the unusual-activity mail is queued at most once an
// hour per organization, to its subscribed addresses, notifications on or
// not, and audited.
func testActivityAlert(t *testing.T, open Opener) {
	s, clk, org := setup(t, open, 5, func(st *licet.Settings) { st.Notifications = false })
	ctx := context.Background()
	if _, err := s.AddAdmin(ctx, org, "alice@customer.example", "link", clk.Now().Add(time.Hour), licet.ActorOperator); err != nil {
		t.Fatal(err)
	}
	rep := licet.ActivityReport{Minute: clk.Now().Truncate(time.Minute), Refused: 51, Admitted: 200, Threshold: 50,
		Sources: []licet.SourceCount{{Address: "192.0.2.7", Checks: 240}}}
	for i, want := range []bool{true, false} {
		sent, err := s.AlertActivity(ctx, org, rep, clk.Now())
		if err != nil || sent != want {
			t.Fatalf("alert %d: sent %v, %v; want %v", i, sent, err, want)
		}
		clk.Add(59 * time.Minute)
	}
	if sent, err := s.AlertActivity(ctx, org, rep, clk.Now()); err != nil || !sent {
		t.Fatalf("after the hour: %v %v", sent, err)
	}
	ms, err := s.Mails(ctx, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range ms {
		if m.Kind == licet.MailActivity {
			n++
			if m.Address != "alice@customer.example" || m.Activity == nil || m.Activity.Refused != 51 || m.Activity.Sources[0].Address != "192.0.2.7" {
				t.Errorf("alert mail %+v", m)
			}
		}
	}
	if n != 2 {
		t.Errorf("%d alert mails; want 2", n)
	}
	if _, err := s.AlertActivity(ctx, GUID('o', 99), rep, clk.Now()); licet.ErrorCode(err) != licet.ENOTFOUND {
		t.Errorf("an unknown organization: %v", err)
	}
}
