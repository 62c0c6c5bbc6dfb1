package licensing

import (
	"hash/maphash"
	"sync"
)

// pairSet remembers the (organization, user, device) triples this process
// gave a lease to, so that a licensed user's second device counts as known
// even when the user's last sighting names the other one.
//
// It keeps a few devices per user, newest first: whoever knows a licensed
// user's ID can get leases for ever-new device IDs, and that must only
// push out that user's own older devices, never other users'. The number
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

// userDevices are one user's remembered devices, newest first.
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
	i := 0
	for i < ud.n && ud.dev[i] != d {
		i++
	}
	if i == ud.n { // not there: make room, dropping the oldest when full
		if ud.n < devicesPerUser {
			ud.n++
		}
		i = ud.n - 1
	}
	copy(ud.dev[1:i+1], ud.dev[:i])
	ud.dev[0] = d
}
