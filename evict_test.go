package replikv

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// keyCost is what a key of n key+value bytes without deadline costs
// toward MaxMemory.
func keyCost(n int) int64 { return int64(n) + perKeyOverhead }

// kname is prefix and i padded with zeros to 9 bytes.
func kname(prefix string, i int) string { return fmt.Sprintf("%s%0*d", prefix, 9-len(prefix), i) }

func mustSet(t *testing.T, s *Store, key, val string) {
	t.Helper()
	if err := s.Set(key, []byte(val)); err != nil {
		t.Fatalf("Set %s: %v", key, err)
	}
}

func TestUsedMemoryAccounting(t *testing.T) {
	s := newStore(t, Config{Shards: 4})
	mustSet(t, s, "k1", "12345678")                 // 10 bytes
	must(t, s.SetTTL("k2", []byte("x"), time.Hour)) // 3 bytes + deadline
	want := keyCost(10) + keyCost(3) + 8
	if got := s.UsedMemory(); got != want {
		t.Fatalf("UsedMemory = %d, want %d", got, want)
	}
	if in := s.Info(); in.UsedMemory != want || in.MaxMemory != 0 || in.EvictionPolicy != NoEviction {
		t.Fatalf("Info memory fields %d %d %q", in.UsedMemory, in.MaxMemory, in.EvictionPolicy)
	}
	mustSet(t, s, "k1", "1") // shrinks
	if got, want := s.UsedMemory(), keyCost(3)+keyCost(3)+8; got != want {
		t.Fatalf("after overwrite UsedMemory = %d, want %d", got, want)
	}
	if _, err := s.Delete("k1", "k2"); err != nil {
		t.Fatal(err)
	}
	if got := s.UsedMemory(); got != 0 {
		t.Fatalf("empty store UsedMemory = %d", got)
	}
	mustSet(t, s, "a", "b")
	must(t, s.FlushAll())
	if got := s.UsedMemory(); got != 0 {
		t.Fatalf("after FLUSHALL UsedMemory = %d", got)
	}
}

// TestNoEvictionOOM: under noeviction, writes that may grow the data fail
// with ErrOOM once above the limit; DEL, EXPIRE and PERSIST still work,
// and writes work again once memory is back under the limit.
func TestNoEvictionOOM(t *testing.T) {
	s := newStore(t, Config{Shards: 4, MaxMemory: 10 * keyCost(10)})
	rec := record(t, s, 0)
	var i int
	for ; i < 100; i++ {
		if err := s.Set(kname("key", i), []byte("v")); err != nil {
			if !errors.Is(err, ErrOOM) {
				t.Fatalf("Set: %v, want ErrOOM", err)
			}
			break
		}
	}
	// Redis checks before the command: the write that crosses the limit
	// succeeds, the next fails.
	if i != 11 {
		t.Fatalf("%d writes succeeded, want 11", i)
	}
	for name, f := range map[string]func() error{
		"IncrBy":   func() error { _, err := s.IncrBy("n", 1); return err },
		"Append":   func() error { _, err := s.Append("key000000", []byte("x")); return err },
		"SetRange": func() error { _, err := s.SetRange("r", 0, []byte("x")); return err },
		"SetBit":   func() error { _, err := s.SetBit("b", 1, 1); return err },
		"Copy":     func() error { _, err := s.Copy("key000000", "c", false); return err },
		"Tx.Set":   func() error { return s.Atomic(func(tx *Tx) error { return tx.Set("t", nil) }) },
	} {
		if err := f(); !errors.Is(err, ErrOOM) {
			t.Errorf("%s above maxmemory: %v, want ErrOOM", name, err)
		}
	}
	if ok, err := s.Expire("key000001", time.Hour); !ok || err != nil {
		t.Fatalf("Expire above maxmemory: %v %v", ok, err)
	}
	if ok, err := s.Persist("key000001"); !ok || err != nil {
		t.Fatalf("Persist above maxmemory: %v %v", ok, err)
	}
	if n, err := s.Delete("key000000", "key000001"); n != 2 || err != nil {
		t.Fatalf("Delete above maxmemory: %d %v", n, err)
	}
	mustSet(t, s, "again", "v")
	if n := s.Info().EvictedKeys; n != 0 {
		t.Fatalf("noeviction evicted %d keys", n)
	}
	_, end := s.Position()
	for _, c := range commands(t, rec.bytesUntil(t, end)) {
		if c[0] == "DEL" && c[1] != "key000000" && c[1] != "key000001" {
			t.Fatalf("stream has an unexpected %q", c)
		}
	}
}

