package main

import (
	"math"
	"os"
	"runtime/debug"

	"github.com/replikv/replikv"
)

// By default the Go runtime lets the heap grow to twice what is live
// before it collects (GOGC=100): a server holding maxmemory bytes of data
// would take about twice that in RSS, where redis-server takes a little
// more than maxmemory. When maxmemory is set (and GOMEMLIMIT is not), the
// binary sets the runtime's soft memory limit to maxmemory plus the
// headroom below, so the collector works harder as the process nears it
// instead of doubling the heap. It is a soft limit: a replica's output
// buffer or a burst may pass it (the collector then runs more often,
// using at most about half the CPU), never a cause of failure.
const (
	memLimitFraction = 4        // a quarter of maxmemory for garbage between collections
	memLimitBase     = 64 << 20 // the runtime, connections, buffers
)

// memoryLimit returns the soft memory limit for a store configured with
// cfg whose replication buffer holds replBuf bytes now (the backlog and
// what lagging replicas still need: not data, and not to be squeezed by
// collecting without end while a replica catches up), of which mapped
// bytes are outside the Go heap (backlog.MappedInUse: the runtime's limit
// does not count them, so neither does the headroom): math.MaxInt64
// (none) without maxmemory.
func memoryLimit(cfg replikv.Config, replBuf, mapped int64) int64 {
	if cfg.MaxMemory <= 0 {
		return math.MaxInt64
	}
	onHeap := max(max(int64(cfg.BacklogSize), replBuf)-mapped, 0)
	return cfg.MaxMemory + cfg.MaxMemory/memLimitFraction + memLimitBase + onHeap
}

// memLimiter applies memoryLimit to the runtime as the configuration
// changes (CONFIG SET maxmemory), unless the user set GOMEMLIMIT.
type memLimiter struct {
	user bool  // GOMEMLIMIT is set: leave the runtime's limit alone
	last int64 // the limit applied, 0 before the first
}

func newMemLimiter() *memLimiter { return &memLimiter{user: os.Getenv("GOMEMLIMIT") != ""} }

// update applies the limit for cfg, replBuf and mapped (see memoryLimit)
// if it changed; it returns the limit in force (-1 when the user's
// GOMEMLIMIT rules).
func (m *memLimiter) update(cfg replikv.Config, replBuf, mapped int64) int64 {
	if m.user {
		return -1
	}
	if limit := memoryLimit(cfg, replBuf, mapped); limit != m.last {
		debug.SetMemoryLimit(limit)
		m.last = limit
	}
	return m.last
}
