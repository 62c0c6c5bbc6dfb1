// Package gcpace gives the Go collector a floor of room for garbage.
//
// Go collects when the heap has grown by GOGC percent (100) of what the
// last collection left live. A server whose live heap is a few megabytes
// (a licet with few users cached) thus collects many times a second: on
// the check's hot path the collector cost about an eighth of the
// instructions (docs/BENCHMARKS.md, sixth round). A proportional cure
// (GOGC=400) multiplies the memory of a large heap for nothing. Headroom
// instead lets garbage take at least a fixed number of bytes: after each
// collection it sets the percent so that the next one comes after
// max((live + roots) × 100 %, room) bytes. A small heap then uses at most
// about room more memory; a heap larger than room is paced as Go paces it.
package gcpace

import (
	"context"
	"math"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"
)

// base is the percent Go would use: GOGC's default.
const base = 100

var state struct {
	mu   sync.Mutex
	room uint64 // bytes; 0: Go's own pacing
	pct  int    // the percent last set by this package; 0 if none
}

// Run lets garbage take at least room bytes before the collector runs,
// for the whole process (as GOGC is), until ctx ends; then Go's pacing
// returns. It looks every interval for a collection that ended and sets
// the percent for what that collection left: until then the goal is the
// one the previous percent gave, so that a heap that grows fast (a cache
// filling) overshoots the room by what it allocates in one interval at
// most. A finalizer run after each collection would react sooner, but
// runs only once the collector has swept the finalized object, which in a
// test came several collections late while the heap grew to five times
// the room.
func Run(ctx context.Context, room uint64, interval time.Duration) {
	set(room)
	defer set(0)
	cycles := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	var seen uint64
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if metrics.Read(cycles); cycles[0].Value.Uint64() != seen {
			seen = cycles[0].Value.Uint64()
			set(room)
		}
	}
}

// set sets the percent for room and what the last collection left; a room
// of 0 gives the pacing back to Go.
func set(room uint64) {
	state.mu.Lock()
	defer state.mu.Unlock()
	state.room = room
	if room == 0 {
		if state.pct != 0 {
			debug.SetGCPercent(base)
			state.pct = 0
		}
		return
	}
	adjustLocked()
}

// Go's goal for the next collection is the live heap plus GOGC percent of
// what the collector scans: the live heap and the roots (goroutine stacks
// and globals).
var sizes = []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/gc/scan/stack:bytes"}, {Name: "/gc/scan/globals:bytes"}}

// adjustLocked sets the percent for what the last collection left.
func adjustLocked() {
	metrics.Read(sizes)
	var scanned uint64
	for _, s := range sizes {
		if s.Value.Kind() != metrics.KindUint64 {
			return
		}
		scanned += s.Value.Uint64()
	}
	pct := Percent(scanned, state.room)
	if pct != state.pct {
		debug.SetGCPercent(pct)
		state.pct = pct
	}
}

// Percent is the GOGC that lets garbage take at least room bytes when the
// collector scans scanned bytes, and never less than Go's 100. Go's next
// goal is the live heap plus GOGC percent of what it scans (the live heap
// and the roots: stacks and globals), and at least its minimum heap, 4 MiB
// times GOGC/100; so that the minimum does not outgrow the room on a tiny
// heap, the percent is at most the room's share of 4 MiB.
func Percent(scanned, room uint64) int {
	p := min(room*100/max(scanned, 1), room*100/minHeap)
	switch {
	case p < base:
		return base
	case p > math.MaxInt32:
		return math.MaxInt32
	}
	return int(p)
}

// minHeap is Go's smallest heap goal at GOGC=100 (runtime.defaultHeapMinimum).
const minHeap = 4 << 20
