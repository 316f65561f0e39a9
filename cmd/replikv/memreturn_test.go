package main

import (
	"runtime/metrics"
	"testing"
)

// TestReturnMemoryMetrics: the runtime metrics the binary watches exist
// (a Go release renaming one would silently turn the return off).
func TestReturnMemoryMetrics(t *testing.T) {
	have := map[string]bool{}
	for _, d := range metrics.All() {
		if d.Kind == metrics.KindUint64 {
			have[d.Name] = true
		}
	}
	for _, name := range memMetrics {
		if !have[name] {
			t.Errorf("runtime metric %s is missing", name)
		}
	}
}

// TestShouldReturn is the table of the decision.
func TestShouldReturn(t *testing.T) {
	const th, idle = returnThreshold, idleReturnThreshold
	for _, tc := range []struct {
		name      string
		prev, cur heapState
		want      bool
	}{
		{"nothing to return", heapState{cycles: 1}, heapState{free: 1 << 20, objects: 100 << 20, live: 99 << 20, cycles: 1}, false},
		{"free spans over the threshold, busy", heapState{cycles: 1}, heapState{free: th + 1, cycles: 5}, true},
		{"free spans at the threshold, busy", heapState{cycles: 1}, heapState{free: th, cycles: 2}, false},
		{"free spans after a burst, idle since", heapState{cycles: 3}, heapState{free: idle + 1, objects: 200 << 20, live: 200 << 20, cycles: 3}, true},
		{"a burst's garbage, idle since", heapState{cycles: 3}, heapState{objects: 200<<20 + idle + 1, live: 200 << 20, cycles: 3}, true},
		{"free and garbage together, idle", heapState{cycles: 3}, heapState{free: idle / 2, objects: 200<<20 + idle/2 + 1, live: 200 << 20, cycles: 3}, true},
		{"free and garbage at the threshold, idle", heapState{cycles: 3}, heapState{free: idle / 2, objects: 200<<20 + idle/2, live: 200 << 20, cycles: 3}, false},
		{"garbage, but collecting on its own", heapState{cycles: 3}, heapState{free: th, objects: 500 << 20, live: 200 << 20, cycles: 4}, false},
		{"live grew past the last reading, idle", heapState{cycles: 3}, heapState{objects: 100 << 20, live: 200 << 20, cycles: 3}, false},
	} {
		if got := shouldReturn(tc.prev, tc.cur); got != tc.want {
			t.Errorf("%s: shouldReturn = %v, want %v", tc.name, got, tc.want)
		}
	}
}
