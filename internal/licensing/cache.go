package licensing

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/licet/licet"
)

// cache keeps organizations, their pools, the license types, and the users
// that hold a license or are disabled in memory, so that their checks read
// nothing from the database.
//
// It is coherent across processes by polling the store's change counter
// (ChangeSeq), which every change to those rows bumps in its own
// transaction: a new value drops everything. The same way works on SQLite,
// on a PostgreSQL primary shared by many processes, and on a hot standby,
// which could not LISTEN to the primary's notifications anyway.
//
// Users are dropped one by one: every change to a user bumps its
// organization's user_seq and records the user (UserChangesSince); the
// poller drops exactly those. The organization's row lock makes one
// organization's changes commit in seq order, so none is skipped. The cache
// answers only while its last poll is younger than maxAge; otherwise (the
// database unreachable, the poller stuck) every check reads through; and
// only if that read fails because the database cannot be reached (a
// failover), a user that held a license or was disabled at the last good
// poll is answered from what the cache holds, for up to staleGrace: no
// change can commit while no database accepts writes.
type cache struct {
	store  Store
	logger *slog.Logger
	// every is the poll interval; maxAge bounds how stale an answer may be.
	every, maxAge time.Duration

	staleGrace time.Duration

	mu        sync.RWMutex
	polledAt  time.Time // the last good poll
	seq       int64
	gen       uint64 // bumped on every drop, to refuse fills read before it
	freshTill time.Time
	orgs      map[string]orgEntry
	types     []licet.LicenseType
	typesOK   bool

	// userSeq is, per organization, the user_seq this cache has caught up
	// with; users holds its cached users. A user is cached only once its
	// organization's user_seq is known, and only if that did not move
	// while the user was read.
	userSeq  map[string]int64
	epoch    map[string]uint64 // bumped whenever an organization's users may have changed
	users    map[string]map[string]*licet.User
	nUsers   int
	maxUsers int

	// reads are the organization reads under way: checks that miss the
	// same organization at the same generation wait for one read.
	reads map[orgRead]*orgFlight
}

type orgRead struct {
	orgID string
	gen   uint64
}

// orgFlight is one read of an organization that several checks wait for.
type orgFlight struct {
	done  chan struct{}
	org   *licet.Organization
	pools []licet.Pool
	types []licet.LicenseType
	err   error
}

type orgEntry struct {
	org   *licet.Organization // nil: no such organization
	pools []licet.Pool
}

func newCache(store Store, logger *slog.Logger) *cache {
	return &cache{store: store, logger: logger, every: 250 * time.Millisecond, maxAge: time.Second, staleGrace: 2 * time.Minute, orgs: map[string]orgEntry{},
		userSeq: map[string]int64{}, epoch: map[string]uint64{}, users: map[string]map[string]*licet.User{}, maxUsers: 2_000_000,
		reads: map[orgRead]*orgFlight{}}
}

// drop forgets everything.
func (c *cache) drop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dropLocked()
}

func (c *cache) dropLocked() {
	c.gen++
	c.orgs = map[string]orgEntry{}
	c.types, c.typesOK = nil, false
}

// dropUsersLocked forgets every cached user and every known user_seq.
func (c *cache) dropUsersLocked() {
	c.userSeq = map[string]int64{}
	for org := range c.epoch {
		c.epoch[org]++
	}
	c.users = map[string]map[string]*licet.User{}
	c.nUsers = 0
}

// poll reads the change counters once and drops what changed. When the
// counters cannot be read, the cache stops answering (checks read through)
// but keeps what it holds, for stale, and for the next good poll to bring
// up to date: it knows where each organization's users stood.
func (c *cache) poll(ctx context.Context) error {
	err := c.pollOnce(ctx)
	if err != nil {
		c.mu.Lock()
		c.freshTill = time.Time{}
		if licet.ErrorCode(err) != licet.EUNAVAILABLE {
			c.dropLocked()
			c.dropUsersLocked()
		}
		c.mu.Unlock()
	}
	return err
}

