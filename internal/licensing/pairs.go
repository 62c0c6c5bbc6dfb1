package licensing

import (
	"hash/maphash"
	"sync"
)

// pairSet remembers the (organization, user, device) triples this process
// gave a lease to, so that a licensed user's second device counts as known
// even when the user's last sighting names the other one.
//
// It keeps the first few devices of each user: whoever knows a licensed
// user's ID can get leases for ever-new device IDs, and that must push out
// neither other users' devices nor that user's own, so once a user's
// devices are full, more are not remembered (they are held to the limits
// for new devices, which pass them unless a flood is on). The number
// of users is bounded: a full shard starts over, and its devices fall back
// to the last-sighting rule (or, at worst, to the limits for new devices)
// until their next lease. Only licensed users are added, so filling a
// shard takes that many licensed users, not that many checks.
type pairSet struct {
	seed   maphash.Seed
	shards [16]pairShard
}

type pairShard struct {
	mu sync.Mutex
	m  map[uint64]*userDevices // by (organization, user)
}

// userDevices are one user's remembered devices, in the order first seen.
type userDevices struct {
	n   int
	dev [devicesPerUser]uint64
}

// maxPairs bounds the users of one shard (16 shards: about 260,000 users);
// devicesPerUser the devices remembered for each.
const (
	maxPairs       = 1 << 14
	devicesPerUser = 8
)

func newPairSet() *pairSet {
	p := &pairSet{seed: maphash.MakeSeed()}
	for i := range p.shards {
		p.shards[i].m = map[uint64]*userDevices{}
	}
	return p
}

func (p *pairSet) keys(org, user, device string) (uint64, uint64) {
	var h maphash.Hash
	h.SetSeed(p.seed)
	h.WriteString(org)
	h.WriteByte(0)
	h.WriteString(user)
	u := h.Sum64()
	h.WriteByte(0)
	h.WriteString(device)
	return u, h.Sum64()
}

func (p *pairSet) has(org, user, device string) bool {
	u, d := p.keys(org, user, device)
	sh := &p.shards[u%uint64(len(p.shards))]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if ud := sh.m[u]; ud != nil {
		for _, x := range ud.dev[:ud.n] {
			if x == d {
				return true
			}
		}
	}
	return false
}

func (p *pairSet) add(org, user, device string) {
	u, d := p.keys(org, user, device)
	sh := &p.shards[u%uint64(len(p.shards))]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	ud := sh.m[u]
	if ud == nil {
		if len(sh.m) >= maxPairs {
			sh.m = map[uint64]*userDevices{}
		}
		ud = &userDevices{}
		sh.m[u] = ud
	}
	for _, x := range ud.dev[:ud.n] {
		if x == d {
			return
		}
	}
	if ud.n < devicesPerUser {
		ud.dev[ud.n] = d
		ud.n++
	}
}
