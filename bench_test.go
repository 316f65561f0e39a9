package replikv

import (
	"net"

	"bytes"
	"context"
	"encoding/binary"
	"github.com/replikv/replikv/resp"
	"github.com/replikv/replikv/transport"
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The reference dataset of the benchmarks: 16-byte keys, 64-byte values.
const benchKeys = 1_000_000

func benchKey(i int) string {
	var b [16]byte
	copy(b[:], "key:")
	binary.BigEndian.PutUint64(b[8:], uint64(i))
	return string(b[:])
}

func benchValue(rng *rand.Rand) []byte {
	v := make([]byte, 64)
	for j := 0; j < 64; j += 8 {
		binary.LittleEndian.PutUint64(v[j:], rng.Uint64())
	}
	return v
}

func fillBench(b *testing.B, s *Store, n int) {
	b.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < n; i++ {
		if err := s.Set(benchKey(i), benchValue(rng)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMemoryPerKey reports the Go heap held per key (after GC) for the
// reference dataset; Redis 7.0 needs 168 B/key for the same data.
func BenchmarkMemoryPerKey(b *testing.B) {
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		s, _ := New(Config{ActiveExpiryInterval: -1})
		fillBench(b, s, benchKeys)
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/benchKeys, "B/key")
		runtime.KeepAlive(s)
		s.Close()
	}
}

// BenchmarkGetParallel reads 100k keys of 64-byte values from every
// core: Get (a copy the caller owns), AppendGet into a reused buffer, and
// View (in place). AppendGet and View do not allocate.
func BenchmarkGetParallel(b *testing.B) {
	s, _ := New(Config{ActiveExpiryInterval: -1})
	defer s.Close()
	const n = 100_000
	fillBench(b, s, n)
	keys := make([]string, n)
	for i := range keys {
		keys[i] = benchKey(i)
	}
	reads := map[string]func(key string, buf []byte) ([]byte, error){
		"Get":       func(key string, _ []byte) ([]byte, error) { return s.Get(key) },
		"AppendGet": func(key string, buf []byte) ([]byte, error) { return s.AppendGet(buf[:0], key) },
		"View": func(key string, buf []byte) ([]byte, error) {
			return buf, s.View(key, func([]byte) error { return nil })
		},
	}
	for _, name := range []string{"Get", "AppendGet", "View"} {
		read := reads[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := rand.IntN(n)
				buf := make([]byte, 0, 128)
				var err error
				for pb.Next() {
					if buf, err = read(keys[i], buf); err != nil {
						b.Fatal(err)
					}
					i++
					if i == n {
						i = 0
					}
				}
			})
		})
	}
}

func BenchmarkSetParallel(b *testing.B) {
	s, _ := New(Config{ActiveExpiryInterval: -1, BacklogSize: 1 << 20})
	defer s.Close()
	const n = 100_000
	keys := make([]string, n)
	for i := range keys {
		keys[i] = benchKey(i)
	}
	val := benchValue(rand.New(rand.NewPCG(3, 4)))
	b.ReportAllocs()
	b.SetBytes(16 + 64)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := rand.IntN(n)
		for pb.Next() {
			if err := s.Set(keys[i], val); err != nil {
				b.Fatal(err)
			}
			i++
			if i == n {
				i = 0
			}
		}
	})
}

// BenchmarkStreamAppend measures encoding one SET with PXAT into the stream,
// the backlog and one subscriber.
func BenchmarkStreamAppend(b *testing.B) {
	st := newStream(1<<20, time.Now)
	sub := st.newSubscriptionLocked(0, SubscribeLimits{Hard: 1 << 30, Soft: 1 << 30})
	st.subs = append(st.subs, sub)
	key := benchKey(1)
	val := benchValue(rand.New(rand.NewPCG(5, 6)))
	var buf []byte
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		st.mu.Lock()
		st.emitSetLocked(0, key, val, 1_900_000_000_000)
		st.mu.Unlock()
		if i%1024 == 0 {
			buf, _, _ = sub.Next(context.Background(), buf)
		}
	}
}

func benchSnapshotStore(b *testing.B) *Store {
	s, _ := New(Config{ActiveExpiryInterval: -1})
	fillBench(b, s, benchKeys)
	return s
}

// BenchmarkSnapshotEncode1M writes a point-in-time RDB of the reference
// dataset (1M keys).
func BenchmarkSnapshotEncode1M(b *testing.B) {
	s := benchSnapshotStore(b)
	defer s.Close()
	var n int64
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		sn, _ := s.BeginSnapshot(context.Background())
		n, _ = sn.WriteTo(io.Discard)
	}
	b.SetBytes(n)
}

