// Package allocs measures allocations, for the tests that prove a peer's
// declared sizes cost nothing before the bytes arrive.
package allocs

import "runtime"

// During returns the bytes the process allocated on the heap while fn ran
// (after a collection, so that earlier garbage does not count).
func During(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}
