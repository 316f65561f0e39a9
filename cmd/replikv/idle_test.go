package main

import (
	"bufio"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// requireRedisServer returns redis-server's path, skipping the test when
// it is not installed, or failing it with REPLIKV_REQUIRE_REDIS=1.
func requireRedisServer(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("REPLIKV_REQUIRE_REDIS") == "1" {
			t.Fatalf("redis-server is required (REPLIKV_REQUIRE_REDIS=1) but not found: %v", err)
		}
		t.Skip("redis-server not installed")
	}
	return path
}

// infoMap reads INFO section of c as a map.
func infoMap(t *testing.T, c *redis.Client, section string) map[string]string {
	t.Helper()
	s, err := c.Info(context.Background(), section).Result()
	if err != nil {
		t.Fatalf("INFO %s: %v", section, err)
	}
	m := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":"); ok {
			m[k] = v
		}
	}
	return m
}

// TestBinaryIdlePrimaryKeepsReplicas: an idle replikv primary keeps a
// real Redis replica (repl-timeout 12) and a replikv replica (the same)
// linked for 30 s without one reconnection: its PINGs (every 10 s by
// default) reach replicas handed over by the RESP server. Before, it
// never pinged them, and both timed out every 12 s.
func TestBinaryIdlePrimaryKeepsReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary for 30 s")
	}
	redisBin := requireRedisServer(t)
	bin := filepath.Join(t.TempDir(), "replikv")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	primary := startBinary(t, bin)
	host, port, _ := strings.Cut(primary.addr, ":")
	ours := startBinary(t, bin, "--replicaof", host+" "+port, "--repl-timeout", "12")

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rport := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	dir := t.TempDir()
	rs := exec.Command(redisBin, "--port", rport, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", dir, "--logfile", filepath.Join(dir, "redis.log"), "--replicaof", host, port, "--repl-timeout", "12")
	if err := rs.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		rs.Process.Kill()
		rs.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "redis.log"))
			t.Logf("redis-server log:\n%s", b)
		}
	})

	ctx := context.Background()
	pc := redis.NewClient(&redis.Options{Addr: primary.addr, MaxRetries: -1})
	defer pc.Close()
	oc := redis.NewClient(&redis.Options{Addr: ours.addr, MaxRetries: -1})
	defer oc.Close()
	rc := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + rport, Protocol: 2, MaxRetries: -1})
	defer rc.Close()
	if err := pc.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for infoMap(t, pc, "replication")["connected_slaves"] != "2" ||
		rc.Get(ctx, "k").Val() != "v" || oc.Get(ctx, "k").Val() != "v" {
		if time.Now().After(deadline) {
			t.Fatalf("the replicas did not sync: %v", infoMap(t, pc, "replication"))
		}
		time.Sleep(10 * time.Millisecond)
	}
	before := infoMap(t, pc, "stats")

	// 30 s of idleness: the condition is the passing of time itself.
	time.Sleep(30 * time.Second)

	after := infoMap(t, pc, "stats")
	for _, f := range []string{"sync_full", "sync_partial_ok", "sync_partial_err"} {
		if before[f] != after[f] {
			t.Errorf("%s went from %s to %s while idle: a replica reconnected", f, before[f], after[f])
		}
	}
	if got := infoMap(t, pc, "replication")["connected_slaves"]; got != "2" {
		t.Errorf("connected_slaves %s after 30 s idle", got)
	}
	if m := infoMap(t, rc, "replication"); m["master_link_status"] != "up" {
		t.Errorf("redis replica: %v", m)
	}
	if m := infoMap(t, oc, "replication"); m["master_link_status"] != "up" {
		t.Errorf("replikv replica: %v", m)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "redis.log"))
	if strings.Contains(string(b), "MASTER timeout") || strings.Contains(string(b), "Connection with master lost") {
		t.Errorf("the redis replica lost its master while idle")
	}
	primary.stop(t)
}
