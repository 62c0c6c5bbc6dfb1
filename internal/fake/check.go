// Package fake holds in-memory stand-ins for the store, one per consumer
// (fake.CheckStore for licensing, fake.MailStore for mail,
// fake.OfflineStore for offline, ...), so that each consumer has tests of
// its own above the database. A fake keeps only what its consumer reads,
// and answers as the SQL store does for it: the same copies, the same
// errors and codes, the same change notifications. What the SQL store
// does beside (audit entries, mails queued by a check) is left out; the
// contract suite (internal/storetest) holds the real store to its word.
package fake

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/licet/licet"
)

// Clock is a clock a test sets; the zero value stands at the zero time.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock makes a clock standing at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the time the clock stands at.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// Add moves the clock by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// CheckStore is what a license check reads and writes (licensing.Store):
// organizations with their pools, license types, users, the change
// counters other processes' caches poll, and Admit, which decides with
// licet.Decide and applies the decision as the SQL store does (assign,
// temporary license, reclaim, record, the cap on recorded strangers).
//
// Changes made through its setters and Admit are told to the listeners,
// as the SQL store tells them after a commit; changes made inside
// Elsewhere are not, as those of another process.
type CheckStore struct {
	clock licet.Clock

	outage
	orgs      map[string]*licet.Organization
	pools     map[string][]licet.Pool
	types     map[string]licet.LicenseType
	users     map[string]map[string]*licet.User
	granted   map[[2]string]bool // user IDs that held a temporary license, even deleted since
	seq       int64              // ChangeSeq
	userSeq   map[string]int64
	changes   []userChange
	listeners []licet.ChangeListener
	elsewhere bool // inside Elsewhere: tell no listener
	nextPool  int64

	calls map[string]int
}

type userChange struct {
	org, user string
	seq       int64
	at        time.Time
}

// NewCheckStore makes an empty store on clock (nil: the system clock).
func NewCheckStore(clock licet.Clock) *CheckStore {
	if clock == nil {
		clock = licet.SystemClock{}
	}
	return &CheckStore{clock: clock, orgs: map[string]*licet.Organization{}, pools: map[string][]licet.Pool{},
		types: map[string]licet.LicenseType{}, users: map[string]map[string]*licet.User{}, granted: map[[2]string]bool{},
		userSeq: map[string]int64{}, calls: map[string]int{}}
}

// Calls says how often the method name was called, for tests of what
// reads through and what a cache answers.
func (f *CheckStore) Calls(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[name]
}

// Elsewhere runs fn, whose changes no listener hears of: another process
// made them, and this one learns of them only by polling the counters.
func (f *CheckStore) Elsewhere(fn func()) {
	f.mu.Lock()
	f.elsewhere = true
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.elsewhere = false
		f.mu.Unlock()
	}()
	fn()
}

// enter counts a call of name and locks the store; while the store is
// down it unlocks and fails. On success the caller unlocks.
func (f *CheckStore) enter(name string) error {
	f.mu.Lock()
	f.calls[name]++
	if f.down != nil {
		err := f.down
		f.mu.Unlock()
		return err
	}
	return nil
}

// tell calls the listeners after the lock is released, as the SQL store
// does after the commit.
func (f *CheckStore) tell(orgsChanged bool, orgID string, userIDs []string) {
	if f.elsewhere {
		f.mu.Unlock()
		return
	}
	ls := slices.Clone(f.listeners)
	f.mu.Unlock()
	for _, l := range ls {
		if orgsChanged {
			l.Invalidate()
		} else {
			l.UsersChanged(orgID, userIDs)
		}
	}
}

// PutOrg creates or replaces an organization (CreatedAt defaults to now).
func (f *CheckStore) PutOrg(o licet.Organization) {
	f.mu.Lock()
	if o.CreatedAt.IsZero() {
		o.CreatedAt = f.clock.Now()
	}
	f.orgs[o.ID] = &o
	if _, ok := f.userSeq[o.ID]; !ok {
		f.userSeq[o.ID] = 0
	}
	f.seq++
	f.tell(true, "", nil)
}

// AddPool adds a pool to its organization and returns it with its ID.
func (f *CheckStore) AddPool(p licet.Pool) licet.Pool {
	f.mu.Lock()
	f.nextPool++
	p.ID = f.nextPool
	if p.CreatedAt.IsZero() {
		p.CreatedAt = f.clock.Now()
	}
	f.pools[p.OrgID] = append(f.pools[p.OrgID], p)
	f.seq++
	f.tell(true, "", nil)
	return p
}

