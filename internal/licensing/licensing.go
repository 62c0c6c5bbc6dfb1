// Package licensing answers license checks: it reads the store, decides,
// asks the store to assign only when a decision needs a write, signs the
// lease, and batches the sightings of licensed users so that the hot path
// writes nothing synchronously.
package licensing

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"hash/maphash"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/keys"
)

// Store is what the check reads and writes. licet.Store satisfies it; so
// does fake.CheckStore.
type Store interface {
	// OrgData, LicenseTypes and CheckUser read what a check decides on;
	// TemporaryStanding what a temporary license depends on.
	OrgData(ctx context.Context, orgID string) (*licet.Organization, []licet.Pool, error)
	LicenseTypes(ctx context.Context) ([]licet.LicenseType, error)
	CheckUser(ctx context.Context, orgID, userID string) (*licet.User, map[string]int, error)
	TemporaryStanding(ctx context.Context, orgID, userID string, now time.Time) (holders int, had bool, err error)
	// ChangeSeq, UserSeqs and UserChangesSince tell the cache what other
	// processes changed; PruneUserChanges forgets old user changes.
	ChangeSeq(ctx context.Context) (int64, error)
	UserSeqs(ctx context.Context) (map[string]int64, error)
	UserChangesSince(ctx context.Context, orgID string, seq int64) (userIDs []string, complete bool, err error)
	PruneUserChanges(ctx context.Context, before time.Time) (int64, error)
	// Admit decides and writes a check that needs a write; RecordSightings
	// writes the buffered sightings of licensed users.
	Admit(ctx context.Context, req licet.AdmitRequest) (*licet.Decision, error)
	RecordSightings(ctx context.Context, s []licet.Sighting) error
	// Listen tells l of every change this process commits, so that the
	// cache drops what changed at once.
	Listen(l licet.ChangeListener)
}

var _ Store = licet.Store(nil)

// Config is how a Service answers.
type Config struct {
	Keys        *keys.Ring
	Clock       licet.Clock
	Logger      *slog.Logger
	LeaseLength time.Duration
	// StoreTimeout bounds the database work of one check (default 5s).
	StoreTimeout time.Duration
	// LeaseReuse is how long a signed lease is sent again to the same
	// device for the same decision (0: sign every time).
	LeaseReuse time.Duration
	// MaxReusedLeases bounds the memory the reuse takes (default 1,000,000).
	MaxReusedLeases int
	ReadOnly        bool   // a backup: confirms, never assigns, writes nothing
	ServerURL       string // named in every lease

	// FlushEvery is how often buffered sightings are written (default 1s).
	FlushEvery time.Duration
	// MaxPending flushes early when this many sightings wait (0: never early).
	MaxPending int
	// StaleGrace is how long, while the database cannot be reached (a
	// failover), users that held a license or were disabled when the cache
	// last heard from the database are still answered from it (0: 2
	// minutes; negative: never).
	StaleGrace time.Duration
}

// Service answers checks.
type Service struct {
	store Store
	cfg   Config

	sightings [sightingShards]sightingShard
	seed      maphash.Seed
	kick      chan struct{}
	cache     *cache
	leases    *leaseCache
	pairs     *pairSet

	assigned, temporary, reclaimed, flushed, flushErrors atomic.Int64
}

