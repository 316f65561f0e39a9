package replikv

import (
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/replikv/replikv/transport"
)

// TestEvictionReplicated: a primary evicting under a write load, with
// replicas syncing meanwhile (their snapshots taken while keys are being
// evicted) and one chained under another; once writes stop, every
// replica holds exactly the primary's keys, and only the primary evicted.
func TestEvictionReplicated(t *testing.T) {
	for _, p := range []EvictionPolicy{AllKeysLRU, AllKeysLFU, VolatileTTL, AllKeysRandom} {
		t.Run(string(p), func(t *testing.T) {
			tn := memNet{transport.NewMemNetwork()}
			cfg := fastConfig()
			cfg.BacklogSize = 16 << 20
			cfg.Shards = 64
			cfg.MaxMemory = 2000 * keyCost(20)
			cfg.EvictionPolicy = p
			prim := node(t, tn, "p", cfg)
			r1 := node(t, tn, "r1", cfg)
			r2 := node(t, tn, "r2", cfg)

			var stop atomic.Bool
			var wg sync.WaitGroup
			var ops atomic.Int64
			for w := range 2 {
				rng := rand.New(rand.NewPCG(7, uint64(w)))
				wg.Go(func() {
					for !stop.Load() {
						key := kname("k", int(rng.Uint64N(20000)))
						var err error
						switch rng.IntN(4) {
						case 0:
							_, err = prim.Get(key)
							if err == ErrNotFound {
								err = nil
							}
						case 1:
							err = prim.SetTTL(key, []byte("0123456789"), time.Hour+time.Duration(rng.IntN(1000))*time.Second)
						default:
							err = prim.Set(key, []byte("0123456789"))
						}
						if errors.Is(err, ErrOOM) && p.volatile() {
							err = nil // no key with a deadline left to evict
						}
						if err != nil {
							t.Errorf("write: %v", err)
							return
						}
						ops.Add(1)
					}
				})
			}
			waitOps := func(n int64) {
				deadline := time.Now().Add(30 * time.Second)
				for ops.Load() < n {
					if time.Now().After(deadline) {
						t.Fatalf("only %d operations", ops.Load())
					}
					time.Sleep(time.Millisecond)
				}
			}
			waitOps(5000) // evicting by now
			must(t, r1.ReplicaOf(tn.dialer("p")))
			must(t, r2.ReplicaOf(tn.dialer("r1")))
			waitSynced(t, r1)
			waitSynced(t, r2)
			waitOps(ops.Load() + 10000)
			stop.Store(true)
			wg.Wait()
			waitConverged(t, prim, r1, r2)

			in := prim.Info()
			if in.EvictedKeys == 0 || in.UsedMemory > cfg.MaxMemory+2*(keyCost(20)+8) { // a write per writer past the check
				t.Fatalf("primary: %d evicted, used %d of %d", in.EvictedKeys, in.UsedMemory, cfg.MaxMemory)
			}
			for i, r := range []*Store{r1, r2} {
				if ri := r.Info(); ri.EvictedKeys != 0 || ri.UsedMemory != in.UsedMemory {
					t.Fatalf("replica %d: %d evicted, used %d (primary %d)", i, ri.EvictedKeys, ri.UsedMemory, in.UsedMemory)
				}
			}
			t.Logf("%d operations, %d evictions, %d keys", ops.Load(), in.EvictedKeys, in.Keys)
		})
	}
}