// PutLicenseType creates or replaces a license type.
func (f *CheckStore) PutLicenseType(t licet.LicenseType) {
	f.mu.Lock()
	t.Includes = slices.Sorted(slices.Values(t.Includes))
	if t.Includes == nil {
		t.Includes = []string{}
	}
	f.types[t.Name] = t
	f.seq++
	f.tell(true, "", nil)
}

// PutUser creates or replaces a user, as an administrator's change does.
func (f *CheckStore) PutUser(u licet.User) {
	f.mu.Lock()
	if f.users[u.OrgID] == nil {
		f.users[u.OrgID] = map[string]*licet.User{}
	}
	f.users[u.OrgID][u.ID] = &u
	f.usersChangedLocked(u.OrgID, u.ID)
	f.tell(false, u.OrgID, []string{u.ID})
}

// DeleteUser deletes a user (its temporary license stays remembered).
func (f *CheckStore) DeleteUser(orgID, userID string) {
	f.mu.Lock()
	delete(f.users[orgID], userID)
	f.usersChangedLocked(orgID, userID)
	f.tell(false, orgID, []string{userID})
}

// StoredUser returns a copy of a user as stored, nil when there is none.
func (f *CheckStore) StoredUser(orgID, userID string) *licet.User {
	f.mu.Lock()
	defer f.mu.Unlock()
	return copyUser(f.users[orgID][userID])
}

// usersChangedLocked counts a change of these users of orgID and records
// them, as one committed transaction does.
func (f *CheckStore) usersChangedLocked(orgID string, userIDs ...string) {
	if len(userIDs) == 0 {
		return
	}
	f.userSeq[orgID]++
	for _, id := range userIDs {
		f.changes = append(f.changes, userChange{org: orgID, user: id, seq: f.userSeq[orgID], at: f.clock.Now()})
	}
}

// copyUser returns u as the SQL store reads it back: a copy, whose last
// sighting names neither organization nor user and is at LastSeen.
func copyUser(u *licet.User) *licet.User {
	if u == nil {
		return nil
	}
	c := *u
	c.Last.OrgID, c.Last.UserID, c.Last.At = "", "", c.LastSeen
	return &c
}

// Listen implements licensing.Store.
func (f *CheckStore) Listen(l licet.ChangeListener) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.listeners = append(f.listeners, l)
}

// OrgData implements licensing.Store: nil when the organization is unknown.
func (f *CheckStore) OrgData(_ context.Context, orgID string) (*licet.Organization, []licet.Pool, error) {
	if err := f.enter("OrgData"); err != nil {
		return nil, nil, err
	}
	defer f.mu.Unlock()
	o := f.orgs[orgID]
	if o == nil {
		return nil, nil, nil
	}
	c := *o
	c.Settings.NotificationEmails = slices.Clone(o.Settings.NotificationEmails)
	return &c, slices.Clone(f.pools[orgID]), nil
}

// LicenseTypes implements licensing.Store: by name.
func (f *CheckStore) LicenseTypes(context.Context) ([]licet.LicenseType, error) {
	if err := f.enter("LicenseTypes"); err != nil {
		return nil, err
	}
	defer f.mu.Unlock()
	return f.typesLocked(), nil
}

func (f *CheckStore) typesLocked() []licet.LicenseType {
	var out []licet.LicenseType
	for _, name := range slices.Sorted(maps.Keys(f.types)) {
		t := f.types[name]
		t.Includes = slices.Clone(t.Includes)
		out = append(out, t)
	}
	return out
}

// CheckUser implements licensing.Store: the user (nil when new) and, when
// it holds no license and is not disabled, the seats used per type.
func (f *CheckStore) CheckUser(_ context.Context, orgID, userID string) (*licet.User, map[string]int, error) {
	if err := f.enter("CheckUser"); err != nil {
		return nil, nil, err
	}
	defer f.mu.Unlock()
	u := copyUser(f.users[orgID][userID])
	if u != nil && (u.State == licet.UserLicensed || u.Disabled) {
		return u, nil, nil
	}
	return u, f.usedLocked(orgID), nil
}

