package replikv

import (
	"slices"
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
	t0 := time.Unix(1000, 0)
	for _, c := range []struct {
		name  string
		steps []bool          // reachedUp of each failed attempt
		gap   time.Duration   // time between attempts
		want  []time.Duration // the waits
	}{
		{"failures double", []bool{false, false, false, false, false}, 0, []time.Duration{lo, 2 * lo, 4 * lo, 8 * lo, hi}},
		{"an up link retries at once", []bool{false, false, true, false}, 0, []time.Duration{lo, 2 * lo, 0, lo}},
		{"a link dropped at once, again and again", []bool{true, true, true, true, true, true, true, true}, time.Millisecond,
			[]time.Duration{0, 0, 0, 0, 0, lo, 2 * lo, 4 * lo}},
		{"up links a second apart", []bool{true, true, true, true, true, true, true}, 600 * time.Millisecond,
			[]time.Duration{0, 0, 0, 0, 0, 0, 0}},
	} {
		var r retries
		now := t0
		var got []time.Duration
		for _, up := range c.steps {
			got = append(got, r.next(up, now, lo, hi))
			now = now.Add(c.gap)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: waits %v, want %v", c.name, got, c.want)
		}
	}
}
