package server

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/replikv/replikv"
	"github.com/replikv/replikv/internal/redistest"
	"github.com/replikv/replikv/transport"
)

// TestFailoverCommandPauseAndAbort: while FAILOVER waits for a replica
// that does not catch up (it ACKs only when asked, with the offset before
// the GETACK), INFO shows waiting-for-sync, REPLICAOF is refused, and a
// client's SET blocks; FAILOVER ABORT (or the TIMEOUT) ends the pause and
// the SET then succeeds, as on Redis.
func TestFailoverCommandPauseAndAbort(t *testing.T) {
	ctx := context.Background()
	p := startNode(t, replikv.Config{}, Config{})
	r := startNode(t, replikv.Config{AckPeriod: 50 * time.Second}, Config{})
	if err := r.store.ReplicaOf(transport.TCP(p.addr)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the replica online", func() bool {
		in := p.store.Info()
		return len(in.Replicas) == 1 && in.Replicas[0].State == "online"
	})
	admin, writer := p.client(t, nil), p.client(t, nil)
	for round, end := range []string{"ABORT", "TIMEOUT"} {
		if err := admin.Set(ctx, "k", round, 0).Err(); err != nil {
			t.Fatal(err)
		}
		args := []any{"FAILOVER", "TO", "127.0.0.1", portOf(r.addr)}
		if end == "TIMEOUT" {
			args = append(args, "TIMEOUT", "300")
		}
		if err := admin.Do(ctx, args...).Err(); err != nil {
			t.Fatalf("%s: FAILOVER: %v", end, err)
		}
		if got := redistest.Info(t, admin, "replication")["master_failover_state"]; got != "waiting-for-sync" {
			t.Fatalf("%s: master_failover_state = %q", end, got)
		}
		if err := admin.Do(ctx, "REPLICAOF", "NO", "ONE").Err(); fmt.Sprint(err) != "ERR REPLICAOF not allowed while failing over." {
			t.Fatalf("REPLICAOF during FAILOVER: %v", err)
		}
		type result struct {
			err   error
			state replikv.FailoverState
		}
		wrote := make(chan result, 1)
		go func() {
			err := writer.Set(ctx, "paused", end, 0).Err()
			wrote <- result{err, p.store.FailoverState()}
		}()
		if end == "ABORT" {
			eventually(t, "the SET to be under way", func() bool {
				return strings.Contains(admin.ClientList(ctx).Val(), "cmd=set")
			})
			if len(wrote) != 0 {
				t.Fatal("the SET returned during the pause")
			}
			if err := admin.Do(ctx, "FAILOVER", "ABORT").Err(); err != nil {
				t.Fatal(err)
			}
		}
		w := <-wrote
		if w.err != nil || w.state != replikv.NoFailover {
			t.Fatalf("%s: paused SET: %v, returned while %v", end, w.err, w.state)
		}
		if got := redistest.Info(t, admin, "replication")["role"]; got != "master" {
			t.Fatalf("%s: role %q", end, got)
		}
	}
}
