package replikv

import (
	"context"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/replikv/replikv/transport"
)

// The benchmarks here run Debian's redis-server beside replikv on the
// reference dataset (1M keys, 16-byte keys, 64-byte values), so that the
// two are compared in one run on one machine. They skip without
// redis-server.

// benchRedis starts a redis-server holding the reference dataset.
func benchRedis(b *testing.B, args ...string) *redisServer {
	b.Helper()
	r := startRedis(b, args...)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	pipe := r.client.Pipeline()
	for i := 0; i < benchKeys; i++ {
		pipe.Set(ctx, benchKey(i), benchValue(rng), 0)
		if i%5000 == 4999 {
			if _, err := pipe.Exec(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		b.Fatal(err)
	}
	return r
}

// BenchmarkRedisMemoryPerKey reports redis-server's used_memory per key
// for the reference dataset, to set beside BenchmarkMemoryPerKey.
func BenchmarkRedisMemoryPerKey(b *testing.B) {
	for b.Loop() {
		r := startRedis(b)
		before := r.infoInt(b, "memory", "used_memory")
		ctx := context.Background()
		rng := rand.New(rand.NewPCG(1, 2))
		pipe := r.client.Pipeline()
		for i := 0; i < benchKeys; i++ {
			pipe.Set(ctx, benchKey(i), benchValue(rng), 0)
			if i%5000 == 4999 {
				pipe.Exec(ctx)
			}
		}
		pipe.Exec(ctx)
		after := r.infoInt(b, "memory", "used_memory")
		b.ReportMetric(float64(after-before)/benchKeys, "B/key")
	}
}

// BenchmarkRedisFullSync1M: a redis-server replica (a new process each
// time) full-syncing the reference dataset from a redis-server master,
// and a replikv replica doing the same from that master.
func BenchmarkRedisFullSync1M(b *testing.B) {
	m := benchRedis(b)
	b.Run("redis-to-redis", func(b *testing.B) {
		for b.Loop() {
			start := time.Now()
			r := startRedis(b, "--replicaof", "127.0.0.1", strconv.Itoa(m.port))
			for {
				in := r.info(b, "replication")
				if in["master_link_status"] == "up" && in["master_sync_in_progress"] == "0" {
					break
				}
				if time.Since(start) > time.Minute {
					b.Fatal("redis replica did not sync")
				}
				time.Sleep(time.Millisecond)
			}
			b.StopTimer()
			r.stop()
			b.StartTimer()
		}
	})
	b.Run("redis-to-replikv", func(b *testing.B) {
		for b.Loop() {
			s, _ := New(Config{ActiveExpiryInterval: -1})
			s.ReplicaOf(transport.TCP(m.addr()))
			if err := s.WaitSynced(context.Background()); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if s.Len() != benchKeys {
				b.Fatalf("%d keys", s.Len())
			}
			s.Close()
			b.StartTimer()
		}
	})
}