// BenchmarkSnapshotDecode1M loads the reference dataset's RDB into a store
// (beside, then swapped in).
func BenchmarkSnapshotDecode1M(b *testing.B) {
	s := benchSnapshotStore(b)
	var buf bytes.Buffer
	sn, _ := s.BeginSnapshot(context.Background())
	sn.WriteTo(&buf)
	s.Close()
	d, _ := New(Config{ActiveExpiryInterval: -1})
	defer d.Close()
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := d.LoadSnapshot(context.Background(), bytes.NewReader(buf.Bytes()), LoadOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSnapshotWriterStall runs a writer while a 1M-key snapshot is
// written and reports the longest and the 99.9th percentile Set latency
// seen during it, beside the same figures without a snapshot, and the
// longest time the snapshot held a shard's lock. One writer plus the
// snapshot keep two goroutines busy on a 2-core machine: more writers would
// measure the scheduler's time slices rather than the snapshot.
func BenchmarkSnapshotWriterStall(b *testing.B) {
	s := benchSnapshotStore(b)
	defer s.Close()
	measure := func(during func()) (maxLat, p999 time.Duration) {
		var stop atomic.Bool
		var mu sync.Mutex
		var lats []time.Duration
		var wg sync.WaitGroup
		for w := 0; w < 1; w++ {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(w), 9))
				val := benchValue(rng)
				var mine []time.Duration
				for !stop.Load() {
					k := benchKey(rng.IntN(benchKeys))
					t0 := time.Now()
					s.Set(k, val)
					mine = append(mine, time.Since(t0))
				}
				mu.Lock()
				lats = append(lats, mine...)
				mu.Unlock()
			})
		}
		during()
		stop.Store(true)
		wg.Wait()
		slices.Sort(lats)
		return lats[len(lats)-1], lats[len(lats)*999/1000]
	}
	for b.Loop() {
		baseMax, baseP := measure(func() { time.Sleep(300 * time.Millisecond) })
		var hold time.Duration
		snapMax, snapP := measure(func() {
			sn, _ := s.BeginSnapshot(context.Background())
			sn.WriteTo(io.Discard)
			hold = sn.MaxPause()
		})
		b.ReportMetric(float64(hold.Microseconds()), "max-shard-lock-µs")
		b.ReportMetric(float64(snapMax.Microseconds()), "max-stall-µs")
		b.ReportMetric(float64(snapP.Microseconds()), "p999-µs")
		b.ReportMetric(float64(baseMax.Microseconds()), "baseline-max-µs")
		b.ReportMetric(float64(baseP.Microseconds()), "baseline-p999-µs")
	}
}

// BenchmarkFullSync1M measures a replica's initial sync of the reference
// dataset (1M keys): handshake, snapshot streamed with EOF framing, load
// beside and swap, over the in-memory network and over TCP on loopback.
func BenchmarkFullSync1M(b *testing.B) {
	for _, tr := range []string{"mem", "tcp"} {
		b.Run(tr, func(b *testing.B) {
			p := benchSnapshotStore(b)
			defer p.Close()
			var l net.Listener
			var d transport.Dialer
			if tr == "mem" {
				mn := transport.NewMemNetwork()
				l, _ = mn.Listen("p")
				d = mn.Dialer("p")
			} else {
				l, _ = net.Listen("tcp", "127.0.0.1:0")
				d = transport.TCP(l.Addr().String())
			}
			go p.Serve(l)
			b.ResetTimer()
			for b.Loop() {
				r, _ := New(Config{ActiveExpiryInterval: -1})
				r.ReplicaOf(d)
				if err := r.WaitSynced(context.Background()); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if r.Len() != benchKeys {
					b.Fatalf("replica has %d keys", r.Len())
				}
				r.Close()
				b.StartTimer()
			}
		})
	}
}

// BenchmarkApply measures a replica applying "SET key value PXAT ms" from
// its primary's stream (parse not included).
func BenchmarkApply(b *testing.B) {
	s, _ := New(Config{ActiveExpiryInterval: -1})
	defer s.Close()
	setRole(s, RoleReplica)
	val := benchValue(rand.New(rand.NewPCG(7, 8)))
	args := [][]byte{[]byte("SET"), nil, val, []byte("PXAT"), []byte("1900000000000")}
	var raw []byte
	keys := make([][]byte, 100_000)
	for i := range keys {
		keys[i] = []byte(benchKey(i))
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		args[1] = keys[i%len(keys)]
		raw = resp.AppendCommand(raw[:0], args...)
		if err := s.applyCommand(raw, args); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSetTwoReplicas measures parallel Sets on a primary with two
// in-memory replicas, counted until both have applied every write (issue
// 13's S2).
func BenchmarkSetTwoReplicas(b *testing.B) {
	network := transport.NewMemNetwork()
	cfg := Config{ActiveExpiryInterval: -1}
	p, _ := New(cfg)
	defer p.Close()
	l, _ := network.Listen("p")
	go p.Serve(l)
	var replicas []*Store
	for range 2 {
		r, _ := New(cfg)
		defer r.Close()
		r.ReplicaOf(network.Dialer("p"))
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if err := r.WaitSynced(ctx); err != nil {
			b.Fatal(err)
		}
		cancel()
		replicas = append(replicas, r)
	}
	const n = 100_000
	keys := make([]string, n)
	for i := range keys {
		keys[i] = benchKey(i)
	}
	val := benchValue(rand.New(rand.NewPCG(3, 4)))
	b.ReportAllocs()
	b.SetBytes(16 + 64)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := rand.IntN(n)
		for pb.Next() {
			if err := p.Set(keys[i], val); err != nil {
				b.Fatal(err)
			}
			i = (i + 1) % n
		}
	})
	_, end := p.Position()
	for _, r := range replicas {
		for {
			if _, off := r.Position(); off >= end {
				break
			}
			runtime.Gosched()
		}
	}
}
