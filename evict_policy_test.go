package replikv

import (
	"errors"
	"math"
	"testing"
)

func TestParseEvictionPolicy(t *testing.T) {
	for _, p := range EvictionPolicies {
		got, err := ParseEvictionPolicy(string(p))
		if err != nil || got != p {
			t.Errorf("ParseEvictionPolicy(%q) = %q, %v", p, got, err)
		}
	}
	if got, err := ParseEvictionPolicy("AllKeys-LFU"); err != nil || got != AllKeysLFU {
		t.Errorf("case-insensitive parse: %q, %v", got, err)
	}
	if _, err := ParseEvictionPolicy("lru"); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("bad policy: %v", err)
	}
	for p, want := range map[EvictionPolicy][3]bool{ // lfu, volatile, random
		NoEviction: {}, AllKeysLRU: {}, AllKeysLFU: {true}, VolatileLRU: {false, true},
		VolatileLFU: {true, true}, VolatileTTL: {false, true}, AllKeysRandom: {false, false, true},
		VolatileRandom: {false, true, true},
	} {
		if got := [3]bool{p.IsLFU(), p.volatile(), p.random()}; got != want {
			t.Errorf("%s: lfu, volatile, random = %v, want %v", p, got, want)
		}
	}
}

func TestLFUCounter(t *testing.T) {
	lp := lfuParams{logFactor: 10, decayMin: 1}
	// Below the initial value every access counts; above it the chance falls.
	if got := lfuIncr(3, 0.999, 10); got != 4 {
		t.Errorf("lfuIncr(3) = %d, want 4", got)
	}
	if got := lfuIncr(15, 0.5, 10); got != 15 { // p = 1/101
		t.Errorf("lfuIncr(15, r=0.5) = %d, want 15", got)
	}
	if got := lfuIncr(15, 0.001, 10); got != 16 {
		t.Errorf("lfuIncr(15, r=0.001) = %d, want 16", got)
	}
	if got := lfuIncr(255, 0, 10); got != 255 {
		t.Errorf("saturates: %d", got)
	}
	// Decay: one per idle minute, wrapping minutes, never below 0.
	c := accessClock{min: 3}
	if got := lfuDecayed(lfuWord(10, 0), c, lp); got != 7 {
		t.Errorf("decayed after 3 minutes = %d, want 7", got)
	}
	if got := lfuDecayed(lfuWord(10, math.MaxUint16), c, lp); got != 6 {
		t.Errorf("decayed across the wrap = %d, want 6", got)
	}
	if got := lfuDecayed(lfuWord(2, 0), c, lp); got != 0 {
		t.Errorf("decayed below zero = %d", got)
	}
	if got := lfuDecayed(lfuWord(10, 0), c, lfuParams{logFactor: 10}); got != 10 {
		t.Errorf("decay time 0 decays: %d", got)
	}
	// A million accesses reach about 255 with factor 10, as Redis's table says.
	n := uint8(lfuInit)
	rng := uint64(1)
	for range 1_000_000 {
		rng = rng*6364136223846793005 + 1442695040888963407
		n = lfuIncr(n, float64(rng>>11)/(1<<53), 10)
	}
	if n < 200 {
		t.Errorf("counter after 1M accesses = %d, want about 255", n)
	}
	if w := fresh(c, true); lfuCounter(w) != lfuInit || lfuTime(w) != 3 {
		t.Errorf("fresh LFU word %x", w)
	}
}

func TestEvictScore(t *testing.T) {
	c := clockAt(1_700_000_000_000)
	lp := lfuParams{logFactor: 10, decayMin: 1}
	older, newer := c.lru-100, c.lru-1
	if evictScore(AllKeysLRU, older, 0, c, lp) <= evictScore(AllKeysLRU, newer, 0, c, lp) {
		t.Error("LRU: the longer idle key must score higher")
	}
	if idleMs(older, c) != 1000 {
		t.Errorf("idle = %d ms, want 1000", idleMs(older, c))
	}
	cold, hot := lfuWord(5, c.min), lfuWord(40, c.min)
	if evictScore(AllKeysLFU, cold, 0, c, lp) <= evictScore(AllKeysLFU, hot, 0, c, lp) {
		t.Error("LFU: the less frequent key must score higher")
	}
	if evictScore(VolatileTTL, 0, 1000, c, lp) <= evictScore(VolatileTTL, 0, 2000, c, lp) {
		t.Error("TTL: the nearer deadline must score higher")
	}
}
