package main

import "testing"

// heapSim is a crude model of the Go heap under GOGC=100, enough to count
// collections: a natural collection runs when the heap (live and garbage)
// reaches twice the live heap; it frees the garbage into free spans. A
// forced return (debug.FreeOSMemory) collects and returns everything.
type heapSim struct {
	st              heapState
	natural, forced int
}

func newHeapSim(live uint64) *heapSim {
	return &heapSim{st: heapState{objects: live, live: live}}
}

// alloc allocates n bytes that are garbage at once.
func (h *heapSim) alloc(n uint64) {
	h.st.objects += n
	if h.st.objects >= 2*h.st.live {
		h.st.free += h.st.objects - h.st.live
		h.st.objects = h.st.live
		h.st.cycles++
		h.natural++
	}
}

func (h *heapSim) forceReturn() {
	h.st.objects, h.st.free = h.st.live, 0
	h.st.cycles++
	h.forced++
}

// run drives a returner as returnMemory does, one tick a second, with
// perSecond bytes of garbage allocated during each second.
func (h *heapSim) run(r *returner, seconds int, perSecond uint64) {
	for range seconds {
		h.alloc(perSecond)
		if r.step(h.st) {
			h.forceReturn()
			r.returned(h.st)
		}
	}
}

// TestReviewTodayTrickleDoesNotForceCollections: a steady trickle of
// allocations on a large heap never triggers a collection of the
// runtime's own within a second, so each second looks "idle"; the
// garbage passes 16 MiB every few seconds and returnMemory forced a full
// collection (debug.FreeOSMemory) each time, forever. Each forced
// collection marks the whole live heap: measured on this machine, a
// 566 MiB heap of 4M small keys costs 1.6 to 2.1 s of CPU per
// FreeOSMemory, so a trickle of 8 MiB/s keeps a core busy, where the
// runtime alone would collect once every 70 s. The bound: at most two
// forced collections per collection of the runtime's own (its free
// spans after it, its garbage once idle), plus one.
func TestReviewTodayTrickleDoesNotForceCollections(t *testing.T) {
	for _, tc := range []struct {
		name      string
		live, per uint64
	}{
		{"1 GiB heap, 1 MiB/s", 1 << 30, 1 << 20},
		{"1 GiB heap, 4 MiB/s", 1 << 30, 4 << 20},
		{"1 GiB heap, 20 MiB/s", 1 << 30, 20 << 20},
		{"256 MiB heap, 8 MiB/s", 256 << 20, 8 << 20},
	} {
		h := newHeapSim(tc.live)
		r := &returner{prev: h.st}
		h.run(r, 1200, tc.per)
		t.Logf("%s: %d forced, %d natural collections in 20 min", tc.name, h.forced, h.natural)
		if h.forced > 2*h.natural+1 {
			t.Errorf("%s: %d forced collections in 20 min, the runtime's own %d: want at most twice its own, plus one",
				tc.name, h.forced, h.natural)
		}
	}
}

// TestReviewTodayBurstStillReturned: what the idle return is for keeps
// working: after a burst (collections of the runtime's own), the first
// idle second returns the burst's garbage, once.
func TestReviewTodayBurstStillReturned(t *testing.T) {
	h := newHeapSim(100 << 20)
	r := &returner{prev: h.st}
	h.run(r, 10, 300<<20) // a burst: three collections a second
	h.st.free = 0         // the scavenger returned the free spans; garbage is left
	natural, forced := h.natural, h.forced
	h.alloc(40 << 20) // the burst's tail, not collected
	h.run(r, 30, 0)   // idle
	if h.natural != natural || h.forced != forced+1 {
		t.Fatalf("after the burst: %d forced and %d natural collections, want 1 forced, 0 natural",
			h.forced-forced, h.natural-natural)
	}
	if g := h.st.objects - h.st.live; g != 0 {
		t.Fatalf("%d bytes of garbage left after an idle half minute", g)
	}
}
