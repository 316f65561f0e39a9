package replikv

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
	"github.com/replikv/replikv/transport"
)

// startRedisIn runs redis-server on port with dir as its directory (so
// that a restart finds its dump.rdb), stopped when the test ends.
func startRedisIn(t *testing.T, port int, dir string, args ...string) *redisServer {
	t.Helper()
	bin := requireRedis(t)
	r := &redisServer{port: port, dir: dir}
	all := append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", dir, "--logfile", filepath.Join(dir, "redis.log"), "--daemonize", "no",
		"--repl-diskless-sync-delay", "0", "--protected-mode", "no"}, args...)
	r.cmd = exec.Command(bin, all...)
	must(t, r.cmd.Start())
	t.Cleanup(r.stop)
	r.client = redis.NewClient(&redis.Options{Addr: r.addr(), Protocol: 2, DisableIdentity: true})
	t.Cleanup(func() { r.client.Close() })
	poll(t, 10*time.Second, "redis-server to answer PING", func() bool {
		return r.client.Ping(context.Background()).Err() == nil
	})
	return r
}

// shutdownSave stops r with SHUTDOWN SAVE and waits for its exit.
func (r *redisServer) shutdownSave(t *testing.T) {
	t.Helper()
	r.client.Do(context.Background(), "SHUTDOWN", "SAVE") // the connection closes: no reply
	if err := r.cmd.Wait(); err != nil {
		t.Fatalf("redis-server after SHUTDOWN SAVE: %v\n%s", err, tail(r.log(), 2000))
	}
}

// TestRedisLoadsOurDump: a real redis-server started on a replikv-written
// dump.rdb holds the same keys, values and deadlines.
func TestRedisLoadsOurDump(t *testing.T) {
	requireRedis(t)
	dir := t.TempDir()
	s := newStore(t, Config{Dir: dir})
	fillRedisLike(20000, 7, func(k string, v []byte, ttl time.Duration) {
		if ttl > 0 {
			must(t, s.SetTTL(k, v, ttl))
		} else {
			must(t, s.Set(k, v))
		}
	})
	must(t, s.Save(context.Background(), ""))
	want := dump(s)
	r := startRedisIn(t, freePort(t), dir)
	got := r.dump(t)
	// Keys whose short TTL runs out around the comparison are left out
	// on both sides: Redis drops them at load or when read, replikv hides
	// them, and a key read just before its deadline is in one dump and
	// not the other. A second of margin covers a slow machine.
	cut := time.Now().UnixMilli() + 1000
	for _, m := range []map[string]entry{want, got} {
		for k, e := range m {
			if e.Deadline != 0 && e.Deadline <= cut {
				delete(m, k)
			}
		}
	}
	if len(want) < 15000 {
		t.Fatalf("only %d keys left to compare", len(want))
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("redis-server loaded something else (-replikv +redis):\n%s", d)
	}
}

// TestWeLoadRedisDump: New loads a dump.rdb written by redis-server 7.0
// (BGSAVE of testdata/persist/b_strings.bgsave.rdb, from
// /work/shared/testdata/redis7), and one a live redis-server saves.
func TestWeLoadRedisDump(t *testing.T) {
	dir := t.TempDir()
	b, err := os.ReadFile("testdata/persist/b_strings.bgsave.rdb")
	must(t, err)
	must(t, os.WriteFile(filepath.Join(dir, "dump.rdb"), b, 0o644))
	s, err := New(Config{Dir: dir})
	must(t, err)
	defer s.Close()
	if v, err := s.Get("ascii"); err != nil || string(v) != "hello world" {
		t.Fatalf("ascii = %q %v", v, err)
	}
	if n := s.PersistenceInfo().LoadedKeys; n != 19 {
		t.Fatalf("%d keys loaded, want the vector's 19", n)
	}

	requireRedis(t)
	r := startRedis(t)
	fillRedis(t, r)
	must(t, r.client.Save(context.Background()).Err())
	want := r.dump(t)
	s2, err := New(Config{Dir: r.dir})
	must(t, err)
	defer s2.Close()
	if d := cmp.Diff(want, liveDump(s2, time.Now().UnixMilli())); d != "" {
		t.Fatalf("loaded Redis dump differs (-redis +replikv):\n%s", d)
	}
}

