package main

import (
	"math"
	"runtime/debug"
	"testing"

	"github.com/replikv/replikv"
)

func TestMemoryLimit(t *testing.T) {
	if got := memoryLimit(replikv.Config{}, 0, 0); got != math.MaxInt64 {
		t.Errorf("no maxmemory: limit %d, want none", got)
	}
	cfg := replikv.Config{MaxMemory: 1 << 30, BacklogSize: 1 << 20}
	if got, want := memoryLimit(cfg, 0, 0), int64(1<<30+1<<28+64<<20+1<<20); got != want {
		t.Errorf("1 GiB maxmemory: limit %d, want %d", got, want)
	}
	// A lagging replica's share of the stream is not squeezed.
	if got, want := memoryLimit(cfg, 300<<20, 0), int64(1<<30+1<<28+64<<20+300<<20); got != want {
		t.Errorf("1 GiB maxmemory, 300 MiB of replication buffer: limit %d, want %d", got, want)
	}
	// Nor counted when it is outside the Go heap (mapped blocks), where
	// the runtime's limit does not see it.
	if got, want := memoryLimit(cfg, 300<<20, 280<<20), int64(1<<30+1<<28+64<<20+20<<20); got != want {
		t.Errorf("1 GiB maxmemory, 300 MiB of replication buffer, 280 mapped: limit %d, want %d", got, want)
	}
	if got, want := memoryLimit(cfg, 0, 2<<20), int64(1<<30+1<<28+64<<20); got != want {
		t.Errorf("1 GiB maxmemory, a mapped backlog: limit %d, want %d", got, want)
	}
}

// TestMemLimiterFollowsMaxMemory: the runtime's limit follows maxmemory
// (set, changed, removed) and is left alone when the user set GOMEMLIMIT.
func TestMemLimiterFollowsMaxMemory(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	m := &memLimiter{}
	for _, max := range []int64{100 << 20, 200 << 20, 0} {
		cfg := replikv.Config{MaxMemory: max}
		m.update(cfg, 0, 0)
		if got, want := debug.SetMemoryLimit(-1), memoryLimit(cfg, 0, 0); got != want {
			t.Errorf("maxmemory %d: runtime limit %d, want %d", max, got, want)
		}
	}
	user := &memLimiter{user: true}
	debug.SetMemoryLimit(12345 << 20)
	if got := user.update(replikv.Config{MaxMemory: 1 << 20}, 0, 0); got != -1 || debug.SetMemoryLimit(-1) != 12345<<20 {
		t.Errorf("GOMEMLIMIT set: the limiter changed the runtime's limit")
	}
}
