package server

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/replikv/replikv"
	"github.com/replikv/replikv/internal/redistest"
	"github.com/replikv/replikv/transport"
)

// portOf returns the port of a "host:port" address.
func portOf(addr string) string { _, p, _ := strings.Cut(addr, ":"); return p }

// redisWriter writes unique keys through c until stopped, and returns
// every write that was acknowledged with OK.
func redisWriter(c *redis.Client) (stop func() map[string]string) {
	var mu sync.Mutex
	acked := map[string]string{}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			k, v := fmt.Sprintf("w:%d", i), strconv.Itoa(i)
			if c.Set(context.Background(), k, v, 0).Err() == nil {
				mu.Lock()
				acked[k] = v
				mu.Unlock()
			}
		}
	}()
	return func() map[string]string {
		close(done)
		<-finished
		return acked
	}
}

// TestFailoverToRedisReplica: a replikv primary with a real redis-server
// replica and a replikv replica runs FAILOVER TO the Redis one under a
// writer. Redis takes over on PSYNC … FAILOVER; the replikv primary
// follows it with a partial resync (0 full syncs), the replikv replica
// continues through it; no acknowledged write is lost, ROLE shows the
// new topology and the offsets agree.
func TestFailoverToRedisReplica(t *testing.T) {
	ctx := context.Background()
	p := startNode(t, replikv.Config{}, Config{})
	pc := p.client(t, nil)
	red := redistest.Start(t)
	if err := red.Client.SlaveOf(ctx, "127.0.0.1", portOf(p.addr)).Err(); err != nil {
		t.Fatal(err)
	}
	sib := startNode(t, replikv.Config{}, Config{})
	if err := sib.store.ReplicaOf(transport.TCP(p.addr)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "both replicas online", func() bool {
		n := 0
		for _, r := range p.store.Info().Replicas {
			if r.State == "online" {
				n++
			}
		}
		return n == 2
	})
	for i := range 100 {
		pc.Set(ctx, fmt.Sprintf("pre:%d", i), i, 0)
	}
	stop := redisWriter(pc)
	eventually(t, "writes under way", func() bool { return p.store.Len() > 150 })
	if got := pc.Do(ctx, "FAILOVER", "TO", "127.0.0.1", red.Port, "TIMEOUT", "5000").String(); !strings.HasSuffix(got, "OK") {
		t.Fatalf("FAILOVER: %s", got)
	}
	eventually(t, "the failover to end", func() bool {
		return redistest.Info(t, pc, "replication")["master_failover_state"] == "no-failover" && p.store.Role() == replikv.RoleReplica
	})
	acked := stop()

	if got := redistest.Info(t, red.Client, "replication")["role"]; got != "master" {
		t.Fatalf("redis role after FAILOVER = %q", got)
	}
	roleP := pc.Do(ctx, "ROLE").Val().([]any)
	if roleP[0] != "slave" || roleP[2] != mustAtoi(t, red.Port) {
		t.Fatalf("ROLE on the old primary = %v", roleP)
	}
	if err := red.Client.Set(ctx, "after", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "offsets to agree", func() bool {
		ro := redistest.InfoInt(t, red.Client, "replication", "master_repl_offset")
		_, po := p.store.Position()
		_, so := sib.store.Position()
		return ro == po && po == so
	})
	for k, v := range acked {
		if got := red.Client.Get(ctx, k).Val(); got != v {
			t.Fatalf("acknowledged write %s=%s lost on the new primary (has %q)", k, v, got)
		}
	}
	if got := sib.store.Info().Master; got.FullSyncs != 1 {
		t.Fatalf("replikv sibling: %d full resyncs, want only its first", got.FullSyncs)
	}
	if got := p.store.Info().Master; got.FullSyncs != 0 || got.PartialSyncs < 1 {
		t.Fatalf("old primary: %d full, %d partial resyncs", got.FullSyncs, got.PartialSyncs)
	}
	if got := redistest.InfoInt(t, red.Client, "stats", "sync_full"); got != 0 {
		t.Fatalf("new Redis primary served %d full syncs", got)
	}
	if got, _ := sib.store.Get("after"); string(got) != "1" {
		t.Fatalf("sibling did not get the new primary's write: %q", got)
	}
}