// New makes a Service that reads and writes store and listens to it for
// the changes this process commits.
func New(store Store, c Config) *Service {
	if c.Clock == nil {
		c.Clock = licet.SystemClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{store: store, cfg: c, kick: make(chan struct{}, 1), seed: maphash.MakeSeed(),
		cache: newCache(store, c.Logger), leases: newLeaseCache(cmp.Or(c.MaxReusedLeases, 1_000_000)), pairs: newPairSet()}
	if c.StaleGrace != 0 {
		s.cache.staleGrace = max(0, c.StaleGrace)
	}
	store.Listen(s)
	return s
}

// Stats are what a Service counted since it was made.
type Stats struct {
	Assigned    int64 // seats assigned by checks
	Temporary   int64 // temporary licenses granted by checks
	Reclaimed   int64 // seats of long-unused users moved to new users
	Flushed     int64 // sightings written in batches
	FlushErrors int64 // batches that could not be written (kept and retried)
}

// Stats returns the counts so far.
func (s *Service) Stats() Stats {
	return Stats{Assigned: s.assigned.Load(), Temporary: s.temporary.Load(), Reclaimed: s.reclaimed.Load(),
		Flushed: s.flushed.Load(), FlushErrors: s.flushErrors.Load()}
}

var _ licet.ChangeListener = (*Service)(nil)

// Invalidate drops what the service caches; the store calls it after every
// change to organizations, pools or license types made in this process.
func (s *Service) Invalidate() {
	s.cache.drop()
}

// UsersChanged drops users this process changed; the store calls it after
// the commit. Other processes learn of the change by polling.
func (s *Service) UsersChanged(orgID string, userIDs []string) {
	s.cache.forgetUsers(orgID, userIDs)
}

// Admission says what a check is, for the limits strangers are held to.
type Admission struct {
	Org *licet.Organization // nil: unknown organization
	// Known is a check from a (user, device) pair that holds a license:
	// it is never held back because others flood the organization.
	Known bool
	// Writes is a check whose decision must be written (assign, record,
	// temporary license, reclaim).
	Writes bool
}

// Gate decides, before anything is written, whether a check may go on; an
// error (licet.ERATE) refuses it. Nil lets everything through.
type Gate func(Admission) error

// Check answers one check. req must be normalized. gate, when set, is asked
// once the check is classified and before anything is written.
func (s *Service) Check(ctx context.Context, req *licet.CheckRequest, gate Gate) (*licet.Answer, error) {
	now := s.cfg.Clock.Now()
	v := &licet.CheckView{}
	var err error
	// The database is asked only on a cache miss; then a stalled database
	// answers an error (503) within StoreTimeout instead of holding the device.
	var dbctx context.Context
	cancel := context.CancelFunc(func() {})
	defer func() { cancel() }()
	db := func() context.Context {
		if dbctx == nil {
			dbctx, cancel = context.WithTimeout(ctx, cmp.Or(s.cfg.StoreTimeout, 5*time.Second))
		}
		return dbctx
	}
	if v.Org, v.Pools, v.Types, err = s.cache.orgData(db, req.OrganizationID); err != nil {
		if v = s.cache.stale(req.OrganizationID, req.UserID, err); v == nil {
			return nil, err
		}
	} else if v.Org != nil {
		u, ticket := s.cache.user(req.OrganizationID, req.UserID)
		if u != nil {
			v.User = u
		} else if v.User, v.Used, err = s.store.CheckUser(db(), req.OrganizationID, req.UserID); err != nil {
			if v = s.cache.stale(req.OrganizationID, req.UserID, err); v == nil {
				return nil, err
			}
		} else {
			s.cache.fillUser(ticket, v.User)
		}
		v.OrgURL = req.OrganizationURL
		if licet.WantsTemporary(v) {
			if v.Temporary, v.HadTemporary, err = s.store.TemporaryStanding(db(), req.OrganizationID, req.UserID, now); err != nil {
				return nil, err
			}
		}
	}
	d := licet.Decide(now, v, req.Edition)
	known := true // without a gate nothing is held back, and nothing needs remembering
	remember := false
	if gate != nil {
		// A device known as its user's last one is remembered too: whoever
		// knows the user ID can make their own device the last one, and
		// this device must stay known when the user is read again.
		byLast := v.User != nil && v.User.Last.DeviceID == req.DeviceID
		known = v.User != nil && d.Action == licet.ActNone && d.Status.Licensed() &&
			(byLast || s.pairs.has(req.OrganizationID, req.UserID, req.DeviceID))
		remember = !known || byLast
		if err := gate(Admission{Org: v.Org, Known: known, Writes: d.Action != licet.ActNone && !s.cfg.ReadOnly}); err != nil {
			return nil, err
		}
	}
	switch {
	case d.Action == licet.ActNone:
		if v.User != nil && !s.cfg.ReadOnly {
			s.see(req.Sighting(now))
		}
	case s.cfg.ReadOnly && d.Action == licet.ActRecord:
		// A denial stands on a backup too; it just is not recorded.
	case s.cfg.ReadOnly:
		d = &licet.Decision{Status: licet.StatusReadOnlyServer,
			Message: "this is a read-only backup server and cannot assign a license; try the primary server again later"}
	default:
		if d, err = s.store.Admit(db(), licet.AdmitRequest{OrgID: req.OrganizationID, UserID: req.UserID, Sighting: req.Sighting(now)}); err != nil {
			return nil, err
		} else if d == nil {
			return nil, licet.Errorf(licet.EUNAVAILABLE, "the check could not be decided; try again")
		}
		switch {
		case d.Reclaimed != "":
			s.reclaimed.Add(1)
		case d.Action == licet.ActAssign:
			s.assigned.Add(1)
		case d.Action == licet.ActTemporary:
			s.temporary.Add(1)
		}
		if d.Reclaimed != "" {
			s.cfg.Logger.Info("seat reclaimed", "org", req.OrganizationID, "from", d.Reclaimed, "to", req.UserID, "type", d.LicenseType)
		}
	}
	a := &licet.Answer{Status: d.Status, LicenseType: d.LicenseType, Message: d.Message}
	if d.Status.Licensed() {
		s.sign(a, req, now, d.Until)
		if remember {
			s.pairs.add(req.OrganizationID, req.UserID, req.DeviceID)
		}
	}
	return a, nil
}

// sign issues the lease: it expires after the lease length, or earlier when
// the pool or temporary license ends earlier. Within LeaseReuse of a lease
// signed for the same user, device and decision, that lease is sent again.
func (s *Service) sign(a *licet.Answer, req *licet.CheckRequest, now, until time.Time) {
	role := licet.RolePrimary
	if s.cfg.ReadOnly {
		role = licet.RoleBackup
	}
	k := s.cfg.Keys.Active()
	key := leaseKey{org: req.OrganizationID, user: req.UserID, device: req.DeviceID, licenseType: a.LicenseType,
		status: string(a.Status), kid: k.ID, until: until.UnixNano()}
	if s.cfg.LeaseReuse > 0 {
		if l, ok := s.leases.get(key); ok && now.Sub(l.issued) < s.cfg.LeaseReuse && !now.Before(l.issued) {
			a.Lease, a.Signature, a.KeyID, a.Expires = l.payload, l.sig, l.kid, l.exp
			a.LeaseBase64, a.SignatureBase64 = l.payload64, l.sig64
			return
		}
	}
	exp := now.Add(s.cfg.LeaseLength)
	if !until.IsZero() && until.Before(exp) {
		exp = until
	}
	l := licet.Lease{Version: 1, Org: req.OrganizationID, User: req.UserID, Device: req.DeviceID,
		LicenseType: a.LicenseType, Status: a.Status, IssuedAt: now.UTC().Format(licet.TimeFormat),
		ExpiresAt: exp.UTC().Format(licet.TimeFormat), Role: role, Server: s.cfg.ServerURL, KeyID: k.ID}
	a.Lease, a.Signature = SignLease(k, l)
	a.KeyID = k.ID
	a.Expires = exp.UTC().Truncate(time.Second)
	if s.cfg.LeaseReuse > 0 {
		// A lease sent again is encoded once; one sent once is encoded
		// as its answer is written.
		a.LeaseBase64, a.SignatureBase64 = base64.StdEncoding.EncodeToString(a.Lease), base64.StdEncoding.EncodeToString(a.Signature)
		s.leases.put(key, signedLease{payload: a.Lease, sig: a.Signature, payload64: a.LeaseBase64, sig64: a.SignatureBase64,
			kid: k.ID, issued: now, exp: a.Expires})
	}
}

// SignLease encodes a lease as the payload bytes devices receive and signs
// exactly those bytes with k. The conformance vectors (sdk/vectors) are made
// with it, so they hold what servers really send.
func SignLease(k *keys.Key, l licet.Lease) (payload, sig []byte) {
	payload = appendLease(make([]byte, 0, 384), &l)
	return payload, ed25519.Sign(k.Private, payload)
}

// sightingShards spreads buffered sightings over locks, so that checks on
// both cores rarely wait for each other.
const sightingShards = 16

type sightingShard struct {
	mu      sync.Mutex
	pending map[[2]string]licet.Sighting
	// spare is the map the last flush emptied: the next flush swaps it in
	// and copies the full one out of the lock, so that checks never wait
	// for a copy.
	spare map[[2]string]licet.Sighting
}

func (s *Service) shardOf(orgID, userID string) *sightingShard {
	return &s.sightings[maphash.String(s.seed, userID)%sightingShards]
}

// see buffers a sighting; the newest per user wins.
func (s *Service) see(x licet.Sighting) {
	sh := s.shardOf(x.OrgID, x.UserID)
	sh.mu.Lock()
	if sh.pending == nil {
		sh.pending = map[[2]string]licet.Sighting{}
	}
	sh.pending[[2]string{x.OrgID, x.UserID}] = x
	n := len(sh.pending)
	sh.mu.Unlock()
	if s.cfg.MaxPending > 0 && n*sightingShards >= s.cfg.MaxPending {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
}

// Pending returns how many sightings wait to be written.
func (s *Service) Pending() int {
	n := 0
	for i := range s.sightings {
		sh := &s.sightings[i]
		sh.mu.Lock()
		n += len(sh.pending)
		sh.mu.Unlock()
	}
	return n
}

// Flush writes the buffered sightings. On failure they are put back, unless
// a newer sighting of the same user arrived meanwhile.
func (s *Service) Flush(ctx context.Context) error {
	batch := make([]licet.Sighting, 0, s.Pending())
	for i := range s.sightings {
		sh := &s.sightings[i]
		sh.mu.Lock()
		full := sh.pending
		sh.pending, sh.spare = sh.spare, nil
		sh.mu.Unlock()
		for _, x := range full {
			batch = append(batch, x)
		}
		// Emptied, not dropped: a later second's sightings fill the same
		// map without growing it again.
		clear(full)
		sh.mu.Lock()
		if sh.spare == nil {
			sh.spare = full
		}
		sh.mu.Unlock()
	}
	if len(batch) == 0 {
		return nil
	}
	err := s.store.RecordSightings(ctx, batch)
	if err == nil {
		s.flushed.Add(int64(len(batch)))
	} else {
		s.flushErrors.Add(1)
		for _, x := range batch {
			sh := s.shardOf(x.OrgID, x.UserID)
			k := [2]string{x.OrgID, x.UserID}
			sh.mu.Lock()
			if sh.pending == nil {
				sh.pending = map[[2]string]licet.Sighting{}
			}
			if cur, ok := sh.pending[k]; !ok || cur.At.Before(x.At) {
				sh.pending[k] = x
			}
			sh.mu.Unlock()
		}
	}
	return err
}

// Run flushes sightings every FlushEvery (or sooner when MaxPending wait)
// until ctx ends, then flushes once more.
func (s *Service) Run(ctx context.Context) {
	every := s.cfg.FlushEvery
	if every <= 0 {
		every = time.Second
	}
	// The cache's poller ends with Run, so that nothing of the service
	// still reads the store once Run has returned and the caller closes it.
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		s.cache.run(ctx)
	}()
	defer func() { <-polled }()
	pruned := time.Now()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if err := s.Flush(fctx); err != nil {
				s.cfg.Logger.Error("final sighting flush failed", "err", err, "pending", s.Pending())
			}
			cancel()
			return
		case <-t.C:
		case <-s.kick:
		}
		if err := s.Flush(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Warn("sighting flush failed; will retry", "err", err, "pending", s.Pending())
		}
		if !s.cfg.ReadOnly && time.Since(pruned) > 10*time.Minute {
			pruned = time.Now()
			if _, err := s.store.PruneUserChanges(ctx, s.cfg.Clock.Now().Add(-time.Hour)); err != nil && ctx.Err() == nil {
				s.cfg.Logger.Warn("pruning user changes failed", "err", err)
			}
		}
	}
}
