package main

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"

	"github.com/replikv/replikv"
)

// The Go runtime keeps memory it freed for a while before giving it back
// to the system, a little at a time. A replica dropped for lagging, or a
// burst of large values, can leave hundreds of megabytes of freed heap
// counted in the process's RSS for minutes, which is not what a
// redis-server user expects after a replica goes away. returnMemory checks
// every period and, when more than threshold bytes of heap are free but
// not yet returned, returns them at once (debug.FreeOSMemory: one garbage
// collection, no pause worth the name).
const (
	returnPeriod    = 5 * time.Second
	returnThreshold = 64 << 20
)

// freeHeapMetric is the heap memory free and not yet returned to the
// system.
const freeHeapMetric = "/memory/classes/heap/free:bytes"

// shouldReturn decides, from the free heap bytes, whether to return them.
func shouldReturn(free uint64) bool { return free > returnThreshold }

// returnMemory runs until ctx ends. It also keeps the runtime's memory
// limit in step with the store's maxmemory (see memLimiter).
func returnMemory(ctx context.Context, store *replikv.Store) {
	limits := newMemLimiter()
	limits.update(store.Config(), 0)
	sample := []metrics.Sample{{Name: freeHeapMetric}}
	t := time.NewTicker(returnPeriod)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		limits.update(store.Config(), store.Info().ReplBufferBytes)
		metrics.Read(sample)
		if sample[0].Value.Kind() == metrics.KindUint64 && shouldReturn(sample[0].Value.Uint64()) {
			debug.FreeOSMemory()
		}
	}
}