// TestRedisPrimaryRestartWeContinue: a replikv replica of a redis-server
// primary that restarts from its dump.rdb (SHUTDOWN SAVE) continues with
// +CONTINUE under the new ID: no second full resync.
func TestRedisPrimaryRestartWeContinue(t *testing.T) {
	requireRedis(t)
	port, dir := freePort(t), t.TempDir()
	r := startRedisIn(t, port, dir)
	fillRedis(t, r)
	s := newStore(t, interopConfig())
	must(t, s.ReplicaOf(transport.TCP(r.addr())))
	waitSyncedFor(t, s, 30*time.Second)
	compareWithRedis(t, r, s, "master_repl_offset")
	r.shutdownSave(t)

	r2 := startRedisIn(t, port, dir)
	must(t, r2.client.Set(context.Background(), "after-restart", "1", 0).Err())
	poll(t, 30*time.Second, "the replica to continue", func() bool {
		_, err := s.Get("after-restart")
		return err == nil
	})
	m := s.Info().Master
	if m.FullSyncs != 1 || m.PartialSyncs != 1 {
		t.Fatalf("replica: %d full and %d partial resyncs, want 1 and 1", m.FullSyncs, m.PartialSyncs)
	}
	if n := r2.infoInt(t, "stats", "sync_partial_ok"); n != 1 {
		t.Fatalf("restarted redis-server: sync_partial_ok %d, want 1", n)
	}
	compareWithRedis(t, r2, s, "master_repl_offset")
}

// TestOurPrimaryRestartRedisContinues: a redis-server replica of a replikv
// primary that restarts from its snapshot (ShutdownSave) continues with
// +CONTINUE: sync_full 0 on the restarted primary, and the Redis replica
// did no second full sync.
func TestOurPrimaryRestartRedisContinues(t *testing.T) {
	requireRedis(t)
	dir := t.TempDir()
	cfg := interopConfig()
	cfg.Dir = dir
	p, err := New(cfg)
	must(t, err)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	addr := l.Addr().String()
	done := make(chan struct{})
	go func() { defer close(done); p.Serve(l) }()
	_, portStr, _ := net.SplitHostPort(addr)
	fillStore(t, p, 3)
	r := startRedis(t, "--replicaof", "127.0.0.1", portStr)
	poll(t, 30*time.Second, "redis to sync", func() bool { return r.info(t, "replication")["master_link_status"] == "up" })
	poll(t, 30*time.Second, "redis to catch up", func() bool {
		_, off := p.Position()
		return r.infoInt(t, "replication", "slave_repl_offset") == off
	})
	must(t, p.ShutdownSave(context.Background()))
	l.Close()
	<-done

	p2, err := New(cfg)
	must(t, err)
	defer p2.Close()
	l2, err := net.Listen("tcp", addr)
	must(t, err)
	done2 := make(chan struct{})
	go func() { defer close(done2); p2.Serve(l2) }()
	defer func() { p2.Close(); <-done2 }()
	must(t, p2.Set("after-restart", []byte("1")))
	poll(t, 60*time.Second, "redis to continue", func() bool {
		return r.client.Get(context.Background(), "after-restart").Val() == "1"
	})
	if in := p2.Info(); in.SyncFull != 0 || in.SyncPartialOK != 1 {
		t.Fatalf("restarted primary: %d full, %d partial resyncs; want 0 and 1", in.SyncFull, in.SyncPartialOK)
	}
	if n := r.infoInt(t, "replication", "master_repl_offset"); n == 0 {
		t.Fatal("redis replica at offset 0")
	}
	if id := r.info(t, "replication")["master_replid"]; id != p2.Info().ReplID {
		t.Fatalf("redis replica's replid %s, want the restarted primary's %s", id, p2.Info().ReplID)
	}
}
