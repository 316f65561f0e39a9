package replikv

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"
)

// TestInteropRedisJoinsUnderWrites: a real Redis 7.0 replica joins a
// replikv primary with 100,000 keys while a writer sends batches of 20
// SETs every millisecond, 20 times in a row (each join a full "$EOF:"
// resync: REPLICAOF NO ONE gives it a new history in between). None may
// stall: before the stream waited for the replica's first ACK, 2 joins in
// 5 never came up (the EOF mark and stream bytes in one read hide the
// mark from a Redis replica).
func TestInteropRedisJoinsUnderWrites(t *testing.T) {
	const joins, keys = 20, 100_000
	cfg := interopConfig()
	// Few PINGs: the final comparison needs the offsets to stay still while
	// 100,000 keys are read from Redis, which takes seconds on a loaded
	// machine (with a PING every 10 s they never did).
	cfg.PingPeriod = 45 * time.Second
	p := newStore(t, cfg)
	fillN(t, p, keys, 20)
	port := servePrimary(t, p, "127.0.0.1:0")
	r := startRedis(t, "--repl-diskless-load", "disabled")
	ctx := context.Background()

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			p.Atomic(func(tx *Tx) error {
				for j := range 20 {
					tx.Set(fmt.Sprintf("live:%d", (i*20+j)%50_000), []byte(strconv.Itoa(i)))
				}
				return nil
			})
		}
	}()
	stopWriter := sync.OnceFunc(func() { close(stop); wg.Wait() })
	defer stopWriter()

	var took []time.Duration
	for i := range joins {
		before := p.Info().SyncFull
		start := time.Now()
		must(t, r.client.ReplicaOf(ctx, "127.0.0.1", strconv.Itoa(port)).Err())
		poll(t, 60*time.Second, fmt.Sprintf("join %d: the redis replica's link to be up", i), func() bool {
			return r.info(t, "replication")["master_link_status"] == "up"
		})
		_, target := p.Position()
		poll(t, 60*time.Second, fmt.Sprintf("join %d: the redis replica to follow the stream", i), func() bool {
			return r.infoInt(t, "replication", "master_repl_offset") >= target
		})
		took = append(took, time.Since(start))
		if got := p.Info().SyncFull; got != before+1 {
			t.Fatalf("join %d: %d full syncs, want 1", i, got-before)
		}
		if i < joins-1 {
			must(t, r.client.ReplicaOf(ctx, "NO", "ONE").Err())
			poll(t, 10*time.Second, "the primary to drop the replica", func() bool { return len(p.Info().Replicas) == 0 })
		}
	}
	stopWriter()
	compareWithRedis(t, r, p, "master_repl_offset")
	t.Logf("%d joins of a redis replica under writes, 0 stalled; join-to-streaming times: %v", joins, took)
}
