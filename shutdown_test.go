package replikv

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/replikv/replikv/transport"
)

// TestShutdownWaitsForReplicas: Shutdown returns once every replica holds
// the final offset, and refuses writes meanwhile.
func TestShutdownWaitsForReplicas(t *testing.T) {
	mn := memNet{transport.NewMemNetwork()}
	p := node(t, mn, "p", fastConfig())
	r1 := node(t, mn, "r1", fastConfig())
	r2 := node(t, mn, "r2", fastConfig())
	must(t, r1.ReplicaOf(mn.dialer("p")))
	must(t, r2.ReplicaOf(mn.dialer("p")))
	waitSynced(t, r1)
	waitSynced(t, r2)
	for i := range 2000 {
		must(t, p.Set(fmt.Sprint("k", i), []byte("v")))
	}
	_, final := p.Position()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	must(t, p.Shutdown(ctx))
	for _, r := range []*Store{r1, r2} {
		if _, off := r.Position(); off < final {
			t.Fatalf("Shutdown returned with a replica at %d, final offset %d", off, final)
		}
	}
	if err := p.Set("late", nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("write after Shutdown: %v", err)
	}
}

// TestShutdownBoundedByContext: a replica that never acknowledges holds
// Shutdown only until ctx ends; the store is closed all the same.
func TestShutdownBoundedByContext(t *testing.T) {
	mn := memNet{transport.NewMemNetwork()}
	p := node(t, mn, "p", fastConfig())
	mute := dialPeer(t, mn.dialer("p")) // syncs, then never acknowledges
	mute.syncFull(t, 6001)
	poll(t, 5*time.Second, "the mute replica to stream", func() bool {
		ri, ok := replicaByPort(p, 6001)
		return ok && ri.State == "online"
	})
	must(t, p.Set("k", []byte("v")))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := p.Shutdown(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want the deadline", err)
	}
	if p.Role() != RoleClosed {
		t.Fatalf("role %v after Shutdown", p.Role())
	}
}
