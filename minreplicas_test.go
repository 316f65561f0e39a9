package replikv

import (
	"errors"
	"testing"
	"time"

	"github.com/replikv/replikv/transport"
)

// TestMinReplicasRefusesAndRecovers: a primary requiring one good replica
// refuses writes with ErrNoReplicas until one is online, accepts them
// while it is, refuses again when it goes away (at once) or stops
// acknowledging (after MinReplicasMaxLag), and accepts again when it is
// back; nothing refused reaches the stream.
func TestMinReplicasRefusesAndRecovers(t *testing.T) {
	mn := memNet{transport.NewMemNetwork()}
	cfg := fastConfig()
	cfg.MinReplicasToWrite = 1
	cfg.MinReplicasMaxLag = 300 * time.Millisecond
	p := node(t, mn, "p", cfg)
	_, before := p.Position()
	if err := p.Set("k", []byte("v0")); !errors.Is(err, ErrNoReplicas) {
		t.Fatalf("Set without replicas: %v, want ErrNoReplicas", err)
	}
	if _, err := p.Delete("k"); !errors.Is(err, ErrNoReplicas) {
		t.Fatalf("Delete without replicas: %v, want ErrNoReplicas", err)
	}
	if _, after := p.Position(); after != before {
		t.Fatalf("refused writes moved the stream from %d to %d", before, after)
	}
	if g := p.Info().GoodReplicas; g != 0 {
		t.Fatalf("GoodReplicas = %d, want 0", g)
	}

	r := node(t, mn, "r", fastConfig())
	must(t, r.ReplicaOf(mn.dialer("p")))
	waitSynced(t, r)
	poll(t, 5*time.Second, "a good replica", func() bool { return p.Info().GoodReplicas == 1 })
	if err := p.Set("k", []byte("v1")); err != nil {
		t.Fatalf("Set with a good replica: %v", err)
	}

	// Gone: refused at once.
	must(t, r.Promote())
	poll(t, 5*time.Second, "the replica to leave", func() bool { return len(p.Info().Replicas) == 0 })
	if err := p.Set("k", []byte("v2")); !errors.Is(err, ErrNoReplicas) {
		t.Fatalf("Set after the replica left: %v, want ErrNoReplicas", err)
	}

	// Back, then silent: refused once its last ACK is older than the lag.
	must(t, r.ReplicaOf(mn.dialer("p")))
	waitSynced(t, r)
	poll(t, 5*time.Second, "the replica back", func() bool { return p.Set("k", []byte("v3")) == nil })
	must(t, r.Reconfigure(func(c *Config) { c.AckPeriod = 4 * time.Second }))
	r.DisconnectPrimary() // the new AckPeriod applies from the next connection
	poll(t, 10*time.Second, "the silent replica to stop counting", func() bool {
		return errors.Is(p.Set("k", []byte("v4")), ErrNoReplicas)
	})

	// Turned off at run time: accepted.
	must(t, p.Reconfigure(func(c *Config) { c.MinReplicasToWrite = 0 }))
	if err := p.Set("k", []byte("v5")); err != nil {
		t.Fatalf("Set with the check off: %v", err)
	}
	if g := p.Info().GoodReplicas; g != -1 {
		t.Fatalf("GoodReplicas with the check off = %d, want -1", g)
	}
}

// TestEnoughReplicas is the decision's table.
func TestEnoughReplicas(t *testing.T) {
	for _, tc := range []struct {
		want, good int
		ok         bool
	}{{0, 0, true}, {1, 0, false}, {1, 1, true}, {2, 1, false}, {2, 3, true}} {
		if err := enoughReplicas(tc.want, tc.good); (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrNoReplicas)) {
			t.Errorf("enoughReplicas(%d, %d) = %v", tc.want, tc.good, err)
		}
	}
}
