package replikv

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/replikv/replikv/transport"
)

// watchNext returns the next event within 10 s.
func watchNext(t *testing.T, w *Watcher) Event {
	t.Helper()
	type res struct {
		ev  Event
		err error
	}
	ch := make(chan res, 1)
	go func() { ev, err := w.Next(); ch <- res{ev, err} }()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("Watcher.Next: %v", r.err)
		}
		r.ev.Offset = 0 // compared apart
		return r.ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10 s")
		return Event{}
	}
}

// TestWatchEvents: every write of the API shows as its event, on the
// primary and, decoded from the same stream, on a replica.
func TestWatchEvents(t *testing.T) {
	clk := newFakeClock()
	mn := memNet{transport.NewMemNetwork()}
	cfg := fastConfig()
	cfg.Now = clk.Now
	cfg.ActiveExpiryInterval = -1
	cfg.PingPeriod = time.Hour
	cfg.ReplTimeout = 2 * time.Hour
	p := node(t, mn, "p", cfg)
	r := node(t, mn, "r", cfg)
	must(t, r.ReplicaOf(mn.dialer("p")))
	waitSynced(t, r)
	ctx := context.Background()
	pw, err := p.Watch(ctx, WatchOptions{})
	must(t, err)
	defer pw.Close()
	rw, err := r.Watch(ctx, WatchOptions{})
	must(t, err)
	defer rw.Close()

	dl := time.UnixMilli(clk.Now().UnixMilli() + 60_000)
	must(t, p.Set("a", []byte("1")))
	must(t, p.SetTTL("b", []byte("2"), time.Minute))
	_, err = p.IncrBy("a", 41)
	must(t, err)
	_, err = p.Append("b", []byte("x"))
	must(t, err)
	_, err = p.ExpireAt("a", dl)
	must(t, err)
	_, err = p.Persist("a")
	must(t, err)
	_, err = p.Delete("b", "missing")
	must(t, err)
	must(t, p.FlushAll())
	// The replica too has applied the whole sequence before its events
	// are read: APPEND's event carries the store's value as it is when
	// the event is read (below).
	waitConverged(t, p, r)
	want := []Event{
		{Op: OpSet, Key: "a", Value: []byte("1")},
		{Op: OpSet, Key: "b", Value: []byte("2"), Deadline: dl},
		{Op: OpSet, Key: "a", Value: []byte("42")},
		// APPEND carries the suffix: the value is the store's, now gone
		// (the events are read after the whole sequence ran, on both).
		{Op: OpDelete, Key: "b"},
		{Op: OpExpire, Key: "a", Deadline: dl},
		{Op: OpExpire, Key: "a"}, // PERSIST
		{Op: OpDelete, Key: "b"},
		{Op: OpFlush},
	}
	for name, w := range map[string]*Watcher{"primary": pw, "replica": rw} {
		var got []Event
		for range want {
			got = append(got, watchNext(t, w))
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s events (-want +got):\n%s", name, d)
		}
	}
}

// TestWatchOffsetsAndReset: offsets say where a change is in the stream,
// a full resync of a replica yields OpReset, and the watcher follows the
// new history.
func TestWatchOffsetsAndReset(t *testing.T) {
	mn := memNet{transport.NewMemNetwork()}
	p := node(t, mn, "p", fastConfig())
	r := node(t, mn, "r", fastConfig())
	must(t, r.ReplicaOf(mn.dialer("p")))
	waitSynced(t, r)
	w, err := r.Watch(context.Background(), WatchOptions{})
	must(t, err)
	defer w.Close()
	must(t, p.Set("k", []byte("v")))
	ev, err := w.Next()
	must(t, err)
	for ev.Op != OpSet { // PINGs make no events, other writes would
		ev, err = w.Next()
		must(t, err)
	}
	waitConverged(t, p, r)
	if _, off := p.Position(); ev.Offset > off || ev.Key != "k" {
		t.Fatalf("event %+v beyond the primary's offset %d", ev, off)
	}

	// A new primary with another history: r resyncs in full.
	q := node(t, mn, "q", fastConfig())
	must(t, q.Set("other", []byte("1")))
	must(t, r.ReplicaOf(mn.dialer("q")))
	waitSynced(t, r)
	for {
		ev := watchNext(t, w)
		if ev.Op == OpReset {
			break
		}
	}
	must(t, q.Set("after", []byte("2")))
	for {
		ev := watchNext(t, w)
		if ev.Op == OpSet && ev.Key == "after" && string(ev.Value) == "2" {
			break
		}
	}
}

// TestWatchEnds: a watcher ends with ctx's error, or ErrClosed, and a
// lagging one with ErrSubscriberLagging.
func TestWatchEnds(t *testing.T) {
	s := newStore(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	w, err := s.Watch(ctx, WatchOptions{})
	must(t, err)
	cancel()
	if _, err := w.Next(); !errors.Is(err, context.Canceled) {
		t.Fatalf("after cancel: %v", err)
	}
	slow, err := s.Watch(context.Background(), WatchOptions{Limits: SubscribeLimits{Hard: 100}})
	must(t, err)
	must(t, s.Set("big", make([]byte, 1000)))
	if _, err := slow.Next(); !errors.Is(err, ErrSubscriberLagging) {
		t.Fatalf("over the hard limit: %v", err)
	}
	n := 0
	w2, err := s.Watch(context.Background(), WatchOptions{})
	must(t, err)
	must(t, s.Set("x", nil))
	for ev, err := range w2.Events() {
		if err != nil {
			if !errors.Is(err, ErrClosed) {
				t.Fatalf("after Close: %v", err)
			}
			break
		}
		n++
		if ev.Key == "x" {
			s.Close()
		}
	}
	if n != 1 {
		t.Fatalf("%d events before the store's Close, want 1", n)
	}
}

// TestWatchRedisPrimary: a replica of a real Redis master decodes the
// master's commands, including those that compute their value.
func TestWatchRedisPrimary(t *testing.T) {
	m := startRedis(t)
	r := newStore(t, interopConfig())
	must(t, r.ReplicaOf(transport.TCP(m.addr())))
	waitSyncedFor(t, r, 60*time.Second)
	w, err := r.Watch(context.Background(), WatchOptions{})
	must(t, err)
	defer w.Close()
	ctx := context.Background()
	c := m.client
	must(t, c.Set(ctx, "s", "v", 0).Err())
	must(t, c.Incr(ctx, "n").Err())
	must(t, c.Append(ctx, "s", "w").Err())
	must(t, c.Del(ctx, "n").Err())
	must(t, c.Set(ctx, "last", "1", 0).Err())
	var got []Event
	for {
		ev := watchNext(t, w)
		got = append(got, ev)
		if ev.Key == "last" {
			break
		}
	}
	want := []Event{
		{Op: OpSet, Key: "s", Value: []byte("v")},
		{Op: OpDelete, Key: "n"}, // INCR, decoded after DEL ran: the key is gone
		{Op: OpSet, Key: "s", Value: []byte("vw")},
		{Op: OpDelete, Key: "n"},
		{Op: OpSet, Key: "last", Value: []byte("1")},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("events from a Redis master (-want +got):\n%s", d)
	}
}
