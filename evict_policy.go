package replikv

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
)

// EvictionPolicy is what a primary over Config.MaxMemory does before a
// write, with Redis's maxmemory-policy names and meanings.
type EvictionPolicy string

// The eviction policies. allkeys-* choose among every key, volatile-*
// only among keys with a deadline (and fail writes with ErrOOM when there
// is none to evict, as Redis does).
const (
	// NoEviction evicts nothing: writes that may grow the data fail with
	// ErrOOM while used memory is above MaxMemory. The default.
	NoEviction EvictionPolicy = "noeviction"
	// AllKeysLRU evicts the least recently used key among a sample.
	AllKeysLRU EvictionPolicy = "allkeys-lru"
	// AllKeysLFU evicts the least frequently used key among a sample.
	AllKeysLFU EvictionPolicy = "allkeys-lfu"
	// VolatileLRU is AllKeysLRU among keys with a deadline.
	VolatileLRU EvictionPolicy = "volatile-lru"
	// VolatileLFU is AllKeysLFU among keys with a deadline.
	VolatileLFU EvictionPolicy = "volatile-lfu"
	// VolatileTTL evicts the key with the nearest deadline among a sample.
	VolatileTTL EvictionPolicy = "volatile-ttl"
	// AllKeysRandom evicts a random key.
	AllKeysRandom EvictionPolicy = "allkeys-random"
	// VolatileRandom evicts a random key with a deadline.
	VolatileRandom EvictionPolicy = "volatile-random"
)

// EvictionPolicies lists every policy, in the order Redis documents them.
var EvictionPolicies = []EvictionPolicy{VolatileLRU, VolatileLFU, VolatileRandom, VolatileTTL,
	AllKeysLRU, AllKeysLFU, AllKeysRandom, NoEviction}

// ParseEvictionPolicy returns the policy named s (case-insensitive, as
// Redis's CONFIG SET maxmemory-policy accepts it).
func ParseEvictionPolicy(s string) (EvictionPolicy, error) {
	p := EvictionPolicy(strings.ToLower(s))
	if p.valid() {
		return p, nil
	}
	return "", fmt.Errorf("%w: eviction policy %q", ErrInvalidArgument, s)
}

func (p EvictionPolicy) valid() bool {
	for _, q := range EvictionPolicies {
		if p == q {
			return true
		}
	}
	return false
}

// String returns the Redis name of the policy.
func (p EvictionPolicy) String() string { return string(p) }

// IsLFU reports whether the policy keeps access frequencies (allkeys-lfu,
// volatile-lfu); every other policy keeps access times (as Redis, which
// keeps one or the other in the same 24 bits).
func (p EvictionPolicy) IsLFU() bool { return p == AllKeysLFU || p == VolatileLFU }

// volatile reports whether the policy chooses only among keys with a
// deadline.
func (p EvictionPolicy) volatile() bool { return strings.HasPrefix(string(p), "volatile-") }

// random reports whether the policy evicts a random key of its set.
func (p EvictionPolicy) random() bool { return p == AllKeysRandom || p == VolatileRandom }

// The per-key access word (one uint32 beside every bucket of a table).
// Under an LRU-keeping policy it is the time of the last access in units
// of lruUnitMs, wrapping; under an LFU policy the low 8 bits are Redis's
// logarithmic access counter and the next 16 the time of the last access
// in minutes, wrapping; the top 8 bits are unused.
const (
	lruUnitMs = 10 // resolution of the LRU clock: 10 ms, wrapping after 497 days
	lfuInit   = 5  // counter of a new key (Redis LFU_INIT_VAL): not evicted before it had a chance
)

// accessClock is the store's coarse clock for the access words.
type accessClock struct {
	lru uint32 // unix ms / lruUnitMs, wrapping
	min uint16 // unix minutes, wrapping
}

func clockAt(ms int64) accessClock {
	return accessClock{lru: uint32(ms / lruUnitMs), min: uint16(ms / 60000)}
}

// lfuParams are the LFU knobs (Redis lfu-log-factor and lfu-decay-time).
type lfuParams struct {
	logFactor int // a higher factor needs more accesses per counter step
	decayMin  int // minutes of idleness that take one off the counter; 0: never
}

// lfuCounter and lfuTime split an LFU access word.
func lfuCounter(w uint32) uint8 { return uint8(w) }
func lfuTime(w uint32) uint16   { return uint16(w >> 8) }
func lfuWord(c uint8, t uint16) uint32 {
	return uint32(c) | uint32(t)<<8
}

// lfuDecayed is the counter of w at clock c: one less per decayMin
// minutes since the key's last access.
func lfuDecayed(w uint32, c accessClock, p lfuParams) uint8 {
	n := lfuCounter(w)
	if p.decayMin <= 0 {
		return n
	}
	periods := int(c.min-lfuTime(w)) / p.decayMin // wrapping minutes
	if periods >= int(n) {
		return 0
	}
	return n - uint8(periods)
}

// lfuIncr adds one to counter n with probability 1/((n-lfuInit)*logFactor+1),
// so that the counter grows with the logarithm of the accesses; r is a
// uniform random number in [0, 1).
func lfuIncr(n uint8, r float64, logFactor int) uint8 {
	if n == math.MaxUint8 {
		return n
	}
	base := max(0, int(n)-lfuInit)
	if r < 1/float64(base*logFactor+1) {
		n++
	}
	return n
}

// touched is the access word of a key accessed at clock c, given its
// previous word w.
func touched(w uint32, c accessClock, lfu bool, p lfuParams) uint32 {
	if !lfu {
		return c.lru
	}
	n := lfuDecayed(w, c, p)
	if n < math.MaxUint8 {
		n = lfuIncr(n, rand.Float64(), p.logFactor)
	}
	return lfuWord(n, c.min)
}

// fresh is the access word of a key just created at clock c.
func fresh(c accessClock, lfu bool) uint32 {
	if !lfu {
		return c.lru
	}
	return lfuWord(lfuInit, c.min)
}

// idleMs is how long ago, in milliseconds, the LRU word w was stamped.
func idleMs(w uint32, c accessClock) int64 { return int64(c.lru-w) * lruUnitMs }

// evictScore ranks a candidate for eviction: the higher, the sooner it
// goes. w is its access word, deadline its deadline (0: none).
func evictScore(p EvictionPolicy, w uint32, deadline int64, c accessClock, lp lfuParams) uint64 {
	switch {
	case p == VolatileTTL:
		return math.MaxUint64 - uint64(deadline) // nearest deadline first
	case p.IsLFU():
		// Least frequent first; among equal counters, the longest idle.
		n := lfuDecayed(w, c, lp)
		idle := uint64(c.min - lfuTime(w))
		return uint64(math.MaxUint8-n)<<16 | idle
	default:
		return uint64(c.lru - w) // idle time, wrapping
	}
}
