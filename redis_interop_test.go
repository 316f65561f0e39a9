package replikv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
	"github.com/replikv/replikv/transport"
)

const interopKeys = 100_000

// fillRedis loads the interop dataset into a real server, with a few
// values of other types and a function library beside the strings.
func fillRedis(t *testing.T, r *redisServer) {
	t.Helper()
	ctx := context.Background()
	pipe := r.client.Pipeline()
	n := 0
	fillRedisLike(interopKeys, 1, func(key string, value []byte, ttl time.Duration) {
		if ttl > 0 {
			ttl += time.Hour // nothing expires during the test
		}
		pipe.Set(ctx, key, value, ttl)
		if n++; n%1000 == 0 {
			if _, err := pipe.Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
	})
	pipe.RPush(ctx, "other:list", "a", "b", "c")
	pipe.HSet(ctx, "other:hash", "f1", "v1", "f2", "v2")
	pipe.SAdd(ctx, "other:set", "x", "y")
	pipe.ZAdd(ctx, "other:zset", redis.Z{Score: 1, Member: "m"})
	pipe.XAdd(ctx, &redis.XAddArgs{Stream: "other:stream", Values: []string{"f", "v"}})
	pipe.Do(ctx, "FUNCTION", "LOAD", "#!lua name=interoplib\nredis.register_function('noop', function() return 1 end)")
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	db3 := redis.NewClient(&redis.Options{Addr: r.addr(), DB: 3, Protocol: 2, DisableIdentity: true})
	defer db3.Close()
	must(t, db3.Set(ctx, "in-db3", "not ours", 0).Err())
}

// compareWithRedis waits until store and server agree on the offset and
// on the whole keyspace (strings of db 0: values and deadlines). Nothing
// may write to either meanwhile: only the stream's PINGs move the offsets.
func compareWithRedis(t *testing.T, r *redisServer, s *Store, offsetField string) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		off := r.infoInt(t, "replication", offsetField)
		_, mine := s.Position()
		if off == mine {
			want := r.dump(t)
			got := liveDump(s, time.Now().UnixMilli())
			// The offsets must still agree after the dumps. They may have
			// moved together: a primary's PINGs (every PingPeriod) advance
			// both without touching a key, and under load the dumps can
			// take longer than a ping period, every time.
			off2 := r.infoInt(t, "replication", offsetField)
			if _, mine2 := s.Position(); off2 == mine2 {
				if d := cmp.Diff(want, got); d != "" {
					t.Fatalf("keyspaces differ at offset %d (-redis +replikv):\n%s", off, d)
				}
				if len(want) < 10 {
					t.Fatalf("compared only %d keys", len(want))
				}
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("offsets never met: redis %s=%d, replikv %d", offsetField, off, mine)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// liveRedisWrites issues the writes whose replicated forms a replica must
// handle: rewritten expiries, KEEPTTL, MULTI/EXEC, lowercase commands,
// other databases and types, and expiry DELs.
func liveRedisWrites(t *testing.T, r *redisServer) {
	t.Helper()
	ctx := context.Background()
	c := r.client
	for _, err := range []error{
		c.Set(ctx, "live:ex", "v", time.Hour).Err(),
		c.SetEx(ctx, "live:setex", "v", time.Hour).Err(),
		c.Do(ctx, "PSETEX", "live:psetex", "3600000", "v").Err(),
		c.Do(ctx, "set", "live:lower", "v").Err(),
		c.Expire(ctx, "k:0000005", 2*time.Hour).Err(),
		c.PExpire(ctx, "k:0000011", 3*time.Hour).Err(),
		c.GetEx(ctx, "k:0000017", time.Hour).Err(),
		c.Persist(ctx, "k:0000004").Err(),
		c.Incr(ctx, "k:0000001").Err(),
		c.IncrByFloat(ctx, "live:float", 1.5).Err(),
		c.Append(ctx, "k:0000000", "-appended").Err(),
		c.Del(ctx, "k:0000002", "k:0000003").Err(),
		c.Unlink(ctx, "k:0000008").Err(),
		c.Do(ctx, "SET", "k:0000010", "kept-ttl", "KEEPTTL").Err(),
		c.SAdd(ctx, "other:set", "z").Err(),
		c.Eval(ctx, "redis.call('SET', KEYS[1], 'a'); redis.call('SET', KEYS[2], 'b'); return 1", []string{"live:eval1", "live:eval2"}).Err(),
		c.Set(ctx, "live:short", "gone soon", 50*time.Millisecond).Err(),
		c.MSet(ctx, "live:m1", "1", "live:m2", "2").Err(),
	} {
		if err != nil && !errors.Is(err, redis.Nil) {
			t.Fatal(err)
		}
	}
	_, err := c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, "live:tx1", "1", 0)
		p.Incr(ctx, "live:tx2")
		return nil
	})
	must(t, err)
	db3 := redis.NewClient(&redis.Options{Addr: r.addr(), DB: 3, Protocol: 2, DisableIdentity: true})
	defer db3.Close()
	must(t, db3.Set(ctx, "db3:live", "x", 0).Err())
	must(t, c.Set(ctx, "live:after-db3", "y", 0).Err())
	// The short key expires on the master, which sends DEL.
	poll(t, 5*time.Second, "live:short to expire on the master", func() bool {
		return c.Exists(ctx, "live:short").Val() == 0
	})
}

