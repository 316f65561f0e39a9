package main

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"

	"github.com/replikv/replikv"
	"github.com/replikv/replikv/backlog"
)

// The Go runtime keeps memory it freed before giving it back to the
// system: its scavenger keeps up to about the next collection's heap goal
// (twice the live heap, with GOGC=100) mapped. And garbage left by a
// burst of writes stays in the heap until the next collection, which an
// idle process may not run for two minutes. After a bulk load, a replica
// dropped for lagging or a burst of large values, the process's RSS can
// so stay tens to hundreds of megabytes over its data, which is not what
// a redis-server user expects once the burst is over. returnMemory checks
// every second and collects and returns the memory at once
// (debug.FreeOSMemory: one garbage collection, no pause worth the name)
// when more than returnThreshold bytes are free but not yet returned; or,
// when no collection ran during the last second (the burst is over: a busy
// process collects on its own and reuses its free memory), when more than
// idleReturnThreshold bytes are free or garbage; but not twice in idle
// periods without a collection of the runtime's own between (returner).
const (
	returnPeriod        = time.Second
	limitEvery          = 5 // the memory limit is updated every 5 periods
	returnThreshold     = 64 << 20
	idleReturnThreshold = 16 << 20
)

// The runtime metrics returnMemory reads.
const (
	freeHeapMetric    = "/memory/classes/heap/free:bytes"    // free, not yet returned
	heapObjectsMetric = "/memory/classes/heap/objects:bytes" // live and not yet collected
	heapLiveMetric    = "/gc/heap/live:bytes"                // live at the last collection
	gcCyclesMetric    = "/gc/cycles/total:gc-cycles"
)

var memMetrics = []string{freeHeapMetric, heapObjectsMetric, heapLiveMetric, gcCyclesMetric}

// heapState is one reading of memMetrics.
type heapState struct {
	free, objects, live, cycles uint64
}

// shouldReturn decides, from the readings at the start and the end of a
// period, whether to collect and return the memory now.
func shouldReturn(prev, cur heapState) bool {
	if cur.free > returnThreshold {
		return true
	}
	if cur.cycles != prev.cycles {
		return false // busy: it collects on its own
	}
	var garbage uint64
	if cur.objects > cur.live {
		garbage = cur.objects - cur.live
	}
	return cur.free+garbage > idleReturnThreshold
}

// readHeap reads the metrics into a heapState; a metric the runtime does
// not have reads as 0 (no return on its account).
func readHeap(sample []metrics.Sample) heapState {
	metrics.Read(sample)
	v := func(i int) uint64 {
		if sample[i].Value.Kind() == metrics.KindUint64 {
			return sample[i].Value.Uint64()
		}
		return 0
	}
	return heapState{free: v(0), objects: v(1), live: v(2), cycles: v(3)}
}

// returnMemory runs until ctx ends. It also keeps the runtime's memory
// limit in step with the store's maxmemory (see memLimiter).
func returnMemory(ctx context.Context, store *replikv.Store) {
	limits := newMemLimiter()
	limits.update(store.Config(), 0, 0)
	sample := make([]metrics.Sample, len(memMetrics))
	for i, name := range memMetrics {
		sample[i].Name = name
	}
	r := returner{prev: readHeap(sample)}
	t := time.NewTicker(returnPeriod)
	defer t.Stop()
	for tick := 1; ; tick++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if tick%limitEvery == 0 {
			limits.update(store.Config(), store.Info().ReplBufferBytes, backlog.MappedInUse())
		}
		if r.step(readHeap(sample)) {
			debug.FreeOSMemory()
			r.returned(readHeap(sample))
		}
	}
}

// returner is returnMemory's decision from one period to the next.
//
// A collection forced in an idle period (no collection of the runtime's
// own during it) is not followed by another until the runtime has
// collected on its own. Without that bound, a steady trickle of
// allocations on a large heap (a few MiB a second on a heap of a GiB: no
// collection of the runtime's own for minutes, so every second looks
// idle) passed the idle threshold every few seconds, and each forced
// collection, which marks the whole live heap, pushed the runtime's own
// further away: in effect GOGC at a few percent, seconds of CPU per
// collection on a large heap. With it, forced collections are at most
// two per collection of the runtime's own (one for its free spans, one
// once it is idle), plus one (see
// TestReviewTodayTrickleDoesNotForceCollections). A burst collects on
// its own, so the first idle period after it still returns what it left.
type returner struct {
	prev heapState // the reading at the start of the period
	// idleForced: a collection was forced in an idle period and the
	// runtime has not collected on its own since.
	idleForced bool
}

// step decides, from the reading at the end of a period, whether to
// collect and return the memory now; if it does, the caller reports the
// reading after with returned.
func (r *returner) step(cur heapState) bool {
	busy := cur.cycles != r.prev.cycles
	if busy {
		r.idleForced = false
	}
	ret := (busy || !r.idleForced) && shouldReturn(r.prev, cur)
	if ret && !busy {
		r.idleForced = true
	}
	r.prev = cur
	return ret
}

// returned records the reading after a forced collection: the next
// period starts from it.
func (r *returner) returned(cur heapState) { r.prev = cur }
