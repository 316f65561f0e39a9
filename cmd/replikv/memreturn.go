package main

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"

	"github.com/replikv/replikv"
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
// idleReturnThreshold bytes are free or garbage.
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
	limits.update(store.Config(), 0)
	sample := make([]metrics.Sample, len(memMetrics))
	for i, name := range memMetrics {
		sample[i].Name = name
	}
	prev := readHeap(sample)
	t := time.NewTicker(returnPeriod)
	defer t.Stop()
	for tick := 1; ; tick++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if tick%limitEvery == 0 {
			limits.update(store.Config(), store.Info().ReplBufferBytes)
		}
		cur := readHeap(sample)
		if shouldReturn(prev, cur) {
			debug.FreeOSMemory()
			cur = readHeap(sample)
		}
		prev = cur
	}
}
