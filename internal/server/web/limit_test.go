package web

import (
	"fmt"
	"testing"
	"time"
)

// TestLimiterStaysSmallUnderAFloodOfNewKeys: every check takes a token from
// its device's bucket before anything else, so a stranger who sends random
// organization, user and device IDs makes one bucket per check. The buckets
// must stay few enough (about 250 bytes each) that such a flood cannot
// exhaust the server's memory: at most 32 × deviceBuckets, whatever arrives.
func TestLimiterStaysSmallUnderAFloodOfNewKeys(t *testing.T) {
	l := NewDeviceLimiter(1, 10)
	now := time.Now()
	for i := range 300_000 {
		l.Allow(fmt.Sprintf("org-%d/user-%d/device-%d", i, i, i), now)
	}
	n := 0
	for i := range l.shards {
		n += len(l.shards[i].buckets)
	}
	if n > 1<<18 {
		t.Errorf("%d buckets after 300,000 new keys; want at most %d (about 64 MB)", n, 1<<18)
	}
	// A key seen a moment ago is still limited: its burst is not given back.
	for range 10 {
		l.Allow("known", now)
	}
	if ok, _ := l.Allow("known", now); ok {
		t.Error("a key that used its burst got another token at once")
	}
}
