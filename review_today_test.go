package replikv

import (
	"fmt"
	"testing"

	"github.com/replikv/replikv/transport"
)

// TestReviewTodayDemotedChainClearedByFullResync: a store whose history
// continued several earlier ones (history.Older) and that is then
// resynced in full from an unrelated primary forgets all of them: it
// must not accept a PSYNC, nor report a position as applied, for a
// history whose bytes it no longer holds.
func TestReviewTodayDemotedChainClearedByFullResync(t *testing.T) {
	mn := memNet{transport.NewMemNetwork()}
	cfg := fastConfig()
	p := node(t, mn, "p", cfg)
	r := node(t, mn, "r", cfg)
	other := node(t, mn, "other", cfg)
	must(t, r.ReplicaOf(mn.dialer("p")))
	for i := range 50 {
		must(t, p.Set(fmt.Sprint("a", i), []byte("x")))
		must(t, other.Set(fmt.Sprint("o", i), []byte("y")))
	}
	waitConverged(t, p, r)
	id0, off0 := p.Position()
	must(t, r.Promote())
	must(t, p.ReplicaOf(mn.dialer("r")))
	waitSynced(t, p)
	must(t, p.Promote())
	must(t, r.ReplicaOf(mn.dialer("p")))
	waitConverged(t, p, r)
	p.st.mu.Lock()
	h := p.st.historyLocked()
	p.st.mu.Unlock()
	if !h.knows(id0) || len(h.Older) == 0 {
		t.Fatalf("p should know %s in its chain: %+v", id0, h)
	}
	// p is demoted under an unrelated primary: a full resync.
	must(t, r.ReplicaOf(nil2(mn)))
	must(t, p.ReplicaOf(mn.dialer("other")))
	waitSynced(t, p)
	waitConverged(t, other, p)
	p.st.mu.Lock()
	h = p.st.historyLocked()
	p.st.mu.Unlock()
	if h.knows(id0) || len(h.Older) != 0 || h.ReplID2 != "" {
		t.Fatalf("after a full resync from an unrelated primary, p still claims earlier histories: %+v", h)
	}
	if d := decidePSync(id0, off0+1, h); d.Continue {
		t.Fatalf("p would continue %s at %d after dropping it", id0, off0+1)
	}
	if applied, _ := historyHas(h, Pos{id0, off0}); applied {
		t.Fatalf("p reports %s@%d applied after dropping it", id0, off0)
	}
}

// nil2 is a dialer to nowhere: the store waits, keeping its history.
func nil2(mn memNet) transport.Dialer { return mn.dialer("nowhere") }
