package gcpace

import (
	"context"
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

func TestPercent(t *testing.T) {
	for _, tc := range []struct {
		scanned, room uint64
		want          int
	}{
		{0, 64 << 20, 1600},                      // before the first collection: Go's minimum heap becomes the room
		{512 << 10, 64 << 20, 1600},              // a tiny heap: the same, not 128 × 4 MiB
		{8 << 20, 64 << 20, 800},                 // a small heap gets the room
		{64 << 20, 64 << 20, 100},                // as large as the room: Go's pacing
		{512 << 20, 64 << 20, 100},               // larger: Go's pacing, never less
		{1 << 20, 2 << 20, 100},                  // a room under Go's minimum heap: Go's pacing
		{1, math.MaxUint64 / 100, math.MaxInt32}, // capped, not overflowed
	} {
		if got := Percent(tc.scanned, tc.room); got != tc.want {
			t.Errorf("Percent(%d, %d) = %d; want %d", tc.scanned, tc.room, got, tc.want)
		}
	}
}

// churn allocates n bytes of short-lived garbage beside a small live heap,
// at about 256 MiB a second (a busy server's rate, not a tight loop's), and
// returns how many collections ran meanwhile and the most memory its
// objects, live or garbage, took.
func churn(n int) (cycles uint32, peak uint64) {
	heap := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	before := ms.NumGC
	start := time.Now()
	for i := 0; i < n/(64<<10); i++ {
		sink = make([]byte, 64<<10)
		if i%16 == 0 {
			metrics.Read(heap)
			peak = max(peak, heap[0].Value.Uint64())
			if ahead := time.Duration(i)*(64<<10)*time.Second/(256<<20) - time.Since(start); ahead > 0 {
				time.Sleep(ahead)
			}
		}
	}
	runtime.ReadMemStats(&ms)
	return ms.NumGC - before, peak
}

var sink []byte

// With 64 MiB of room, 512 MiB of garbage beside a heap of a few MiB is
// collected about 8 times, not a hundred; the heap stays within the room
// (and the live heap, and what one interval allocates); when Run ends, Go's
// own pacing returns.
func TestRunPacesASmallHeap(t *testing.T) {
	if v := debug.SetGCPercent(100); v != 100 {
		t.Fatalf("GOGC is %d for this test process; run it with Go's default", v)
	}
	const room = 64 << 20
	without, _ := churn(512 << 20)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { Run(ctx, room, 20*time.Millisecond); close(done) }()
	time.Sleep(50 * time.Millisecond)
	with, peak := churn(512 << 20)
	cancel()
	<-done
	after, _ := churn(512 << 20)

	t.Logf("collections per 512 MiB of garbage: %d with Go's pacing, %d with %d MiB of room, %d after; heap at most %d MiB",
		without, with, room>>20, after, peak>>20)
	if with > 16 {
		t.Errorf("%d collections with the room; want about 8", with)
	}
	if without < 4*with || after < 4*with {
		t.Errorf("Go's pacing made %d and %d collections, the room %d: the room changed nothing", without, after, with)
	}
	if peak > room+16<<20 {
		t.Errorf("the heap reached %d MiB; want at most the room and the live heap", peak>>20)
	}
	if v := debug.SetGCPercent(100); v != 100 {
		t.Errorf("GOGC left at %d after Run ended", v)
	}
}

// A heap that grows past the room (a cache filling) is paced as Go paces
// it, with no overshoot from a percent set for a smaller heap: at every
// moment the heap stays within what Go's pacing or the room allows, and
// what one interval allocates.
func TestRunFollowsAGrowingHeap(t *testing.T) {
	const room = 64 << 20
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { Run(ctx, room, 20*time.Millisecond); close(done) }()
	defer func() { cancel(); <-done }()
	time.Sleep(50 * time.Millisecond)

	heap := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var keep [][]byte
	var worst int64
	start := time.Now()
	for i := 0; len(keep) < 512; i++ { // to 128 MiB live, a quarter of all allocated
		b := make([]byte, 256<<10)
		if i%4 == 0 {
			keep = append(keep, b)
		}
		sink = b
		metrics.Read(heap)
		live := uint64(len(keep)) << 18
		allowed := max(2*live, live+room) + 4<<20 + 8<<20 // Go's minimum heap; 20 ms at 256 MiB/s is 5 MiB
		if over := int64(heap[0].Value.Uint64()) - int64(allowed); over > worst {
			worst = over
		}
		if ahead := time.Duration(i)*(256<<10)*time.Second/(256<<20) - time.Since(start); ahead > 0 {
			time.Sleep(ahead)
		}
	}
	t.Logf("live heap grown to %d MiB; worst excess over max(2 × live, live + room) %d MiB", len(keep)/4, worst>>20)
	if worst > 0 {
		t.Errorf("the heap went %d MiB past what Go's pacing or the room allow", worst>>20)
	}
}