// fill writes n keys prefix00000… of 10 key+value bytes each, with a
// deadline when ttl is set.
func fill(t *testing.T, s *Store, prefix string, n int, ttl bool) {
	t.Helper()
	for i := range n {
		key := kname(prefix, i)
		var err error
		if ttl {
			err = s.SetTTL(key, []byte("v"), time.Hour+time.Duration(i)*time.Second)
		} else {
			err = s.Set(key, []byte("v"))
		}
		if err != nil {
			t.Fatalf("Set %s: %v", key, err)
		}
	}
}

// TestVolatileEvictsOnlyDeadlines: every volatile-* policy evicts only
// keys with a deadline, and fails writes with ErrOOM once none is left.
func TestVolatileEvictsOnlyDeadlines(t *testing.T) {
	for _, p := range []EvictionPolicy{VolatileLRU, VolatileLFU, VolatileTTL, VolatileRandom} {
		t.Run(string(p), func(t *testing.T) {
			s := newStore(t, Config{Shards: 8, EvictionPolicy: p})
			fill(t, s, "p", 50, false) // persistent
			fill(t, s, "v", 50, true)  // volatile
			must(t, s.Reconfigure(func(c *Config) { c.MaxMemory = s.UsedMemory() - 10*keyCost(10) }))
			var err error
			for i := 0; i < 200 && err == nil; i++ {
				err = s.Set(kname("new", i), []byte("v"))
			}
			if !errors.Is(err, ErrOOM) {
				t.Fatalf("writes after the volatile keys are gone: %v, want ErrOOM", err)
			}
			d := dump(s)
			for i := range 50 {
				if _, ok := d[kname("p", i)]; !ok {
					t.Fatalf("persistent key p%05d evicted", i)
				}
			}
			for k, e := range d {
				if k[0] == 'v' {
					t.Fatalf("volatile key %s (deadline %d) left while writes fail", k, e.Deadline)
				}
			}
			if n := s.Info().EvictedKeys; n < 50 {
				t.Fatalf("EvictedKeys = %d, want at least 50", n)
			}
		})
	}
}

// TestVolatileTTLOrder: with every key in the sample, volatile-ttl evicts
// in the order of the deadlines.
func TestVolatileTTLOrder(t *testing.T) {
	s := newStore(t, Config{Shards: 1, EvictionPolicy: VolatileTTL, MaxMemorySamples: 64})
	// Deadlines in an order unrelated to the keys' names.
	for i := range 40 {
		key := kname("v", i)
		must(t, s.SetTTL(key, []byte("v"), time.Hour+time.Duration((i*17)%40)*time.Second))
	}
	rec := record(t, s, s.st.end)
	_, start := s.Position()
	must(t, s.Reconfigure(func(c *Config) { c.MaxMemory = s.UsedMemory() - 10*(keyCost(10)+8) }))
	mustSet(t, s, "trigger", "x")
	_, end := s.Position()
	var evicted []string
	for _, c := range commands(t, rec.bytesUntil(t, end)[:end-start]) {
		if c[0] == "DEL" {
			evicted = append(evicted, c[1])
		}
	}
	if len(evicted) != 10 {
		t.Fatalf("evicted %v, want 10 keys", evicted)
	}
	for n, k := range evicted {
		var i int
		fmt.Sscanf(k, "v%08d", &i)
		if (i*17)%40 != n {
			t.Fatalf("eviction %d was %s with deadline rank %d (all: %v)", n, k, (i*17)%40, evicted)
		}
	}
}