// usedLocked counts the licensed users per type (disabled ones too, as
// the SQL store's seat_usage does).
func (f *CheckStore) usedLocked(orgID string) map[string]int {
	used := map[string]int{}
	for _, u := range f.users[orgID] {
		if u.State == licet.UserLicensed {
			used[u.LicenseType]++
		}
	}
	return used
}

// TemporaryStanding implements licensing.Store.
func (f *CheckStore) TemporaryStanding(_ context.Context, orgID, userID string, now time.Time) (int, bool, error) {
	if err := f.enter("TemporaryStanding"); err != nil {
		return 0, false, err
	}
	defer f.mu.Unlock()
	n, had := f.temporaryLocked(orgID, userID, now)
	return n, had, nil
}

func (f *CheckStore) temporaryLocked(orgID, userID string, now time.Time) (int, bool) {
	n := 0
	for _, u := range f.users[orgID] {
		if u.State == licet.UserTemporary && u.TemporaryUntil.After(now) {
			n++
		}
	}
	return n, f.granted[[2]string{orgID, userID}]
}

// ChangeSeq implements licensing.Store.
func (f *CheckStore) ChangeSeq(context.Context) (int64, error) {
	if err := f.enter("ChangeSeq"); err != nil {
		return 0, err
	}
	defer f.mu.Unlock()
	return f.seq, nil
}

// UserSeqs implements licensing.Store.
func (f *CheckStore) UserSeqs(context.Context) (map[string]int64, error) {
	if err := f.enter("UserSeqs"); err != nil {
		return nil, err
	}
	defer f.mu.Unlock()
	out := make(map[string]int64, len(f.userSeq))
	for org := range f.orgs {
		out[org] = f.userSeq[org]
	}
	return out, nil
}

// UserChangesSince implements licensing.Store: complete is false when the
// change right after seq was pruned.
func (f *CheckStore) UserChangesSince(_ context.Context, orgID string, seq int64) ([]string, bool, error) {
	if err := f.enter("UserChangesSince"); err != nil {
		return nil, false, err
	}
	defer f.mu.Unlock()
	if !slices.ContainsFunc(f.changes, func(c userChange) bool { return c.org == orgID && c.seq == seq+1 }) {
		return nil, false, nil
	}
	var ids []string
	for _, c := range f.changes {
		if c.org == orgID && c.seq > seq && !slices.Contains(ids, c.user) {
			ids = append(ids, c.user)
		}
	}
	return ids, true, nil
}

// PruneUserChanges implements licensing.Store.
func (f *CheckStore) PruneUserChanges(_ context.Context, before time.Time) (int64, error) {
	if err := f.enter("PruneUserChanges"); err != nil {
		return 0, err
	}
	defer f.mu.Unlock()
	n := len(f.changes)
	f.changes = slices.DeleteFunc(f.changes, func(c userChange) bool { return c.at.Before(before) })
	return int64(n - len(f.changes)), nil
}

// RecordSightings implements licensing.Store: a sighting of a user
// deleted meanwhile, or older than the user's last, is dropped. Sightings
// change no counter: caches do not hold them.
func (f *CheckStore) RecordSightings(_ context.Context, batch []licet.Sighting) error {
	if err := f.enter("RecordSightings"); err != nil {
		return err
	}
	defer f.mu.Unlock()
	for _, x := range batch {
		u := f.users[x.OrgID][x.UserID]
		if u == nil || !u.LastSeen.Before(x.At) {
			continue
		}
		if u.FirstSeen.IsZero() {
			u.FirstSeen = x.At
		}
		u.LastSeen = x.At
		u.Last = x
	}
	return nil
}

// StrangerCap is how many users recorded without a license an
// organization keeps, as the SQL store's: max(100, 10 × its active seats).
func StrangerCap(pools []licet.Pool, now time.Time) int {
	return max(100, 10*licet.ActiveSeats(pools, now))
}

