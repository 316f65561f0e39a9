package replikv

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkGetParallelLFU is BenchmarkGetParallel's View under
// allkeys-lfu with a limit the data never reaches: the cost of keeping the
// LFU counters on reads (a relaxed atomic load, and rarely a store).
func BenchmarkGetParallelLFU(b *testing.B) {
	s, _ := New(Config{ActiveExpiryInterval: -1, EvictionPolicy: AllKeysLFU, MaxMemory: 1 << 40})
	defer s.Close()
	const n = 100_000
	fillBench(b, s, n)
	keys := make([]string, n)
	for i := range keys {
		keys[i] = benchKey(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := rand.IntN(n)
		for pb.Next() {
			if err := s.View(keys[i], func([]byte) error { return nil }); err != nil {
				b.Fatal(err)
			}
			i++
			if i == n {
				i = 0
			}
		}
	})
}

// BenchmarkSetEvicting is BenchmarkSetParallel's writes into a store
// kept at a tenth of the keys by allkeys-lru: every new key costs an
// eviction (sampling, a DEL in the stream).
func BenchmarkSetEvicting(b *testing.B) {
	const n = 100_000
	s, _ := New(Config{ActiveExpiryInterval: -1, EvictionPolicy: AllKeysLRU,
		MaxMemory: n / 10 * (16 + 64 + perKeyOverhead)})
	defer s.Close()
	keys := make([]string, n)
	for i := range keys {
		keys[i] = benchKey(i)
	}
	val := benchValue(rand.New(rand.NewPCG(3, 4)))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := rand.IntN(n)
		for pb.Next() {
			if err := s.Set(keys[i], val); err != nil {
				b.Fatal(err)
			}
			i = (i + 7919) % n
		}
	})
}