// TestLRUEvictsLeastRecentlyRead: allkeys-lru with every key in the
// sample evicts the keys read longest ago; reads update recency.
func TestLRUEvictsLeastRecentlyRead(t *testing.T) {
	clk := newFakeClock()
	s := newStore(t, Config{Shards: 1, EvictionPolicy: AllKeysLRU, MaxMemorySamples: 64, Now: clk.Now})
	fill(t, s, "k", 30, false)
	// Read in a scrambled order, one second apart.
	order := make([]string, 30)
	for i := range 30 {
		clk.Advance(time.Second)
		s.mem.setClock(s.nowMs()) // what the expiry loop does every tick
		key := kname("k", (i*7)%30)
		order[i] = key
		if _, err := s.Get(key); err != nil {
			t.Fatal(err)
		}
	}
	if idle, err := s.IdleTime(order[0]); err != nil || idle != 29*time.Second {
		t.Fatalf("IdleTime of the first read = %v, %v; want 29s", idle, err)
	}
	must(t, s.Reconfigure(func(c *Config) { c.MaxMemory = s.UsedMemory() - 10*keyCost(10) }))
	clk.Advance(time.Second)
	mustSet(t, s, "trigger", "x") // evicts 10 keys, and counts "trigger"
	d := dump(s)
	for i, key := range order {
		_, kept := d[key]
		if kept != (i >= 10) {
			t.Fatalf("key %s read %d-th: kept %v (keys left %d)", key, i, kept, len(d))
		}
	}
	if _, err := s.AccessFrequency(order[29]); !errors.Is(err, ErrNotTracked) {
		t.Fatalf("AccessFrequency under LRU: %v, want ErrNotTracked", err)
	}
}

