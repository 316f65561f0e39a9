package replikv

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
	"github.com/replikv/replikv/transport"
)

// TestRedisMasterKeyCommands follows a real redis-server master through
// the key commands and through writes of other types over keys this
// replica holds as strings: the replica must end with the master's
// string keys exactly (its other types absent), and resync in full only
// where the effect on its database is unknowable (MOVE into it, SWAPDB).
func TestRedisMasterKeyCommands(t *testing.T) {
	m := startRedis(t)
	ctx := context.Background()
	c := m.client
	for i := range 12 {
		must(t, c.Set(ctx, fmt.Sprintf("base:%02d", i), fmt.Sprint(i), 0).Err())
	}
	cfg := interopConfig()
	cfg.ReplicaWritable = true // to plant local string keys the master does not have
	r := newStore(t, cfg)
	must(t, r.ReplicaOf(transport.TCP(m.addr())))
	waitSyncedFor(t, r, 60*time.Second)
	compareWithRedis(t, m, r, "master_repl_offset")
	// A chained replica: it receives the same bytes, and must never
	// continue a history from data that differs from the master's.
	port := servePrimary(t, r, "127.0.0.1:0")
	r2 := newStore(t, interopConfig())
	must(t, r2.ReplicaOf(transport.TCP(fmt.Sprintf("127.0.0.1:%d", port))))
	waitSyncedFor(t, r2, 60*time.Second)
	db3 := redis.NewClient(&redis.Options{Addr: m.addr(), DB: 3, Protocol: 2, DisableIdentity: true})
	defer db3.Close()

	// Phase 1: applied or dropped, never a resync.
	run(t, c,
		[]any{"SET", "a", "1", "EX", "3600"},
		[]any{"RENAME", "a", "b"},
		[]any{"SET", "c", "3"},
		[]any{"RENAMENX", "c", "d"},
		[]any{"COPY", "d", "e"},
		[]any{"COPY", "b", "e", "REPLACE"},
		[]any{"COPY", "d", "other", "DB", "3"},
		[]any{"SET", "s1", "string"},
		[]any{"HSET", "h", "f", "v"},
		[]any{"RENAME", "h", "s1"}, // a hash over a string key
		[]any{"SET", "s2", "string"},
		[]any{"COPY", "s1", "s2", "REPLACE"},
		[]any{"RPUSH", "list", "3", "1", "2"},
		[]any{"SET", "sorted", "string"},
		[]any{"SORT", "list", "STORE", "sorted"},
		[]any{"SET", "u", "string"},
		[]any{"SADD", "set1", "m"},
		[]any{"SUNIONSTORE", "u", "set1"},
		[]any{"SET", "mv", "moving out"},
		[]any{"MOVE", "mv", "3"},
		[]any{"SWAPDB", "4", "5"},
	)
	dump := func(key string) string {
		p, err := c.Dump(ctx, key).Result()
		must(t, err)
		return p
	}
	hashDump := dump("set1")
	must(t, c.Set(ctx, "src", "restored value", 0).Err())
	strDump := dump("src")
	run(t, c,
		[]any{"RESTORE", "r1", "3600000", strDump}, // sent with ABSTTL
		[]any{"SET", "r2", "string"},
		[]any{"RESTORE", "r2", "0", hashDump, "REPLACE"},
	)
	// Keys planted on the replica only, then written as other types.
	for _, k := range []string{"hk", "lk", "sk"} {
		must(t, r.Set(k, []byte("local")))
	}
	run(t, c,
		[]any{"HSET", "hk", "f", "v"},
		[]any{"LPUSH", "lk", "v"},
		[]any{"SADD", "sk", "v"},
	)
	_, err := c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, "tx1", "1", 0)
		p.Rename(ctx, "tx1", "tx2")
		p.HSet(ctx, "b", "f", "v") // fails: b is a string
		p.Copy(ctx, "d", "tx3", 0, false)
		return nil
	})
	if err == nil {
		// HSET over the string b fails inside the transaction on the
		// master (and is not propagated): b must stay a string here too.
		t.Fatal("HSET over a string key succeeded in the transaction")
	}
	compareWithRedis(t, m, r, "master_repl_offset")
	eventuallySame(t, m, r2)
	if mi := r2.Info().Master; mi.FullSyncs != 1 || mi.ResyncCommands != 0 {
		t.Fatalf("phase 1, chained: %d full syncs, %d resync commands", mi.FullSyncs, mi.ResyncCommands)
	}
	mi := r.Info().Master
	if mi.FullSyncs != 1 || mi.ResyncCommands != 0 {
		t.Fatalf("phase 1: %d full syncs, %d resync commands", mi.FullSyncs, mi.ResyncCommands)
	}
	for _, name := range []string{"hset", "lpush", "sadd", "sort", "sunionstore", "restore"} {
		if mi.DroppedCommands[name] == 0 {
			t.Errorf("%s not counted as dropped: %v", name, mi.DroppedCommands)
		}
	}

	// Phase 2: MOVE into our database, then SWAPDB with it, then SWAPDB
	// inside a transaction: each costs one full resync.
	full := func() int64 { return m.infoInt(t, "stats", "sync_full") }
	steps := []func(){
		func() {
			must(t, db3.Set(ctx, "y", "from db3", 0).Err())
			must(t, db3.Move(ctx, "y", 0).Err())
		},
		func() {
			db1 := redis.NewClient(&redis.Options{Addr: m.addr(), DB: 1, Protocol: 2, DisableIdentity: true})
			defer db1.Close()
			for i := range 12 {
				must(t, db1.Set(ctx, fmt.Sprintf("db1:%02d", i), "x", 0).Err())
			}
			must(t, c.Do(ctx, "SWAPDB", 0, 1).Err())
		},
		func() {
			_, err := c.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Set(ctx, "before", "1", 0)
				p.Do(ctx, "SWAPDB", 1, 0)
				p.Set(ctx, "after", "1", 0)
				return nil
			})
			must(t, err)
		},
	}
	for i, step := range steps {
		before := full()
		step()
		poll(t, 60*time.Second, "the replica's full resync", func() bool {
			return r.Info().Master.FullSyncs == int64(2+i) && r.LinkStatus() == LinkUp
		})
		compareWithRedis(t, m, r, "master_repl_offset")
		eventuallySame(t, m, r2)
		if got := full(); got != before+1 {
			t.Fatalf("step %d: the master served %d full syncs, want 1", i, got-before)
		}
		if n := r.Info().Master.ResyncCommands; n != int64(1+i) {
			t.Fatalf("step %d: %d resync commands counted", i, n)
		}
	}
	if r.Info().Master.PartialSyncs != 0 {
		t.Fatalf("%d partial syncs", r.Info().Master.PartialSyncs)
	}
}

// run sends each command to c, failing the test on an error.
func run(t *testing.T, c *redis.Client, cmds ...[]any) {
	t.Helper()
	for _, args := range cmds {
		if err := c.Do(context.Background(), args...).Err(); err != nil && err != redis.Nil {
			t.Fatalf("%v: %v", args, err)
		}
	}
}

// eventuallySame waits until s holds the master's string keys and is at
// its offset, on its primary's current history (a chained replica may
// pass through a stale copy while the replica above it resyncs).
func eventuallySame(t *testing.T, m *redisServer, s *Store) {
	t.Helper()
	var diff string
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		off := m.infoInt(t, "replication", "master_repl_offset")
		if _, mine := s.Position(); mine == off && s.LinkStatus() == LinkUp {
			if diff = cmp.Diff(m.dump(t), liveDump(s, time.Now().UnixMilli())); diff == "" {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("never the same as the master (-redis +replikv):\n%s", diff)
}
