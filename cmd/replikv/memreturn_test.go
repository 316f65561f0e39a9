package main

import (
	"runtime/metrics"
	"testing"
)

// TestReturnMemoryMetric: the runtime metric the binary watches exists
// (a Go release renaming it would silently turn the return off), and the
// threshold decides.
func TestReturnMemoryMetric(t *testing.T) {
	found := false
	for _, d := range metrics.All() {
		if d.Name == freeHeapMetric && d.Kind == metrics.KindUint64 {
			found = true
		}
	}
	if !found {
		t.Fatalf("runtime metric %s is missing", freeHeapMetric)
	}
	if shouldReturn(returnThreshold) || !shouldReturn(returnThreshold+1) {
		t.Fatal("shouldReturn does not follow the threshold")
	}
}