// TestRedisFailoverToReplikv: a real redis-server primary runs FAILOVER
// TO its replikv replica: the replikv node takes over on PSYNC …
// FAILOVER (keeping the history), Redis follows it with a partial
// resync, and a write on the new primary reaches Redis.
func TestRedisFailoverToReplikv(t *testing.T) {
	ctx := context.Background()
	red := redistest.Start(t)
	for i := range 100 {
		red.Client.Set(ctx, fmt.Sprintf("pre:%d", i), i, 0)
	}
	r := startNode(t, replikv.Config{}, Config{})
	if err := r.store.ReplicaOf(transport.TCP("127.0.0.1:" + red.Port)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the replikv replica online", func() bool {
		return strings.Contains(redistest.Info(t, red.Client, "replication")["slave0"], "state=online")
	})
	stop := redisWriter(red.Client)
	eventually(t, "writes under way", func() bool { return r.store.Len() > 150 })
	if err := red.Client.Do(ctx, "FAILOVER", "TO", "127.0.0.1", portOf(r.addr), "TIMEOUT", "5000").Err(); err != nil {
		t.Fatalf("FAILOVER on Redis: %v", err)
	}
	eventually(t, "Redis to follow replikv", func() bool {
		in := redistest.Info(t, red.Client, "replication")
		return in["master_failover_state"] == "no-failover" && in["role"] == "slave" && in["master_link_status"] == "up"
	})
	acked := stop()
	if r.store.Role() != replikv.RolePrimary {
		t.Fatalf("replikv role = %v", r.store.Role())
	}
	rc := r.client(t, nil)
	if err := rc.Set(ctx, "after", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "Redis to get the new primary's write", func() bool { return red.Client.Get(ctx, "after").Val() == "1" })
	for k, v := range acked {
		if got, _ := r.store.Get(k); string(got) != v {
			t.Fatalf("acknowledged write %s=%s lost on the new primary (has %q)", k, v, got)
		}
	}
	in := r.store.Info()
	if in.SyncFull != 0 || in.SyncPartialOK < 1 {
		t.Fatalf("replikv as primary served %d full and %d partial resyncs; want a partial one only", in.SyncFull, in.SyncPartialOK)
	}
	_, off := r.store.Position()
	eventually(t, "offsets to agree", func() bool {
		return redistest.InfoInt(t, red.Client, "replication", "master_repl_offset") == off
	})
	if !strings.Contains(red.Log(), "Successful partial resynchronization with master") {
		t.Fatalf("Redis did not continue partially:\n%s", red.Log())
	}
}

// TestFailoverCommandErrors checks FAILOVER's replies against a real
// redis-server in the same situations (texts observed on 7.0.15).
func TestFailoverCommandErrors(t *testing.T) {
	ctx := context.Background()
	p := startNode(t, replikv.Config{}, Config{})
	pc := p.client(t, nil)
	red := redistest.Start(t)
	cases := [][]any{
		{"FAILOVER"},
		{"FAILOVER", "ABORT"},
		{"FAILOVER", "TIMEOUT", "-1"},
		{"FAILOVER", "TIMEOUT", "0"},
		{"FAILOVER", "TIMEOUT", "x"},
		{"FAILOVER", "FORCE"},
		{"FAILOVER", "TO", "x"},
		{"FAILOVER", "ABORT", "TIMEOUT", "5"},
		{"FAILOVER", "TO", "h", "1", "TO", "h", "1"},
		{"FAILOVER", "bogus"},
	}
	for _, args := range cases {
		want := fmt.Sprint(red.Client.Do(ctx, args...).Err())
		got := fmt.Sprint(pc.Do(ctx, args...).Err())
		if got != want {
			t.Errorf("%v: replikv %q, redis %q", args, got, want)
		}
	}
	// With a replica: unknown target, FORCE without a timeout; on the
	// replica itself.
	r := startNode(t, replikv.Config{}, Config{})
	if err := r.store.ReplicaOf(transport.TCP(p.addr)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a replica online", func() bool {
		in := p.store.Info()
		return len(in.Replicas) == 1 && in.Replicas[0].State == "online"
	})
	rc := r.client(t, nil)
	for args, want := range map[string]string{
		"FAILOVER TO 127.0.0.1 1": "ERR FAILOVER target HOST and PORT is not a replica.",
		"FAILOVER FORCE":          "ERR FAILOVER with force option requires both a timeout and target HOST and IP.",
		"FAILOVER TO 127.0.0.1 " + portOf(r.addr) + " FORCE": "ERR FAILOVER with force option requires both a timeout and target HOST and IP.",
	} {
		if err := pc.Do(ctx, strArgs(args)...).Err(); fmt.Sprint(err) != want {
			t.Errorf("%s: %v, want %q", args, err, want)
		}
	}
	if err := rc.Do(ctx, "FAILOVER").Err(); fmt.Sprint(err) != "ERR FAILOVER is not valid when server is a replica." {
		t.Errorf("FAILOVER on a replica: %v", err)
	}
	var rerr redis.Error
	if err := pc.Do(ctx, "FAILOVER", "ABORT").Err(); !errors.As(err, &rerr) || err.Error() != "ERR No failover in progress." {
		t.Errorf("FAILOVER ABORT: %v", err)
	}
}

func strArgs(s string) []any {
	var out []any
	for _, f := range strings.Fields(s) {
		out = append(out, f)
	}
	return out
}

func mustAtoi(t *testing.T, s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

var _ = time.Second
