package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/replikv/replikv/internal/redistest"
)

// zipfNorm is Σ_{k≤n} k^-s, summed from the smallest terms.
func zipfNorm(s float64, n int) float64 {
	var sum float64
	for k := n; k >= 1; k-- {
		sum += math.Pow(float64(k), -s)
	}
	return sum
}

// within reports whether count, out of draws, is within 5 standard
// deviations of the binomial count expected for probability p.
func within(count, draws int, p float64) (bool, float64, float64) {
	want := float64(draws) * p
	sd := math.Sqrt(float64(draws) * p * (1 - p))
	return math.Abs(float64(count)-want) <= 5*sd+1, want, sd
}

// TestZipfDistribution: the frequencies of ranks 1 to 10, and of the
// ranges of ranks past them, match k^-s / Σ i^-s within 5 standard
// deviations, for exponents below, at and above 1 and for a small and a
// large n (fixed seeds: the outcome does not vary between runs).
func TestZipfDistribution(t *testing.T) {
	const draws = 200_000
	for _, n := range []int{50, 1_000_000} {
		for _, s := range []float64{0.5, 0.8, 0.99, 1, 1.2, 2} {
			t.Run(fmt.Sprintf("n=%d,s=%v", n, s), func(t *testing.T) {
				z := newZipf(rand.New(rand.NewPCG(7, uint64(n))), s, n)
				counts := make([]int, n+1)
				for range draws {
					k := z.next()
					if k < 1 || k > n {
						t.Fatalf("rank %d out of [1, %d]", k, n)
					}
					counts[k]++
				}
				norm := zipfNorm(s, n)
				for k := 1; k <= min(10, n); k++ {
					p := math.Pow(float64(k), -s) / norm
					if good, want, sd := within(counts[k], draws, p); !good {
						t.Errorf("rank %d: %d draws, want %.0f ± %.0f", k, counts[k], want, 5*sd)
					}
				}
				// Ranges of ranks: (10, 30], (30, 100], … up to n.
				for lo := 10; lo < n; lo *= 3 {
					hi := min(lo*3, n)
					var p float64
					c := 0
					for k := lo + 1; k <= hi; k++ {
						p += math.Pow(float64(k), -s) / norm
						c += counts[k]
					}
					if good, want, sd := within(c, draws, p); !good {
						t.Errorf("ranks (%d, %d]: %d draws, want %.0f ± %.0f", lo, hi, c, want, 5*sd)
					}
				}
			})
		}
	}
}

// TestZipfSmall: with n = 1 every draw is 1; with n = 3 each rank's
// share is close to the exact one.
func TestZipfSmall(t *testing.T) {
	z := newZipf(rand.New(rand.NewPCG(1, 1)), 0.8, 1)
	for range 1000 {
		if k := z.next(); k != 1 {
			t.Fatalf("n = 1: rank %d", k)
		}
	}
	const draws = 300_000
	z = newZipf(rand.New(rand.NewPCG(1, 2)), 0.99, 3)
	var c [4]int
	for range draws {
		c[z.next()]++
	}
	norm := zipfNorm(0.99, 3)
	for k := 1; k <= 3; k++ {
		if good, want, sd := within(c[k], draws, math.Pow(float64(k), -0.99)/norm); !good {
			t.Errorf("n = 3, rank %d: %d, want %.0f ± %.0f", k, c[k], want, 5*sd)
		}
	}
}

// TestZipfDeterministic: a seed gives the same ranks; another seed does
// not.
func TestZipfDeterministic(t *testing.T) {
	draw := func(seed uint64) []int {
		z := newZipf(rand.New(rand.NewPCG(seed, 3)), 0.99, 1_000_000)
		out := make([]int, 10_000)
		for i := range out {
			out[i] = z.next()
		}
		return out
	}
	a, b, c := draw(1), draw(1), draw(2)
	if !slices.Equal(a, b) {
		t.Error("the same seed drew different ranks")
	}
	if slices.Equal(a, c) {
		t.Error("two seeds drew the same ranks")
	}
}

// TestTraceDeterministic: makeTrace gives the same trace for a seed, ids
// within the key space, and rank 1 is not simply id 0 (the ranks are
// permuted).
func TestTraceDeterministic(t *testing.T) {
	const keys, requests = 100_000, 50_000
	a := makeTrace(traceZipf12, keys, requests, 42)
	b := makeTrace(traceZipf12, keys, requests, 42)
	if !slices.Equal(a, b) {
		t.Fatal("the same seed made different traces")
	}
	if slices.Equal(a, makeTrace(traceZipf12, keys, requests, 43)) {
		t.Error("two seeds made the same trace")
	}
	counts := map[uint32]int{}
	for _, id := range a {
		if id >= keys {
			t.Fatalf("id %d out of a key space of %d", id, keys)
		}
		counts[id]++
	}
	top, topN := uint32(0), 0
	for id, n := range counts {
		if n > topN {
			top, topN = id, n
		}
	}
	if good, want, sd := within(topN, requests, 1/zipfNorm(1.2, keys)); !good {
		t.Errorf("the most frequent id %d: %d requests, want rank 1's %.0f ± %.0f", top, topN, want, 5*sd)
	}
	if top == 0 {
		t.Error("rank 1 is id 0: the ranks are not permuted")
	}
}

