package replikv

import (
	"fmt"
	"testing"

	"github.com/replikv/replikv/transport"
)

// TestPartialAfterTwoPromotions: a replica that was away while its
// primary's history moved on twice (a sibling promoted, then the old
// primary promoted back: two new replication IDs) still continues
// partially when it comes back, from the ID it left with. Redis keeps
// one previous ID and would resync it in full; replikv keeps the last
// maxPastIDs. This is what a replica that reconnects slowly meets during
// failovers back and forth (TestReview15FailoverBackAndForthStress).
func TestPartialAfterTwoPromotions(t *testing.T) {
	mn := memNet{transport.NewMemNetwork()}
	cfg := fastConfig()
	cfg.BacklogSize = 4 << 20
	p := node(t, mn, "p", cfg)
	r1 := node(t, mn, "r1", cfg)
	r2 := node(t, mn, "r2", cfg)
	must(t, r1.ReplicaOf(mn.dialer("p")))
	must(t, r2.ReplicaOf(mn.dialer("p")))
	write := func(s *Store, prefix string) {
		for i := range 200 {
			must(t, s.Set(fmt.Sprint(prefix, i), []byte(fmt.Sprint(i))))
		}
	}
	write(p, "a")
	waitConverged(t, p, r1, r2)
	id0, _ := p.Position()

	// r2 goes away (its primary unreachable), keeping its history.
	must(t, r2.ReplicaOf(mn.dialer("nowhere")))
	// First new history: r1 takes over, p follows it.
	must(t, r1.Promote())
	must(t, p.ReplicaOf(mn.dialer("r1")))
	write(r1, "b")
	waitConverged(t, r1, p)
	// Second: p takes back over, r1 follows it.
	must(t, p.Promote())
	must(t, r1.ReplicaOf(mn.dialer("p")))
	write(p, "c")
	waitConverged(t, p, r1)
	if in := p.Info(); in.ReplID2 == id0 || in.ReplID == id0 {
		t.Fatalf("p's history should have moved on twice from %s: %s, %s", id0, in.ReplID, in.ReplID2)
	}

	before := p.Info()
	must(t, r2.ReplicaOf(mn.dialer("p")))
	waitSynced(t, r2)
	waitConverged(t, p, r1, r2)
	in := p.Info()
	if full, ok := in.SyncFull-before.SyncFull, in.SyncPartialOK-before.SyncPartialOK; full != 0 || ok != 1 {
		t.Fatalf("r2 back after two promotions: %d full, %d partial resyncs served, want 0, 1", full, ok)
	}
	if m := r2.Info().Master; m.FullSyncs != 1 {
		t.Fatalf("r2 resynced in full %d times, want only its first", m.FullSyncs)
	}
}
