package server

import (
	"context"
	"testing"
	"time"

	"github.com/replikv/replikv"
	"github.com/replikv/replikv/internal/redistest"
	"github.com/replikv/replikv/transport"
)

// TestMinReplicasCommands: CONFIG SET min-replicas-to-write makes writes
// fail with Redis's NOREPLICAS until a replica is good; INFO shows
// min_slaves_good_slaves only while the check is on; min-replicas-max-lag
// 0 turns it off (as in Redis).
func TestMinReplicasCommands(t *testing.T) {
	ctx := context.Background()
	p := startNode(t, replikv.Config{}, Config{})
	c := p.client(t, nil)
	if _, ok := redistest.Info(t, c, "replication")["min_slaves_good_slaves"]; ok {
		t.Fatal("min_slaves_good_slaves shown with the check off")
	}
	if err := c.ConfigSet(ctx, "min-replicas-to-write", "1").Err(); err != nil {
		t.Fatal(err)
	}
	if got := c.ConfigGet(ctx, "min-slaves-to-write").Val()["min-slaves-to-write"]; got != "1" {
		t.Fatalf("CONFIG GET min-slaves-to-write = %q", got)
	}
	if err := c.Set(ctx, "k", "v", 0).Err(); err == nil || err.Error() != "NOREPLICAS Not enough good replicas to write." {
		t.Fatalf("SET without replicas: %v", err)
	}
	if got := redistest.Info(t, c, "replication")["min_slaves_good_slaves"]; got != "0" {
		t.Fatalf("min_slaves_good_slaves = %q, want 0", got)
	}
	r := startNode(t, replikv.Config{}, Config{})
	if err := r.store.ReplicaOf(transport.TCP(p.addr)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a good replica", func() bool { return c.Set(ctx, "k", "v", 0).Err() == nil })
	if got := redistest.Info(t, c, "replication")["min_slaves_good_slaves"]; got != "1" {
		t.Fatalf("min_slaves_good_slaves = %q, want 1", got)
	}
	if err := c.ConfigSet(ctx, "min-replicas-to-write", "2").Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.Incr(ctx, "n").Err(); err == nil || err.Error() != "NOREPLICAS Not enough good replicas to write." {
		t.Fatalf("INCR with 1 of 2 replicas: %v", err)
	}
	if err := c.ConfigSet(ctx, "min-replicas-max-lag", "0").Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.Incr(ctx, "n").Err(); err != nil {
		t.Fatalf("INCR with max-lag 0: %v", err)
	}
	if got := p.store.Config().MinReplicasMaxLag; got >= 0 {
		t.Fatalf("MinReplicasMaxLag = %v after max-lag 0, want negative (off)", got)
	}
	if got := c.ConfigGet(ctx, "min-replicas-max-lag").Val()["min-replicas-max-lag"]; got != "0" {
		t.Fatalf("CONFIG GET min-replicas-max-lag = %q", got)
	}
	_ = time.Second
}
