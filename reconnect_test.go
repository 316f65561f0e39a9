package replikv

import (
	"testing"
	"time"

	"github.com/replikv/replikv/transport"
)

// TestReconnectAtOnceAfterUpLink: a link that was up reconnects without
// waiting ReconnectMin (backoff is for failed attempts only), so a killed
// link continues partially even when the backlog holds little time.
func TestReconnectAtOnceAfterUpLink(t *testing.T) {
	mem := memNet{transport.NewMemNetwork()}
	p := node(t, mem, "p", fastConfig())
	cfg := fastConfig()
	cfg.ReconnectMin, cfg.ReconnectMax = time.Hour, time.Hour // a wait would fail the test
	r := newStore(t, cfg)
	must(t, r.ReplicaOf(mem.dialer("p")))
	waitSynced(t, r)
	for i := range 5 {
		must(t, p.Set("k", []byte{byte(i)}))
		before := p.Info().SyncPartialOK
		if !r.DisconnectPrimary() {
			t.Fatal("DisconnectPrimary found no link")
		}
		poll(t, 20*time.Second, "a partial resync after the link was killed", func() bool {
			return p.Info().SyncPartialOK > before && r.LinkStatus() == LinkUp
		})
	}
	if n := p.Info().SyncFull; n != 1 {
		t.Fatalf("%d full syncs, want 1", n)
	}
}

func TestNextBackoff(t *testing.T) {
	lo, hi := 100*time.Millisecond, time.Second
	for _, c := range []struct {
		prev      time.Duration
		reachedUp bool
		want      time.Duration
	}{
		{0, true, 0},
		{time.Second, true, 0},
		{0, false, lo},
		{lo, false, 2 * lo},
		{800 * time.Millisecond, false, hi},
		{hi, false, hi},
	} {
		if got := nextBackoff(c.prev, c.reachedUp, lo, hi); got != c.want {
			t.Errorf("nextBackoff(%v, %v) = %v, want %v", c.prev, c.reachedUp, got, c.want)
		}
	}
}
