package web

import (
	"hash/maphash"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter keeps one token bucket per key, forgetting keys idle for a while
// so that memory stays bounded.
type Limiter struct {
	rate   rate.Limit
	burst  int
	max    int // buckets per shard
	seed   maphash.Seed
	shards [32]limiterShard
}

type limiterShard struct {
	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	l    *rate.Limiter
	seen time.Time
}

// maxBuckets bounds one shard of a Limiter (about 250 bytes a bucket);
// past it, one bucket is forgotten for each new one (a bucket forgotten
// early only lets its key burst once more). deviceBuckets is the tighter
// bound of the per-device Limiter (32 shards: 262,144 devices, about
// 64 MB): every check makes a bucket for its device before anything else,
// so a stranger's random IDs make one each.
const (
	maxBuckets    = 100_000
	deviceBuckets = 1 << 13
)

// NewDeviceLimiter is NewLimiter with the per-device bound (deviceBuckets).
func NewDeviceLimiter(r rate.Limit, burst int) *Limiter {
	l := NewLimiter(r, burst)
	if l != nil {
		l.max = deviceBuckets
	}
	return l
}

// NewLimiter makes a Limiter of r tokens a second, burst at once; nil
// (which allows everything) when r is 0.
func NewLimiter(r rate.Limit, burst int) *Limiter {
	if r <= 0 {
		return nil
	}
	l := &Limiter{rate: r, burst: max(1, burst), max: maxBuckets, seed: maphash.MakeSeed()}
	for i := range l.shards {
		l.shards[i].buckets = map[string]*bucket{}
	}
	return l
}

func (l *Limiter) shard(key string) *limiterShard {
	return &l.shards[maphash.String(l.seed, key)%uint64(len(l.shards))]
}

// Allow takes a token for key, or says how long until one is free.
func (l *Limiter) Allow(key string, now time.Time) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	return l.AllowRate(key, now, l.rate, l.burst)
}

// AllowRate is Allow with a rate of key's own (rate.Inf: no limit).
func (l *Limiter) AllowRate(key string, now time.Time, r rate.Limit, burst int) (bool, time.Duration) {
	if l == nil || r == rate.Inf {
		return true, 0
	}
	sh := l.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if now.Sub(sh.swept) > time.Minute {
		for k, b := range sh.buckets {
			if now.Sub(b.seen) > 10*time.Minute {
				delete(sh.buckets, k)
			}
		}
		sh.swept = now
	}
	b := sh.buckets[key]
	burst = max(1, burst)
	if b == nil {
		if len(sh.buckets) >= l.max {
			for k := range sh.buckets { // one, at random: no scan of the shard per check
				delete(sh.buckets, k)
				break
			}
		}
		b = &bucket{l: rate.NewLimiter(r, burst)}
		sh.buckets[key] = b
	} else if b.l.Limit() != r || b.l.Burst() != burst {
		b.l.SetLimitAt(now, r)
		b.l.SetBurstAt(now, burst)
	}
	b.seen = now
	res := b.l.ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return false, d
	}
	return true, 0
}

// RetryAfter is a Retry-After header value: whole seconds, at least one.
func RetryAfter(d time.Duration) string {
	return strconv.Itoa(int(max(1, d.Round(time.Second)/time.Second)))
}

// Peek says whether key has a token now, without taking it, or how long
// until it has one.
func (l *Limiter) Peek(key string, now time.Time) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	sh := l.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	b := sh.buckets[key]
	if b == nil {
		return true, 0
	}
	if tok := b.l.TokensAt(now); tok < 1 {
		return false, time.Duration((1 - tok) / float64(l.rate) * float64(time.Second))
	}
	return true, 0
}

// Forget gives key its whole burst back.
func (l *Limiter) Forget(key string) {
	if l == nil {
		return
	}
	sh := l.shard(key)
	sh.mu.Lock()
	delete(sh.buckets, key)
	sh.mu.Unlock()
}
