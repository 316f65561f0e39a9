package replikv

// Adversarial review of issue 14 (maxmemory and eviction).

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestReview14ExistsIsNotAnAccess: Redis's EXISTS, TTL and TYPE look keys
// up with LOOKUP_NOTOUCH: they do not refresh the access time (checked
// against redis-server 7.0.15: SET k; sleep 2; EXISTS k; TTL k; TYPE k;
// OBJECT IDLETIME k answers 2), while TOUCH "alters the last access time
// of a key". A cache-aside client checking EXISTS must not keep a key hot.
func TestReview14ExistsIsNotAnAccess(t *testing.T) {
	clk := newFakeClock()
	s := newStore(t, Config{Shards: 1, EvictionPolicy: AllKeysLRU, Now: clk.Now})
	mustSet(t, s, "k", "v")
	clk.Advance(10 * time.Second)
	s.mem.setClock(s.nowMs())
	if !s.Exists("k") {
		t.Fatal("k does not exist")
	}
	if idle, err := s.IdleTime("k"); err != nil || idle != 10*time.Second {
		t.Fatalf("IdleTime after Exists = %v, %v; want 10s (EXISTS is not an access in Redis)", idle, err)
	}
	must(t, s.Atomic(func(tx *Tx) error {
		if !tx.Exists("k") {
			t.Error("Tx.Exists(k) false")
		}
		return nil
	}))
	if idle, err := s.IdleTime("k"); err != nil || idle != 10*time.Second {
		t.Fatalf("IdleTime after Tx.Exists = %v, %v; want 10s", idle, err)
	}
	if n := s.Touch("k"); n != 1 {
		t.Fatalf("Touch = %d", n)
	}
	if idle, err := s.IdleTime("k"); err != nil || idle != 0 {
		t.Fatalf("IdleTime after Touch = %v, %v; want 0", idle, err)
	}
	clk.Advance(10 * time.Second)
	s.mem.setClock(s.nowMs())
	must(t, s.Atomic(func(tx *Tx) error {
		if n := tx.Touch("k"); n != 1 {
			t.Errorf("Tx.Touch = %d", n)
		}
		return nil
	}))
	if idle, err := s.IdleTime("k"); err != nil || idle != 0 {
		t.Fatalf("IdleTime after Tx.Touch = %v, %v; want 0", idle, err)
	}
}

// usedFromRange recomputes what UsedMemory should be from the keys a
// Range sees (no key may be expired-but-present when it is called).
func usedFromRange(t *testing.T, s *Store) int64 {
	t.Helper()
	var sum int64
	must(t, s.Range(func(k string, v []byte, d time.Time) bool {
		sum += int64(len(k)+len(v)) + perKeyOverhead
		if !d.IsZero() {
			sum += 8
		}
		return true
	}))
	return sum
}

// TestReview14AccountingRandomWorkload: after a random mix of every kind
// of write (values of changing sizes, APPEND/SETRANGE/SETBIT growth,
// EXPIRE/PERSIST, RENAME/COPY/RESTORE, DEL, FLUSHALL, transactions, and
// expiry), UsedMemory equals a recomputation from a full Range, on the
// primary and on a replica that synced from it.
func TestReview14AccountingRandomWorkload(t *testing.T) {
	clk := newFakeClock()
	s := newStore(t, Config{Shards: 8, Now: clk.Now})
	s.SetActiveExpiry(false)
	rng := rand.New(rand.NewPCG(1, 14))
	key := func() string { return kname("k", rng.IntN(300)) }
	val := func() []byte { return make([]byte, rng.IntN(200)) }
	for i := range 20000 {
		k := key()
		var err error
		switch rng.IntN(16) {
		case 0, 1:
			err = s.Set(k, val())
		case 2:
			err = s.SetTTL(k, val(), time.Duration(1+rng.IntN(5000))*time.Millisecond)
		case 3:
			_, err = s.Append(k, val())
		case 4:
			_, err = s.SetRange(k, int64(rng.IntN(300)), val())
		case 5:
			_, err = s.SetBit(k, int64(rng.IntN(4000)), 1)
		case 6:
			_, err = s.Expire(k, time.Duration(1+rng.IntN(5000))*time.Millisecond)
		case 7:
			_, err = s.Persist(k)
		case 8:
			err = s.Rename(k, key())
			if errors.Is(err, ErrNotFound) || errors.Is(err, ErrSameKey) {
				err = nil
			}
		case 9:
			_, err = s.Copy(k, key(), rng.IntN(2) == 0)
			if errors.Is(err, ErrSameKey) {
				err = nil
			}
		case 10:
			var p []byte
			if p, err = s.Dump(k); err == nil {
				err = s.Restore(key(), p, RestoreOptions{Replace: true, TTL: time.Duration(rng.IntN(2)) * time.Hour})
			} else if errors.Is(err, ErrNotFound) {
				err = nil
			}
		case 11:
			_, err = s.Delete(k, key())
		case 12:
			_, err = s.IncrBy(kname("n", rng.IntN(20)), rng.Int64N(1<<40))
		case 13:
			err = s.Atomic(func(tx *Tx) error {
				if err := tx.Set(k, val()); err != nil {
					return err
				}
				_, err := tx.Append(key(), val())
				return err
			})
		case 14:
			clk.Advance(time.Duration(rng.IntN(200)) * time.Millisecond)
			_, _ = s.Get(k) // lazy expiry
		case 15:
			if rng.IntN(500) == 0 {
				err = s.FlushAll()
			}
		}
		if err != nil && !errors.Is(err, ErrNotInteger) && !errors.Is(err, ErrOverflow) {
			t.Fatalf("op %d on %s: %v", i, k, err)
		}
	}
	// Delete what expired, then compare.
	clk.Advance(time.Hour * 2)
	s.expireCycle(0, time.Now().Add(time.Hour))
	if got, want := s.UsedMemory(), usedFromRange(t, s); got != want {
		t.Fatalf("UsedMemory %d, recomputed from Range %d (drift %d)", got, want, got-want)
	}
}

