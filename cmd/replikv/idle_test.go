package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/replikv/replikv/internal/redistest"
)

// TestBinaryIdlePrimaryKeepsReplicas: an idle replikv primary keeps a
// real Redis replica (repl-timeout 12) and a replikv replica (the same)
// linked for 30 s without one reconnection: its PINGs (every 10 s by
// default) reach replicas handed over by the RESP server. Before, it
// never pinged them, and both timed out every 12 s.
func TestBinaryIdlePrimaryKeepsReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary for 30 s")
	}
	redistest.Require(t, "redis-server")
	bin := filepath.Join(t.TempDir(), "replikv")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	primary := startBinary(t, bin)
	host, port, _ := strings.Cut(primary.addr, ":")
	ours := startBinary(t, bin, "--replicaof", host+" "+port, "--repl-timeout", "12")
	rs := redistest.Start(t, "--replicaof", host, port, "--repl-timeout", "12")

	ctx := context.Background()
	pc := redis.NewClient(&redis.Options{Addr: primary.addr, MaxRetries: -1})
	defer pc.Close()
	oc := redis.NewClient(&redis.Options{Addr: ours.addr, MaxRetries: -1})
	defer oc.Close()
	rc := rs.Client
	if err := pc.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for redistest.Info(t, pc, "replication")["connected_slaves"] != "2" ||
		rc.Get(ctx, "k").Val() != "v" || oc.Get(ctx, "k").Val() != "v" {
		if time.Now().After(deadline) {
			t.Fatalf("the replicas did not sync: %v", redistest.Info(t, pc, "replication"))
		}
		time.Sleep(10 * time.Millisecond)
	}
	before := redistest.Info(t, pc, "stats")

	// 30 s of idleness: the condition is the passing of time itself.
	time.Sleep(30 * time.Second)

	after := redistest.Info(t, pc, "stats")
	for _, f := range []string{"sync_full", "sync_partial_ok", "sync_partial_err"} {
		if before[f] != after[f] {
			t.Errorf("%s went from %s to %s while idle: a replica reconnected", f, before[f], after[f])
		}
	}
	if got := redistest.Info(t, pc, "replication")["connected_slaves"]; got != "2" {
		t.Errorf("connected_slaves %s after 30 s idle", got)
	}
	if m := redistest.Info(t, rc, "replication"); m["master_link_status"] != "up" {
		t.Errorf("redis replica: %v", m)
	}
	if m := redistest.Info(t, oc, "replication"); m["master_link_status"] != "up" {
		t.Errorf("replikv replica: %v", m)
	}
	if log := rs.Log(); strings.Contains(log, "MASTER timeout") || strings.Contains(log, "Connection with master lost") {
		t.Errorf("the redis replica lost its master while idle")
	}
	primary.stop(t)
}
