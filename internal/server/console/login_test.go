package console

import (
	"context"
	"testing"
	"time"
)

// An attacker rotating addresses inside one IPv6 /64 is one source.
func TestThrottleCountsAnIPv6SubnetOnce(t *testing.T) {
	lt, now := newLoginThrottle(), time.Now()
	for i := range 25 {
		ip := "2001:db8:1:2::" + string(rune('a'+i%6)) + "1"
		if ok, _ := lt.allowed("victim@x.example", ip, false, now); !ok {
			if i < 5 {
				t.Fatalf("refused after %d failures", i)
			}
			return
		}
		lt.failed("victim@x.example", ip, now)
	}
	t.Error("25 failures from one /64 were never throttled")
}

// A browser that signed in before gets the next freed hashing slot however
// long the hashes in progress take: under CPU pressure (a crowd of logins
// makes it) one hash can outlast the line's wait, and the owner must not be
// turned away for that. The crowd's line still gives up after the wait.
func TestHashGateKnownBrowserWaitsForTheNextSlot(t *testing.T) {
	const wait = 10 * time.Millisecond
	g := newHashGate(1, 1, wait)
	holding, done := make(chan struct{}), make(chan struct{})
	go g.do(context.Background(), false, func() { close(holding); <-done }) // a hash slower than the wait
	<-holding
	if g.do(context.Background(), false, func() { t.Error("the crowd's login ran while the only slot was taken") }) {
		t.Error("a login in the crowd's line did not give up after the wait")
	}
	ran := make(chan bool)
	go func() {
		hashed := false
		ok := g.do(context.Background(), true, func() { hashed = true })
		ran <- ok && hashed
	}()
	// The known browser still waits after many times the line's wait;
	// whatever the scheduling, the slot is released only after that.
	select {
	case ok := <-ran:
		t.Fatalf("the known browser gave up (ran %v) before any slot was freed", ok)
	case <-time.After(20 * wait):
	}
	close(done)
	if !<-ran {
		t.Error("the known browser did not get the freed slot")
	}
	// Its request ending ends its wait.
	holding, done = make(chan struct{}), make(chan struct{})
	go g.do(context.Background(), false, func() { close(holding); <-done })
	<-holding
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(2 * wait); cancel() }()
	if g.do(ctx, true, func() { t.Error("ran after its request ended") }) {
		t.Error("the known browser's wait outlived its request")
	}
	close(done)
}