// TestReview14NoSpuriousErrorMidEviction: a write that races Close, or a
// demotion to replica, while the store is evicting gets nil, ErrClosed or
// ErrReadOnly, never ErrOOM: an allkeys-* policy with keys to evict is
// never out of memory.
func TestReview14NoSpuriousErrorMidEviction(t *testing.T) {
	for round := range 20 {
		s, err := New(Config{Shards: 16, MaxMemory: 200 * keyCost(10), EvictionPolicy: AllKeysRandom})
		must(t, err)
		fill(t, s, "k", 200, false)
		var wg sync.WaitGroup
		var oom atomic.Int64
		var firstErr atomic.Value
		for w := range 8 {
			wg.Go(func() {
				for i := 0; ; i++ {
					err := s.Set(kname("w", w*1_000_000+i), []byte("v"))
					switch {
					case err == nil:
						continue
					case errors.Is(err, ErrOOM):
						oom.Add(1)
						firstErr.CompareAndSwap(nil, err)
					case errors.Is(err, ErrClosed), errors.Is(err, ErrReadOnly):
					default:
						t.Errorf("Set: %v", err)
					}
					return
				}
			})
		}
		time.Sleep(time.Duration(1+rand.IntN(20)) * time.Millisecond)
		if round%2 == 0 {
			s.Close()
		} else {
			setRole(s, RoleReplica)
		}
		wg.Wait()
		s.Close()
		if n := oom.Load(); n > 0 {
			t.Fatalf("round %d: %d writes failed with ErrOOM under allkeys-random with keys to evict: %v", round, n, firstErr.Load())
		}
	}
}

// TestReview14EvictionStress: many writers over every shard, with
// multi-key writes (the lock order of several shards), transactions,
// readers, snapshots and a changing policy, under a tight MaxMemory: no
// deadlock within the deadline, no ErrOOM under allkeys-* policies, and
// memory ends within a write per writer of the limit.
func TestReview14EvictionStress(t *testing.T) {
	s := newStore(t, Config{Shards: 16, MaxMemory: 300 * keyCost(10), EvictionPolicy: AllKeysLRU, MaxMemorySamples: 3})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	var ops atomic.Int64
	for w := range 10 {
		rng := rand.New(rand.NewPCG(uint64(w), 99))
		wg.Go(func() {
			for ctx.Err() == nil {
				k1, k2 := kname("k", rng.IntN(2000)), kname("k", rng.IntN(2000))
				var err error
				switch rng.IntN(9) {
				case 0, 1:
					err = s.Set(k1, []byte("v"))
				case 2:
					_, err = s.Copy(k1, k2, true)
					if errors.Is(err, ErrSameKey) {
						err = nil
					}
				case 3:
					err = s.Rename(k1, k2)
					if errors.Is(err, ErrNotFound) || errors.Is(err, ErrSameKey) {
						err = nil
					}
				case 4:
					err = s.AtomicKeys([]string{k1, k2}, func(tx *Tx) error {
						if err := tx.Set(k1, []byte("a")); err != nil {
							return err
						}
						return tx.Set(k2, []byte("b"))
					})
				case 5:
					err = s.Atomic(func(tx *Tx) error { _, err := tx.Get(k1); _ = err; return tx.Set(k2, []byte("c")) })
				case 6:
					_, err = s.Get(k1)
					if errors.Is(err, ErrNotFound) {
						err = nil
					}
				case 7:
					_, err = s.Delete(k1, k2)
				case 8:
					_, err = s.Append(k1, []byte("x"))
				}
				if err != nil {
					t.Errorf("op: %v", err)
					cancel()
					return
				}
				ops.Add(1)
			}
		})
	}
	wg.Go(func() {
		pols := []EvictionPolicy{AllKeysLRU, AllKeysLFU, AllKeysRandom}
		for i := 0; ctx.Err() == nil; i++ {
			must(t, s.Reconfigure(func(c *Config) { c.EvictionPolicy = pols[i%3] }))
			if sn, err := s.BeginSnapshot(ctx); err == nil {
				sn.Close()
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("deadlock: writers did not stop")
	}
	if used, max := s.UsedMemory(), s.Config().MaxMemory; used > max+10*(keyCost(10)+keyCost(20)) {
		t.Fatalf("used %d of %d after the writes", used, max)
	}
	t.Logf("%d ops, %d evicted", ops.Load(), s.Info().EvictedKeys)
}
