package main

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// The request traces of the hit-ratio scenario H1 (hitratio.go): each is
// a sequence of key ids, generated from a fixed seed so that both systems
// replay the very same requests.

// zipfGen draws ranks k in [1, n] with probability k^-s / Σ_{i≤n} i^-s,
// for any exponent s > 0 (math/rand/v2's Zipf needs s > 1; a cache's
// traces are typically near s = 1 and below). It samples by
// rejection-inversion (W. Hörmann and G. Derflinger, "Rejection-inversion
// to generate variates from monotone discrete distributions", ACM TOMACS
// 6(3), 1996): each rank k owns an interval of length k^-s just below
// H(k+½), where H is an antiderivative of x^-s; those intervals are
// disjoint (x^-s is convex) and lie within [H(1½)−1, H(n+½)]. A uniform u
// in that range is inverted to x = H⁻¹(u) and rounded to k, and kept when
// u falls in k's own interval, which it does in the vast majority of
// draws. It needs no table, so the cost per draw does not depend on n.
type zipfGen struct {
	rng    *rand.Rand
	n      float64
	s      float64
	lo, hi float64 // the range of u: H(1.5) − 1 and H(n + 0.5)
}

// newZipf returns a generator of ranks in [1, n] with exponent s > 0,
// drawing from rng.
func newZipf(rng *rand.Rand, s float64, n int) *zipfGen {
	if !(s > 0) || n < 1 {
		panic(fmt.Sprintf("newZipf: s = %v, n = %d", s, n))
	}
	z := &zipfGen{rng: rng, n: float64(n), s: s}
	z.lo = z.bigH(1.5) - 1
	z.hi = z.bigH(z.n + 0.5)
	return z
}

// h is the unnormalised probability of rank x: x^-s.
func (z *zipfGen) h(x float64) float64 { return math.Exp(-z.s * math.Log(x)) }

// bigH is ∫₁ˣ t^-s dt = (x^(1−s) − 1)/(1−s), or ln x when s = 1, written
// as ln x · (e^((1−s)·ln x) − 1)/((1−s)·ln x) so that it stays exact as s
// nears 1.
func (z *zipfGen) bigH(x float64) float64 {
	l := math.Log(x)
	return l * expm1Over((1-z.s)*l)
}

// bigHInv is the inverse of bigH: x = (1 + (1−s)·y)^(1/(1−s)), or e^y
// when s = 1, written as exp(y · ln(1 + (1−s)·y)/((1−s)·y)).
func (z *zipfGen) bigHInv(y float64) float64 {
	return math.Exp(y * log1pOver((1-z.s)*y))
}

// expm1Over is (e^t − 1)/t, 1 at t = 0.
func expm1Over(t float64) float64 {
	if math.Abs(t) < 1e-8 {
		return 1 + t/2
	}
	return math.Expm1(t) / t
}

// log1pOver is ln(1 + t)/t, 1 at t = 0.
func log1pOver(t float64) float64 {
	if math.Abs(t) < 1e-8 {
		return 1 - t/2
	}
	return math.Log1p(t) / t
}

// next returns the next rank, in [1, n].
func (z *zipfGen) next() int {
	for {
		u := z.hi + z.rng.Float64()*(z.lo-z.hi) // in (lo, hi]
		x := z.bigHInv(u)
		k := math.Floor(x + 0.5)
		k = min(max(k, 1), z.n)
		// u lies below H(k+½) (x rounds to k); keep it when it is in
		// k's interval [H(k+½) − h(k), H(k+½)].
		if u >= z.bigH(k+0.5)-z.h(k) {
			return int(k)
		}
	}
}

// traceSpec describes one trace of H1.
type traceSpec struct {
	name string
	skew float64 // the Zipf exponent of the keys reused
	// scan is the share of requests that go to one-off keys, each asked
	// for once in ascending order (a scan through data that is never
	// read again), interleaved at random with the Zipf requests.
	scan float64
}

// The traces of the full run: three skews, and a scan-resistance test
// (half the requests from a Zipf 0.99 set, half one-off keys).
var (
	traceZipf08  = traceSpec{name: "zipf-0.8", skew: 0.8}
	traceZipf099 = traceSpec{name: "zipf-0.99", skew: 0.99}
	traceZipf12  = traceSpec{name: "zipf-1.2", skew: 1.2}
	traceScan    = traceSpec{name: "zipf-0.99+scan", skew: 0.99, scan: 0.5}
)

// makeTrace returns requests key ids of spec over a key space of keys
// ids, from seed: ids in [0, keys) are the Zipf keys, rank r being the
// id perm[r−1] of a seeded permutation (so that popularity does not
// follow the ids' order); ids keys, keys+1, … are the one-off keys of a
// scan, in the order they occur.
func makeTrace(spec traceSpec, keys, requests int, seed uint64) []uint32 {
	if keys < 1 || uint64(keys)+uint64(requests) > math.MaxUint32 {
		panic(fmt.Sprintf("makeTrace: %d keys, %d requests", keys, requests))
	}
	rng := rand.New(rand.NewPCG(seed, 0x7ace))
	perm := make([]uint32, keys)
	for i := range perm {
		perm[i] = uint32(i)
	}
	rng.Shuffle(keys, func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
	z := newZipf(rng, spec.skew, keys)
	out := make([]uint32, requests)
	next := uint32(keys)
	for i := range out {
		if spec.scan > 0 && rng.Float64() < spec.scan {
			out[i] = next
			next++
			continue
		}
		out[i] = perm[z.next()-1]
	}
	return out
}