// stale answers for a licensed or disabled user from what the cache held at
// its last good poll, when err says the database cannot be reached and that
// poll is within staleGrace; else nil.
func (c *cache) stale(orgID, userID string, err error) *licet.CheckView {
	if licet.ErrorCode(err) != licet.EUNAVAILABLE {
		return nil
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.polledAt.IsZero() || time.Since(c.polledAt) > c.staleGrace || !c.typesOK {
		return nil
	}
	e, ok := c.orgs[orgID]
	u := c.users[orgID][userID]
	if !ok || e.org == nil || u == nil {
		return nil
	}
	return &licet.CheckView{Org: e.org, Pools: e.pools, Types: c.types, User: u}
}

func (c *cache) pollOnce(ctx context.Context) error {
	seq, err := c.store.ChangeSeq(ctx)
	if err != nil {
		return err
	}
	seqs, err := c.store.UserSeqs(ctx)
	if err != nil {
		return err
	}
	// Where each organization stood, and which with cached users moved.
	c.mu.Lock()
	known := map[string]int64{}
	moved := map[string]int64{}
	for org, cur := range seqs {
		if hw, ok := c.userSeq[org]; ok {
			known[org] = hw
			// A counter that went back (a failover lost the last
			// transactions) has no list of what changed: not listed.
			if cur > hw && len(c.users[org]) > 0 {
				moved[org] = hw
			}
		}
	}
	c.mu.Unlock()
	changed := map[string][]string{}
	incomplete := map[string]bool{}
	for org, hw := range moved {
		ids, complete, err := c.store.UserChangesSince(ctx, org, hw)
		if err != nil {
			return err
		}
		changed[org], incomplete[org] = ids, !complete
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if seq != c.seq {
		c.seq = seq
		c.dropLocked()
	}
	for org, cur := range seqs {
		hw, wasKnown := known[org]
		if wasKnown && cur == hw {
			continue
		}
		_, listed := moved[org]
		if !wasKnown || !listed || incomplete[org] {
			// No list of what changed (the organization had no cached
			// users when the poll began, but a fill may have landed
			// since): forget all of its users.
			c.nUsers -= len(c.users[org])
			delete(c.users, org)
		} else {
			for _, id := range changed[org] {
				if _, ok := c.users[org][id]; ok {
					delete(c.users[org], id)
					c.nUsers--
				}
			}
		}
		c.userSeq[org] = cur
		c.epoch[org]++ // fills read before this poll must not land
	}
	c.polledAt = time.Now()
	c.freshTill = c.polledAt.Add(c.maxAge)
	return nil
}

// forgetUsers drops users this process just changed, after the commit, and
// refuses fills that read them before.
func (c *cache) forgetUsers(orgID string, userIDs []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range userIDs {
		if _, ok := c.users[orgID][id]; ok {
			delete(c.users[orgID], id)
			c.nUsers--
		}
	}
	c.epoch[orgID]++
}

// userTicket says whether the cache may answer for orgID's users now and
// what to fill with.
type userTicket struct {
	ok    bool
	seq   int64
	epoch uint64
}

// user returns a cached user, or a ticket to fill it after reading.
func (c *cache) user(orgID, userID string) (*licet.User, userTicket) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if !time.Now().Before(c.freshTill) {
		return nil, userTicket{}
	}
	seq, known := c.userSeq[orgID]
	if !known {
		return nil, userTicket{}
	}
	t := userTicket{ok: true, seq: seq, epoch: c.epoch[orgID]}
	if u, ok := c.users[orgID][userID]; ok {
		return u, t
	}
	return nil, t
}

// fillUser remembers a licensed or disabled user read from the store,
// unless its organization's users changed since the ticket was taken.
func (c *cache) fillUser(t userTicket, u *licet.User) {
	if !t.ok || u == nil || (u.State != licet.UserLicensed && !u.Disabled) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if seq, known := c.userSeq[u.OrgID]; !known || seq != t.seq || c.epoch[u.OrgID] != t.epoch || !time.Now().Before(c.freshTill) {
		return
	}
	if c.nUsers >= c.maxUsers {
		c.users = map[string]map[string]*licet.User{}
		c.nUsers = 0
	}
	m := c.users[u.OrgID]
	if m == nil {
		m = map[string]*licet.User{}
		c.users[u.OrgID] = m
	}
	if _, ok := m[u.ID]; !ok {
		c.nUsers++
	}
	m[u.ID] = u
}

// run polls until ctx ends.
func (c *cache) run(ctx context.Context) {
	t := time.NewTicker(c.every)
	defer t.Stop()
	failing := false
	for {
		pctx, cancel := context.WithTimeout(ctx, c.maxAge)
		err := c.poll(pctx)
		cancel()
		if err != nil && !failing && ctx.Err() == nil {
			c.logger.Warn("cache: cannot read the change counter; reading through", "err", err)
		} else if err == nil && failing {
			c.logger.Info("cache: change counter readable again")
		}
		failing = err != nil
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// lookup returns what the cache holds, whether it may be used, and the
// generation to fill with.
func (c *cache) lookup(orgID string) (e orgEntry, types []licet.LicenseType, ok bool, gen uint64, fresh bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	fresh = time.Now().Before(c.freshTill)
	if !fresh {
		return orgEntry{}, nil, false, c.gen, false
	}
	e, hit := c.orgs[orgID]
	return e, c.types, hit && c.typesOK, c.gen, true
}

// orgData answers from memory or reads and, if nothing changed meanwhile,
// remembers. Checks that miss the same organization at once share one
// read; each waits for it only as long as its own context lets it, and
// the read goes on (bounded by the first caller's deadline) when the
// check that started it gives up.
func (c *cache) orgData(db func() context.Context, orgID string) (*licet.Organization, []licet.Pool, []licet.LicenseType, error) {
	e, types, ok, gen, fresh := c.lookup(orgID)
	if ok {
		return e.org, e.pools, types, nil
	}
	ctx := db()
	key := orgRead{orgID, gen}
	c.mu.Lock()
	f := c.reads[key]
	if f == nil {
		f = &orgFlight{done: make(chan struct{})}
		c.reads[key] = f
		rctx, cancel := context.WithoutCancel(ctx), context.CancelFunc(func() {})
		if d, ok := ctx.Deadline(); ok {
			rctx, cancel = context.WithDeadline(rctx, d)
		}
		go func() {
			defer cancel()
			c.read(rctx, key, f, fresh)
		}()
	}
	c.mu.Unlock()
	select {
	case <-f.done:
		return f.org, f.pools, f.types, f.err
	case <-ctx.Done():
		return nil, nil, nil, ctx.Err()
	}
}

// read reads an organization for the checks waiting on f.
func (c *cache) read(ctx context.Context, key orgRead, f *orgFlight, fresh bool) {
	f.org, f.pools, f.err = c.store.OrgData(ctx, key.orgID)
	if f.err == nil {
		f.types, f.err = c.store.LicenseTypes(ctx)
	}
	c.mu.Lock()
	delete(c.reads, key)
	if f.err == nil && fresh && c.gen == key.gen {
		c.orgs[key.orgID] = orgEntry{org: f.org, pools: f.pools}
		c.types, c.typesOK = f.types, true
	}
	c.mu.Unlock()
	close(f.done)
}
