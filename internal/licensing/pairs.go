package licensing

import (
	"hash/maphash"
	"sync"
)

// pairSet remembers the (organization, user, device) triples this process
// gave a lease to, so that a licensed user's second device counts as known
// even when the user's last sighting names the other one. It is bounded: a
// full shard starts over, and its devices fall back to the last-sighting
// rule (or, at worst, to the limits for new devices) until their next lease.
type pairSet struct {
	seed   maphash.Seed
	shards [16]pairShard
}

type pairShard struct {
	mu sync.Mutex
	m  map[uint64]struct{}
}

// maxPairs bounds one shard (16 shards: about 260,000 devices).
const maxPairs = 1 << 14

func newPairSet() *pairSet {
	p := &pairSet{seed: maphash.MakeSeed()}
	for i := range p.shards {
		p.shards[i].m = map[uint64]struct{}{}
	}
	return p
}

func (p *pairSet) key(org, user, device string) uint64 {
	var h maphash.Hash
	h.SetSeed(p.seed)
	h.WriteString(org)
	h.WriteByte(0)
	h.WriteString(user)
	h.WriteByte(0)
	h.WriteString(device)
	return h.Sum64()
}

func (p *pairSet) has(org, user, device string) bool {
	k := p.key(org, user, device)
	sh := &p.shards[k%uint64(len(p.shards))]
	sh.mu.Lock()
	_, ok := sh.m[k]
	sh.mu.Unlock()
	return ok
}

func (p *pairSet) add(org, user, device string) {
	k := p.key(org, user, device)
	sh := &p.shards[k%uint64(len(p.shards))]
	sh.mu.Lock()
	if len(sh.m) >= maxPairs {
		sh.m = map[uint64]struct{}{}
	}
	sh.m[k] = struct{}{}
	sh.mu.Unlock()
}