func TestInteropFollowRedisMaster(t *testing.T) {
	m := startRedis(t)
	fillRedis(t, m)
	ctx := context.Background()

	r := newStore(t, interopConfig())
	must(t, r.ReplicaOf(transport.TCP(m.addr())))
	waitSyncedFor(t, r, 60*time.Second)
	compareWithRedis(t, m, r, "master_repl_offset")
	mi := r.Info().Master
	wantSkipped := map[string]int{"list": 1, "hash": 1, "set": 1, "zset": 1, "stream": 1}
	if d := cmp.Diff(wantSkipped, mi.SnapshotSkipped); d != "" || mi.SnapshotOtherDBKeys != 1 {
		t.Fatalf("snapshot skips (-want +got):\n%s other-db keys %d", d, mi.SnapshotOtherDBKeys)
	}

	liveRedisWrites(t, m)
	compareWithRedis(t, m, r, "master_repl_offset")
	if mi := r.Info().Master; mi.UnsupportedCommands < 1 || mi.OtherDBCommands < 1 {
		t.Fatalf("not counted: %d unsupported, %d for other dbs", mi.UnsupportedCommands, mi.OtherDBCommands)
	}
	// The master sees our ACKs: WAIT and INFO's slave0 offset.
	if n, err := m.client.Wait(ctx, 1, 2*time.Second).Result(); err != nil || n != 1 {
		t.Fatalf("WAIT 1 = %d, %v", n, err)
	}
	poll(t, 5*time.Second, "slave0 offset to equal master_repl_offset", func() bool {
		in := m.info(t, "replication")
		return strings.Contains(in["slave0"], "offset="+in["master_repl_offset"]+",")
	})

	// A dropped link resumes with a partial resync on both sides.
	before := m.infoInt(t, "stats", "sync_partial_ok")
	must(t, m.client.ClientKillByFilter(ctx, "TYPE", "replica").Err())
	poll(t, 10*time.Second, "a partial resync", func() bool {
		return m.infoInt(t, "stats", "sync_partial_ok") == before+1 && r.LinkStatus() == LinkUp
	})
	if !strings.Contains(m.log(), "Partial resynchronization request") || !strings.Contains(m.log(), "accepted") {
		t.Fatal("the master's log shows no accepted partial resynchronization")
	}
	must(t, m.client.Set(ctx, "after-partial", "1", 0).Err())
	compareWithRedis(t, m, r, "master_repl_offset")
	if mi := r.Info().Master; mi.PartialSyncs != 1 || mi.FullSyncs != 1 {
		t.Fatalf("replica counted %d partial, %d full", mi.PartialSyncs, mi.FullSyncs)
	}

	// Disk-based sync: $<len> framing.
	must(t, m.client.ConfigSet(ctx, "repl-diskless-sync", "no").Err())
	r2 := newStore(t, interopConfig())
	must(t, r2.ReplicaOf(transport.TCP(m.addr())))
	waitSyncedFor(t, r2, 60*time.Second)
	compareWithRedis(t, m, r2, "master_repl_offset")
}

func waitSyncedFor(t *testing.T, s *Store, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if err := s.WaitSynced(ctx); err != nil {
		t.Fatalf("WaitSynced: %v (%+v)", err, s.Info().Master)
	}
}

// servePrimary serves s on a loopback port and returns the port.
func servePrimary(t *testing.T, s *Store, addr string) int {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	must(t, err)
	done := make(chan struct{})
	go func() { defer close(done); s.Serve(l) }()
	t.Cleanup(func() { l.Close(); <-done })
	return l.Addr().(*net.TCPAddr).Port
}

func fillStore(t *testing.T, s *Store, seed uint64) {
	fillRedisLike(interopKeys, seed, func(key string, value []byte, ttl time.Duration) {
		if ttl > 0 {
			ttl += time.Hour
		}
		_, err := s.SetWithOptions(key, value, SetOptions{TTL: ttl})
		must(t, err)
	})
}