// TestScanTrace: half the requests of the scan trace are one-off keys,
// past the key space, each once and in ascending order; the others are
// Zipf keys within it, with the Zipf's head.
func TestScanTrace(t *testing.T) {
	const keys, requests = 100_000, 200_000
	tr := makeTrace(traceScan, keys, requests, 9)
	next := uint32(keys)
	scans := 0
	hot := map[uint32]int{}
	for _, id := range tr {
		if id >= keys {
			if id != next {
				t.Fatalf("scan key %d, want %d (sequential, each once)", id, next)
			}
			next++
			scans++
			continue
		}
		hot[id]++
	}
	if good, want, sd := within(scans, requests, traceScan.scan); !good {
		t.Errorf("%d scan requests of %d, want %.0f ± %.0f", scans, requests, want, 5*sd)
	}
	// Interleaved, not in blocks: the longest run of scan keys is short.
	longest, run := 0, 0
	for _, id := range tr {
		if id >= keys {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	if longest > 40 {
		t.Errorf("a run of %d scan keys in a row", longest)
	}
	topN := 0
	for _, n := range hot {
		topN = max(topN, n)
	}
	if good, want, sd := within(topN, requests-scans, 1/zipfNorm(traceScan.skew, keys)); !good {
		t.Errorf("the most frequent hot id: %d requests, want rank 1's %.0f ± %.0f", topN, want, 5*sd)
	}
}

// TestHitKey: keys are "key:" and 12 digits.
func TestHitKey(t *testing.T) {
	for _, id := range []uint32{0, 7, 1_000_000, math.MaxUint32} {
		k := string(appendHitKey([]byte("x"), id))
		if want := fmt.Sprintf("xkey:%012d", id); k != want || len(k) != 1+hitKeyLen {
			t.Errorf("key of %d: %q, want %q", id, k, want)
		}
	}
}

// TestHitQuickRedis runs H1's quick mode with redis-server on both sides
// (-hit-target redis), which checks the harness end to end whatever
// replikv supports: both columns have a hit ratio, evictions and keys
// held within maxmemory, and the summary compares them.
func TestHitQuickRedis(t *testing.T) {
	redistest.Require(t, "redis-server")
	redistest.Require(t, "redis-benchmark")
	if testing.Short() {
		t.Skip("builds replikv and runs two servers")
	}
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-quick", "-scenarios", "H1", "-hit-target", "redis", "-out", out}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	t.Logf("\n%s", stdout.String())
	b, err := os.ReadFile(filepath.Join(out, "hitratio.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep hitReport
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.ReplikvColumn != "redis" || len(rep.Rows) != 1 || len(rep.Best) != 1 {
		t.Fatalf("column %q, %d rows, %d summaries", rep.ReplikvColumn, len(rep.Rows), len(rep.Best))
	}
	r := rep.Rows[0]
	for name, f := range map[string]*hitFigures{"replikv column": r.Replikv, "Redis": r.Redis} {
		switch {
		case !ok(f):
			t.Errorf("%s: no figures: %+v", name, f)
		case f.HitPct <= 0 || f.HitPct >= 100:
			t.Errorf("%s: hit ratio %.2f %%", name, f.HitPct)
		case f.Evicted == 0 || f.Keys == 0 || f.Keys >= int64(rep.Keys):
			t.Errorf("%s: %d evicted, %d keys held of %d", name, f.Evicted, f.Keys, rep.Keys)
		case f.SetErrors != 0 || f.Note != "":
			t.Errorf("%s: %d SETs refused, note %q", name, f.SetErrors, f.Note)
		}
	}
	if r.Ratio == nil || rep.Best[0].Pass == nil {
		t.Errorf("no ratio or verdict: %+v %+v", r, rep.Best[0])
	}
	md, err := os.ReadFile(filepath.Join(out, "hitratio.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), "| zipf-0.99 | allkeys-lru |") || !strings.Contains(string(md), "best Redis policy") {
		t.Errorf("hitratio.md:\n%s", md)
	}
}

// TestHitUnsupported: a server that rejects the policy, or stores it
// without acting on it, makes a row marked unsupported rather than a
// failure; the summary says no replikv policy acts.
func TestHitUnsupported(t *testing.T) {
	h := &hitState{target: sysReplikv, runs: 1, sizes: quickHit}
	k := hitKey{"zipf-0.99", "allkeys-lru"}
	h.record(sysReplikv, k, hitFigures{Unsupported: "CONFIG SET maxmemory-policy allkeys-lru: ERR nope"})
	h.record(sysRedis, k, hitFigures{HitPct: 50, Keys: 10, Evicted: 5})
	out := t.TempDir()
	var w bytes.Buffer
	if err := h.save(out, &w); err != nil {
		t.Fatal(err)
	}
	rep := h.report()
	if rep.Rows[0].Ratio != nil || rep.Best[0].Pass == nil || *rep.Best[0].Pass || rep.Best[0].ReplikvHitPct != nil {
		t.Errorf("%+v %+v", rep.Rows[0], rep.Best[0])
	}
	for _, want := range []string{"unsupported", "none (no policy acts on maxmemory)", "ERR nope"} {
		if !strings.Contains(w.String(), want) {
			t.Errorf("no %q in\n%s", want, w.String())
		}
	}
}
