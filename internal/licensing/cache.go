package licensing

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/licet/licet"
)

// cache keeps organizations, their pools and the license types in memory,
// so that a licensed user's check reads only the user's row.
//
// It is coherent across processes by polling the store's change counter
// (ChangeSeq), which every change to those rows bumps in its own
// transaction: a new value drops everything. The same way works on SQLite,
// on a PostgreSQL primary shared by many processes, and on a hot standby,
// which could not LISTEN to the primary's notifications anyway. The cache
// answers only while its last poll is younger than maxAge; otherwise (the
// database unreachable, the poller stuck) every check reads through.
type cache struct {
	store  licet.Store
	logger *slog.Logger
	// every is the poll interval; maxAge bounds how stale an answer may be.
	every, maxAge time.Duration

	mu        sync.Mutex
	seq       int64
	gen       uint64 // bumped on every drop, to refuse fills read before it
	freshTill time.Time
	orgs      map[string]orgEntry
	types     []licet.LicenseType
	typesOK   bool
}

type orgEntry struct {
	org   *licet.Organization // nil: no such organization
	pools []licet.Pool
}

func newCache(store licet.Store, logger *slog.Logger) *cache {
	return &cache{store: store, logger: logger, every: 250 * time.Millisecond, maxAge: time.Second, orgs: map[string]orgEntry{}}
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

// poll reads the change counter once.
func (c *cache) poll(ctx context.Context) error {
	seq, err := c.store.ChangeSeq(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.freshTill = time.Time{}
		c.dropLocked()
		return err
	}
	if seq != c.seq {
		c.seq = seq
		c.dropLocked()
	}
	c.freshTill = time.Now().Add(c.maxAge)
	return nil
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
	c.mu.Lock()
	defer c.mu.Unlock()
	fresh = time.Now().Before(c.freshTill)
	if !fresh {
		return orgEntry{}, nil, false, c.gen, false
	}
	e, hit := c.orgs[orgID]
	return e, c.types, hit && c.typesOK, c.gen, true
}

// orgData answers from memory or reads and, if nothing changed meanwhile,
// remembers.
func (c *cache) orgData(ctx context.Context, orgID string) (*licet.Organization, []licet.Pool, []licet.LicenseType, error) {
	e, types, ok, gen, fresh := c.lookup(orgID)
	if ok {
		return e.org, e.pools, types, nil
	}
	org, pools, err := c.store.OrgData(ctx, orgID)
	if err != nil {
		return nil, nil, nil, err
	}
	types, err = c.store.LicenseTypes(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	if fresh {
		c.mu.Lock()
		if c.gen == gen {
			c.orgs[orgID] = orgEntry{org: org, pools: pools}
			c.types, c.typesOK = types, true
		}
		c.mu.Unlock()
	}
	return org, pools, types, nil
}