// TestLFUKeepsHotKeys: under allkeys-lfu with the default sampling, a
// stream of one-off keys evicts the cold ones and keeps the hot ones.
func TestLFUKeepsHotKeys(t *testing.T) {
	s := newStore(t, Config{Shards: 16, EvictionPolicy: AllKeysLFU, LFULogFactor: 1})
	fill(t, s, "hot", 20, false)
	for range 100 {
		for i := range 20 {
			if _, err := s.Get(kname("hot", i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if f, err := s.AccessFrequency("hot000000"); err != nil || f <= lfuInit+5 {
		t.Fatalf("AccessFrequency of a hot key = %d, %v", f, err)
	}
	if _, err := s.IdleTime("hot000000"); !errors.Is(err, ErrNotTracked) {
		t.Fatalf("IdleTime under LFU: %v, want ErrNotTracked", err)
	}
	must(t, s.Reconfigure(func(c *Config) { c.MaxMemory = 200 * keyCost(10) }))
	fill(t, s, "scan", 5000, false) // one-off keys, 25 times the room
	d := dump(s)
	for i := range 20 {
		if _, ok := d[kname("hot", i)]; !ok {
			t.Fatalf("hot key %d evicted by a scan (%d evictions)", i, s.Info().EvictedKeys)
		}
	}
	if used := s.UsedMemory(); used > 200*keyCost(10)+keyCost(10) {
		t.Fatalf("UsedMemory %d above the limit", used)
	}
}

// TestRandomPolicies: allkeys-random evicts any key, volatile-random only
// keys with a deadline; both keep memory at the limit.
func TestRandomPolicies(t *testing.T) {
	s := newStore(t, Config{Shards: 8, EvictionPolicy: AllKeysRandom})
	fill(t, s, "p", 100, false)
	must(t, s.Reconfigure(func(c *Config) { c.MaxMemory = 50 * keyCost(10) }))
	fill(t, s, "q", 100, false)
	if used := s.UsedMemory(); used > 51*keyCost(10) {
		t.Fatalf("UsedMemory %d above the limit", used)
	}
	var p, q int
	for k := range dump(s) {
		if k[0] == 'p' {
			p++
		} else {
			q++
		}
	}
	if p == 0 || q == 0 {
		t.Fatalf("allkeys-random kept %d old and %d new keys: not random", p, q)
	}
}

// TestReconfigureEvictionPolicy: the policy and the limit change at
// runtime; a store refusing writes under noeviction evicts once switched.
func TestReconfigureEvictionPolicy(t *testing.T) {
	s := newStore(t, Config{Shards: 8, MaxMemory: 20 * keyCost(10)})
	fill(t, s, "k", 21, false)
	if err := s.Set("more", []byte("v")); !errors.Is(err, ErrOOM) {
		t.Fatalf("Set above maxmemory under noeviction: %v", err)
	}
	must(t, s.Reconfigure(func(c *Config) { c.EvictionPolicy = AllKeysLRU }))
	mustSet(t, s, "more", "v")
	in := s.Info()
	if in.EvictionPolicy != AllKeysLRU || in.EvictedKeys == 0 || in.UsedMemory > in.MaxMemory+keyCost(10) {
		t.Fatalf("Info after switching: policy %q, evicted %d, used %d of %d", in.EvictionPolicy, in.EvictedKeys, in.UsedMemory, in.MaxMemory)
	}
	must(t, s.Reconfigure(func(c *Config) { c.MaxMemory = 0 }))
	fill(t, s, "z", 100, false)
	if s.Len() < 100 {
		t.Fatalf("no limit still evicts: %d keys", s.Len())
	}
	if err := s.Reconfigure(func(c *Config) { c.EvictionPolicy = "lru" }); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("bad policy: %v", err)
	}
	if err := s.Reconfigure(func(c *Config) { c.MaxMemorySamples = -1 }); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("bad samples: %v", err)
	}
	if _, err := New(Config{MaxMemory: -1}); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("negative MaxMemory: %v", err)
	}
}

// TestReadsDoNotAllocateWithLFU: the access bookkeeping keeps reads
// allocation-free.
func TestReadsDoNotAllocateWithLFU(t *testing.T) {
	for _, p := range []EvictionPolicy{AllKeysLFU, AllKeysLRU} {
		s := newStore(t, Config{EvictionPolicy: p, MaxMemory: 1 << 30})
		mustSet(t, s, "k", "value")
		buf := make([]byte, 0, 64)
		if n := testing.AllocsPerRun(1000, func() { buf, _ = s.AppendGet(buf[:0], "k") }); n != 0 {
			t.Fatalf("%s: AppendGet allocates %v times", p, n)
		}
	}
}

// TestReplicaDoesNotEvict: a replica above its own MaxMemory keeps what
// its primary sends and says so in Info.
func TestReplicaDoesNotEvict(t *testing.T) {
	p := newStore(t, Config{Shards: 4})
	fill(t, p, "k", 50, false)
	_, end := p.Position()
	rec := record(t, p, 0)
	r := newStore(t, Config{Shards: 4, MaxMemory: 10 * keyCost(10), EvictionPolicy: AllKeysLRU})
	setRole(r, RoleReplica)
	applyStream(t, r, rec.bytesUntil(t, end))
	if err := r.ReclaimMemory(); err != nil {
		t.Fatalf("ReclaimMemory on a replica: %v", err)
	}
	in := r.Info()
	if r.Len() != 50 || in.EvictedKeys != 0 || !in.OverMaxMemory {
		t.Fatalf("replica: %d keys, %d evicted, over %v", r.Len(), in.EvictedKeys, in.OverMaxMemory)
	}
	if p.Info().OverMaxMemory {
		t.Fatal("a primary without a limit reports OverMaxMemory")
	}
}
