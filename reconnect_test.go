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
	const F, U, S = linkFailed, linkWasUp, linkStreamed
	lo, hi := 100*time.Millisecond, time.Second
	t0 := time.Unix(1000, 0)
	for _, c := range []struct {
		name  string
		steps []linkEnd       // how far each attempt got
		gap   time.Duration   // time between attempts
		want  []time.Duration // the waits
	}{
		{"failures double", []linkEnd{F, F, F, F, F}, 0, []time.Duration{lo, 2 * lo, 4 * lo, 8 * lo, hi}},
		{"an up link retries at once", []linkEnd{F, F, U, F}, 0, []time.Duration{lo, 2 * lo, 0, lo}},
		{"a link dropped at once, again and again", []linkEnd{U, U, U, U, U, U, U, U}, time.Millisecond,
			[]time.Duration{0, 0, 0, 0, 0, lo, 2 * lo, 4 * lo}},
		{"up links a second apart", []linkEnd{U, U, U, U, U, U, U}, 600 * time.Millisecond,
			[]time.Duration{0, 0, 0, 0, 0, 0, 0}},
		{"links that streamed, killed many times a second", []linkEnd{S, S, S, S, S, S, S, S, S, S}, time.Millisecond,
			[]time.Duration{0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
		{"a streaming link ends the backoff", []linkEnd{U, U, U, U, U, U, U, S, U}, time.Millisecond,
			[]time.Duration{0, 0, 0, 0, 0, lo, 2 * lo, 0, 0}},
	} {
		var r retries
		now := t0
		var got []time.Duration
		for _, end := range c.steps {
			got = append(got, r.next(end, now, lo, hi))
			now = now.Add(c.gap)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: waits %v, want %v", c.name, got, c.want)
		}
	}
}