// Admit implements licensing.Store: it decides under the store's lock and
// applies the decision.
func (f *CheckStore) Admit(_ context.Context, req licet.AdmitRequest) (*licet.Decision, error) {
	if err := f.enter("Admit"); err != nil {
		return nil, err
	}
	now := f.clock.Now()
	org := f.orgs[req.OrgID]
	v := &licet.CheckView{OrgURL: req.Sighting.OrganizationURL}
	if org != nil {
		v.Org, v.Pools, v.Types = org, f.pools[req.OrgID], f.typesLocked()
		v.User = copyUser(f.users[req.OrgID][req.UserID])
		if v.User == nil || (v.User.State != licet.UserLicensed && !v.User.Disabled) {
			v.Used = f.usedLocked(req.OrgID)
		}
		if licet.WantsTemporary(v) {
			v.Temporary, v.HadTemporary = f.temporaryLocked(req.OrgID, req.UserID, now)
		}
	}
	d := licet.Decide(now, v, req.Sighting.Edition)
	if org == nil {
		f.mu.Unlock()
		return d, nil
	}
	u := v.User
	if u == nil {
		u = &licet.User{OrgID: req.OrgID, ID: req.UserID, State: licet.UserUnlicensed}
	}
	switch d.Action {
	case licet.ActAssign:
		u.State, u.LicenseType, u.AssignedAt, u.AssignedBy = licet.UserLicensed, d.LicenseType, now, licet.ActorAutomatic
	case licet.ActTemporary:
		u.State, u.LicenseType, u.TemporaryUntil = licet.UserTemporary, d.LicenseType, d.Until
		f.granted[[2]string{req.OrgID, req.UserID}] = true
	case licet.ActReclaim:
		victim := f.reclaimableLocked(req.OrgID, d)
		if victim == nil {
			d = licet.NoSeatToReclaim(v.User)
			break
		}
		t := victim.LicenseType
		victim.State, victim.LicenseType, victim.AssignedAt, victim.AssignedBy = licet.UserUnlicensed, "", time.Time{}, ""
		u.State, u.LicenseType, u.AssignedAt, u.AssignedBy = licet.UserLicensed, t, now, licet.ActorAutomatic
		d.LicenseType, d.Reclaimed = t, victim.ID
		d.Until, _ = licet.ActiveUntil(now, v.Pools, t)
	}
	switch {
	case d.Action == licet.ActRecord:
		u.RecordedAt = now
	case d.Action != licet.ActNone:
		u.RecordedAt = time.Time{}
	}
	see(u, req.Sighting, now)
	if f.users[req.OrgID] == nil {
		f.users[req.OrgID] = map[string]*licet.User{}
	}
	f.users[req.OrgID][u.ID] = u
	d.User = copyUser(u)
	changed := []string{u.ID}
	if d.Reclaimed != "" {
		changed = append(changed, d.Reclaimed)
	}
	if d.Action == licet.ActRecord {
		d.Evicted = f.evictLocked(req.OrgID, v.Pools, now)
	}
	f.usersChangedLocked(req.OrgID, changed...)
	f.tell(false, req.OrgID, changed)
	return d, nil
}

// reclaimableLocked finds the licensed user of a candidate type idle
// longest, if idle since before d.ReclaimBefore; a user never seen counts
// as idle since the assignment.
func (f *CheckStore) reclaimableLocked(orgID string, d *licet.Decision) *licet.User {
	idle := func(u *licet.User) time.Time {
		if u.LastSeen.After(u.AssignedAt) {
			return u.LastSeen
		}
		return u.AssignedAt
	}
	var best *licet.User
	for _, u := range f.users[orgID] {
		if u.State != licet.UserLicensed || !slices.Contains(d.Candidates, u.LicenseType) || !idle(u).Before(d.ReclaimBefore) {
			continue
		}
		if best == nil || idle(u).Before(idle(best)) || (idle(u).Equal(idle(best)) && u.ID < best.ID) {
			best = u
		}
	}
	return best
}

// evictLocked deletes the oldest users recorded without a license beyond
// the cap and says how many.
func (f *CheckStore) evictLocked(orgID string, pools []licet.Pool, now time.Time) int {
	var strangers []*licet.User
	for _, u := range f.users[orgID] {
		if !u.RecordedAt.IsZero() {
			strangers = append(strangers, u)
		}
	}
	extra := len(strangers) - StrangerCap(pools, now)
	if extra <= 0 {
		return 0
	}
	slices.SortFunc(strangers, func(a, b *licet.User) int {
		if c := a.RecordedAt.Compare(b.RecordedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	for _, u := range strangers[:extra] {
		delete(f.users[orgID], u.ID)
	}
	return extra
}

// see records a sighting on the user, as the SQL store does.
func see(u *licet.User, s licet.Sighting, now time.Time) {
	if s.At.IsZero() {
		s.At = now
	}
	if u.FirstSeen.IsZero() {
		u.FirstSeen = s.At
	}
	if s.At.After(u.LastSeen) {
		u.LastSeen = s.At
		u.Last = s
	}
}