func liveStoreWrites(t *testing.T, s *Store) {
	must(t, s.Set("live:a", []byte("1")))
	must(t, s.SetTTL("live:b", []byte("2"), time.Hour))
	_, err := s.Delete("k:0000002")
	must(t, err)
	_, err = s.IncrBy("k:0000001", 10)
	must(t, err)
	_, err = s.Append("k:0000000", []byte("+tail"))
	must(t, err)
	_, err = s.Expire("k:0000005", 90*time.Minute)
	must(t, err)
	_, err = s.Persist("k:0000004")
	must(t, err)
	must(t, s.Atomic(func(tx *Tx) error {
		tx.Set("live:tx1", []byte("x"))
		_, err := tx.IncrBy("live:tx2", 5)
		return err
	}))
}

func TestInteropRedisFollowsUs(t *testing.T) {
	p := newStore(t, interopConfig())
	fillStore(t, p, 2)
	port := servePrimary(t, p, "127.0.0.1:0")
	s := startRedis(t, "--replicaof", "127.0.0.1", strconv.Itoa(port))
	poll(t, 60*time.Second, "the redis replica's link to be up", func() bool {
		return s.info(t, "replication")["master_link_status"] == "up"
	})
	compareWithRedis(t, s, p, "master_repl_offset")
	liveStoreWrites(t, p)
	compareWithRedis(t, s, p, "master_repl_offset")
	poll(t, 5*time.Second, "the redis replica's ACK", func() bool {
		in := p.Info()
		return len(in.Replicas) == 1 && in.Replicas[0].Offset == in.Offset
	})

	// CLIENT KILL TYPE replica on our side: Redis continues partially.
	before := p.Info().SyncPartialOK
	if p.DisconnectReplicas() != 1 {
		t.Fatal("no replica to disconnect")
	}
	poll(t, 10*time.Second, "a partial resync", func() bool { return p.Info().SyncPartialOK == before+1 })
	must(t, p.Set("after-partial", []byte("1")))
	compareWithRedis(t, s, p, "master_repl_offset")
	if !strings.Contains(s.log(), "Successful partial resynchronization") {
		t.Fatal("the redis replica's log shows no partial resynchronization")
	}
	if p.Info().SyncFull != 1 {
		t.Fatalf("%d full syncs", p.Info().SyncFull)
	}

	// Our restart: a new store on the same port, with other data. Redis
	// resyncs fully and follows the new history.
	p.Close()
	p2 := newStore(t, interopConfig())
	must(t, p2.Set("restarted", []byte("yes")))
	fillStore(t, p2, 3)
	servePrimary(t, p2, fmt.Sprintf("127.0.0.1:%d", port))
	poll(t, 60*time.Second, "a full resync from the restarted primary", func() bool { return p2.Info().SyncFull == 1 })
	compareWithRedis(t, s, p2, "master_repl_offset")
}

// TestInteropChain: redis → replikv → redis, the middle one serving the
// bytes it receives.
func TestInteropChain(t *testing.T) {
	m := startRedis(t)
	fillRedis(t, m)
	mid := newStore(t, interopConfig())
	port := servePrimary(t, mid, "127.0.0.1:0")
	must(t, mid.ReplicaOf(transport.TCP(m.addr())))
	waitSyncedFor(t, mid, 60*time.Second)
	end := startRedis(t, "--replicaof", "127.0.0.1", strconv.Itoa(port))
	poll(t, 60*time.Second, "the last replica's link to be up", func() bool {
		return end.info(t, "replication")["master_link_status"] == "up"
	})
	liveRedisWrites(t, m)
	compareWithRedis(t, m, mid, "master_repl_offset")
	compareWithRedis(t, end, mid, "master_repl_offset")
	if got, want := end.infoInt(t, "replication", "master_repl_offset"), m.infoInt(t, "replication", "master_repl_offset"); got != want {
		t.Fatalf("offsets along the chain: first %d, last %d", want, got)
	}
	// The last replica got the strings; values of other types were not ours to pass on.
	if err := end.client.Get(context.Background(), "other:list").Err(); !errors.Is(err, redis.Nil) {
		t.Logf("other:list on the last replica: %v", err)
	}
}

// interopConfig is fastConfig with Redis's PING period, so that keyspace
// comparisons (which take a moment for 100k keys) see a quiet stream, and
// Redis's repl-timeout, which must exceed the master's PING period (10 s).
func interopConfig() Config {
	c := fastConfig()
	c.PingPeriod = DefaultPingPeriod
	c.ReplTimeout = DefaultReplTimeout
	return c
}
