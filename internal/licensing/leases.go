package licensing

import (
	"hash/maphash"
	"sync"
	"time"
)

// leaseCache keeps recently signed leases so that a device checking in
// again within the reuse window gets the same signed bytes instead of a new
// signature. The key holds everything the payload says except the times,
// so a changed decision (another type, a new end, another device) never
// reuses; a reused lease is at most the window older than a fresh one.
type leaseCache struct {
	seed   maphash.Seed
	shards [64]leaseShard
	max    int // entries per shard; a full shard starts over
}

type leaseShard struct {
	mu sync.Mutex
	m  map[leaseKey]signedLease
}

// leaseKey is everything a lease says but its times.
type leaseKey struct {
	org, user, device, licenseType, status, kid string
	until                                       int64
}

type signedLease struct {
	payload, sig     []byte
	payload64, sig64 string
	kid              string
	issued, exp      time.Time
}

func newLeaseCache(maxEntries int) *leaseCache {
	c := &leaseCache{seed: maphash.MakeSeed(), max: max(1, maxEntries/64)}
	for i := range c.shards {
		c.shards[i].m = map[leaseKey]signedLease{}
	}
	return c
}

func (c *leaseCache) shard(key leaseKey) *leaseShard {
	return &c.shards[maphash.String(c.seed, key.user)%uint64(len(c.shards))]
}

func (c *leaseCache) get(key leaseKey) (signedLease, bool) {
	sh := c.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	l, ok := sh.m[key]
	return l, ok
}

func (c *leaseCache) put(key leaseKey, l signedLease) {
	sh := c.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if len(sh.m) >= c.max {
		clear(sh.m)
	}
	sh.m[key] = l
}
