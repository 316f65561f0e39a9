package transport

import (
	"fmt"
	"time"
)

// flow is an ordered pair of node names: bytes from one to the other.
type flow struct{ from, to string }

// pairKey is the unordered pair {a, b} as a flow.
func pairKey(a, b string) flow {
	if b < a {
		a, b = b, a
	}
	return flow{a, b}
}

// matches reports whether rule name n (possibly Any) names node x. An
// unknown node ("") is matched only by Any.
func matches(n, x string) bool { return n == Any || (n == x && x != "") }

// pairMatches reports whether the unordered rule pair {a, b} covers a
// connection between x and y.
func pairMatches(a, b, x, y string) bool {
	return (matches(a, x) && matches(b, y)) || (matches(a, y) && matches(b, x))
}

// flowRule is the set of faults on one flow.
type flowRule struct {
	stalled       bool
	delay, jitter time.Duration
	cutGen        uint64 // 0: no byte budget; otherwise which CutAfter set it
	cutN          int64  // the budget, or its maximum when cutRandom
	cutRandom     bool
}

// flowLocked merges the rules that apply to bytes from x to y: stalled if
// any is, the longest delay and jitter, and the most recent byte budget.
func (f *Faults) flowLocked(x, y string) flowRule {
	var m flowRule
	for k, r := range f.flows {
		if !matches(k.from, x) || !matches(k.to, y) {
			continue
		}
		m.stalled = m.stalled || r.stalled
		m.delay = max(m.delay, r.delay)
		m.jitter = max(m.jitter, r.jitter)
		if r.cutGen > m.cutGen {
			m.cutGen, m.cutN, m.cutRandom = r.cutGen, r.cutN, r.cutRandom
		}
	}
	return m
}

// partitionedLocked reports whether a partition separates x and y.
func (f *Faults) partitionedLocked(x, y string) bool {
	for k := range f.partitions {
		if pairMatches(k.from, k.to, x, y) {
			return true
		}
	}
	return false
}

// dialAllowed reports why a dial from one node to another must fail, if it
// must.
func (f *Faults) dialAllowed(from, to string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.partitionedLocked(from, to) {
		return fmt.Errorf("%w: %s and %s", ErrPartitioned, from, to)
	}
	now := time.Now()
	for _, target := range []string{to, Any} {
		until, ok := f.refusals[target]
		if !ok {
			continue
		}
		if !until.IsZero() && !now.Before(until) {
			delete(f.refusals, target)
			continue
		}
		return fmt.Errorf("%w: dials to %s refused by fault injection", ErrConnRefused, to)
	}
	return nil
}
