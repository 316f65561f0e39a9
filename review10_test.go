package replikv

// Adversarial review of issue 10 (library API) and the merge of issues 8
// and 11. Each test here failed on the commit under review.

import (
	"bytes"
	"context"
	"errors"
	"math"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/replikv/replikv/transport"
)

// review10Reset replaces s's history through LoadSnapshot, closing every
// subscription with ErrHistoryChanged.
func review10Reset(t *testing.T, s *Store) {
	t.Helper()
	var buf bytes.Buffer
	sn, err := s.BeginSnapshot(context.Background())
	must(t, err)
	_, err = sn.WriteTo(&buf)
	must(t, err)
	_, err = s.LoadSnapshot(context.Background(), &buf, LoadOptions{})
	must(t, err)
}

// nextWithin runs w.Next in a goroutine and returns its result, or ok false
// when it has not returned within d.
func nextWithin(w *Watcher, d time.Duration) (ev Event, err error, ok bool) {
	type res struct {
		ev  Event
		err error
	}
	ch := make(chan res, 1)
	go func() { ev, err := w.Next(); ch <- res{ev, err} }()
	select {
	case r := <-ch:
		return r.ev, r.err, true
	case <-time.After(d):
		return Event{}, nil, false
	}
}

// TestReview10WatcherCloseAfterReset: Close documents "Next then returns
// ErrClosed". When the history changed before Close (a LoadSnapshot, a full
// resync, a promotion), the next Next instead resubscribes (Close only
// closed the subscription that had already ended), returns OpReset, and
// the watcher lives on: the following Next blocks for ever and the new
// subscription keeps buffering the stream (up to 256 MiB) until the store
// closes.
func TestReview10WatcherCloseAfterReset(t *testing.T) {
	s := newStore(t, Config{})
	w, err := s.Watch(context.Background(), WatchOptions{})
	must(t, err)
	review10Reset(t, s) // the watcher's subscription ends: ErrHistoryChanged
	w.Close()
	ev, err, ok := nextWithin(w, 5*time.Second)
	if !ok || !errors.Is(err, ErrClosed) {
		// Show the watcher is still alive after Close.
		_, err2, ok2 := nextWithin(w, 500*time.Millisecond)
		s.st.mu.Lock()
		subs := len(s.st.subs)
		s.st.mu.Unlock()
		t.Fatalf("Next after Close = (%v, %v, returned %v), want ErrClosed; then Next = (%v, returned %v); live subscriptions after Close: %d",
			ev.Op, err, ok, err2, ok2, subs)
	}
}

// TestReview10WatcherCloseRacesNext: the documented way to stop a watcher
// that a goroutine drains (ExampleStore_Watch) is w.Close from another
// goroutine. When the history changes meanwhile, Next rewrites w.sub and
// w.stop (decodeOne → subscribe) while Close reads them: a data race (run
// with -race), and a Close that closes the old subscription leaves the new
// one, and the consumer's Next, running.
func TestReview10WatcherCloseRacesNext(t *testing.T) {
	s := newStore(t, Config{})
	w, err := s.Watch(context.Background(), WatchOptions{})
	must(t, err)
	done := make(chan error, 1)
	go func() {
		for {
			if _, err := w.Next(); err != nil {
				done <- err
				return
			}
		}
	}()
	waitBlocked(t, "(*Watcher).Next", "(*Subscription).Next")
	review10Reset(t, s)
	w.Close() // races with the consumer's resubscription
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("consumer ended with %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the consumer's Next did not return within 5 s of Close")
	}
}

// TestReview10FarDeadlines: msOf converts with time.Time.UnixMilli, whose
// result is undefined (wraps) beyond ±292 million years. A far-future
// deadline, such as the common "never" sentinel time.Unix(math.MaxInt64, 0),
// wraps to a negative number, which msOf clamps to 1 ms after the epoch: the
// key is deleted instead of kept. A far-past instant can wrap to a future
// deadline: the key is kept until then instead of deleted.
func TestReview10FarDeadlines(t *testing.T) {
	farFuture := time.Unix(math.MaxInt64/2, 0) // year ~146 billion: after now
	// -18446742073709551 s: about 584 million years BC. In ms it wraps
	// (mod 2^64) to 2_000_000_000_616: a deadline in 2033.
	farPast := time.Unix(-18446742073709551, 0)
	if !farFuture.After(time.Now()) || !farPast.Before(time.Now()) {
		t.Fatal("test times are wrong")
	}
	s := newStore(t, Config{})

	t.Run("SetOptions.ExpireAt far future keeps the key", func(t *testing.T) {
		_, err := s.SetWithOptions("ff", []byte("v"), SetOptions{ExpireAt: farFuture})
		must(t, err)
		if _, err := s.Get("ff"); err != nil {
			t.Errorf("Get after SET with a deadline in year %d: %v (msOf = %d)", farFuture.Year(), err, msOf(farFuture))
		}
	})
	t.Run("ExpireAt far future keeps the key", func(t *testing.T) {
		must(t, s.Set("ef", []byte("v")))
		_, err := s.ExpireAt("ef", farFuture)
		must(t, err)
		if _, err := s.Get("ef"); err != nil {
			t.Errorf("Get after ExpireAt(year %d): %v", farFuture.Year(), err)
		}
	})
	t.Run("SetOptions.ExpireAt far past deletes the key", func(t *testing.T) {
		_, err := s.SetWithOptions("fp", []byte("v"), SetOptions{ExpireAt: farPast})
		must(t, err)
		if _, err := s.Get("fp"); !errors.Is(err, ErrNotFound) {
			dl, _ := s.ExpireTime("fp")
			t.Errorf("Get after SET with a deadline in year %d: err %v, deadline %v (want deleted)", farPast.Year(), err, dl)
		}
	})
}

// TestReview10LinkChangeContinuity: OnLinkChange and Stats.LinkUps/
// LinkDowns must see every transition of LinkStatus. startLink stores
// LinkConnecting directly (not through setLink), so ReplicaOf on a
// primary never reports none→connecting, and ReplicaOf on a replica whose
// link is up never reports up→connecting: the hook's next call starts
// from "connecting" that it was never told of, and LinkDowns stays 0 while
// LinkUps is 2 for a link that is up once.
func TestReview10LinkChangeContinuity(t *testing.T) {
	mn := memNet{transport.NewMemNetwork()}
	node(t, mn, "p", fastConfig())
	node(t, mn, "q", fastConfig())
	type change struct{ from, to LinkStatus }
	var mu sync.Mutex
	var got []change
	cfg := fastConfig()
	cfg.OnLinkChange = func(from, to LinkStatus, _ error) {
		mu.Lock()
		got = append(got, change{from, to})
		mu.Unlock()
	}
	r := node(t, mn, "r", cfg)
	upCalls := func() int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, c := range got {
			if c.to == LinkUp {
				n++
			}
		}
		return n
	}
	must(t, r.ReplicaOf(mn.dialer("p")))
	waitSynced(t, r)
	poll(t, 10*time.Second, "the hook to see the link up", func() bool { return upCalls() == 1 })
	must(t, r.ReplicaOf(mn.dialer("q")))
	waitSynced(t, r)
	poll(t, 10*time.Second, "the hook to see the link up again", func() bool { return upCalls() == 2 })

	mu.Lock()
	defer mu.Unlock()
	prev := LinkNone
	var broken []string
	for i, c := range got {
		if c.from != prev {
			broken = append(broken, c.from.String()+"→"+c.to.String()+" at call "+string(rune('0'+i))+" after "+prev.String())
		}
		prev = c.to
	}
	st := r.Stats()
	if len(broken) > 0 || st.LinkUps-st.LinkDowns != 1 {
		t.Fatalf("hook calls %v: transitions not reported before %v; Stats LinkUps %d LinkDowns %d with the link up",
			got, broken, st.LinkUps, st.LinkDowns)
	}
}

// TestReview10ShutdownCountsUnlistedAcks: Shutdown counts the replicas
// online when it starts (n) but WaitReplicas then counts the
// acknowledgements of every replica, including one that synced during the
// shutdown. A replica that connects during Shutdown thus stands in for an
// online replica that never acknowledged: Shutdown returns nil though a
// replica it waited for lacks the final writes.
func TestReview10ShutdownCountsUnlistedAcks(t *testing.T) {
	mn := memNet{transport.NewMemNetwork()}
	cfg := fastConfig()
	cfg.ReplTimeout = time.Minute // the mute replica stays listed
	p := node(t, mn, "p", cfg)
	mute := dialPeer(t, mn.dialer("p")) // syncs, then never acknowledges
	mute.syncFull(t, 6001)
	poll(t, 5*time.Second, "the mute replica to stream", func() bool {
		ri, ok := replicaByPort(p, 6001)
		return ok && ri.State == "online"
	})
	must(t, p.Set("final", []byte("v")))
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	res := make(chan error, 1)
	go func() { res <- p.Shutdown(ctx) }()
	waitBlocked(t, "(*Store).Shutdown", "(*Store).waitAcked")

	late := node(t, mn, "late", fastConfig())
	must(t, late.ReplicaOf(mn.dialer("p")))
	err := <-res
	if err == nil {
		ri, _ := replicaByPort(p, 6001)
		t.Fatalf("Shutdown = nil, but the replica it waited for (port 6001) never acknowledged (its ack offset %d)", ri.Offset)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want the deadline", err)
	}
}

// TestReview10ShutdownClosed: Shutdown racing Close (a service's signal
// handler and a deferred Close) returns an error that wraps a nil ctx.Err()
// ("%!w(<nil>)"), neither ErrClosed nor a context error; and Shutdown after
// Close returns nil, though every method after Close returns ErrClosed.
func TestReview10ShutdownClosed(t *testing.T) {
	mn := memNet{transport.NewMemNetwork()}
	cfg := fastConfig()
	cfg.ReplTimeout = time.Minute
	p := node(t, mn, "p", cfg)
	mute := dialPeer(t, mn.dialer("p"))
	mute.syncFull(t, 6001)
	poll(t, 5*time.Second, "the mute replica to stream", func() bool {
		ri, ok := replicaByPort(p, 6001)
		return ok && ri.State == "online"
	})
	must(t, p.Set("final", []byte("v")))
	res := make(chan error, 1)
	go func() { res <- p.Shutdown(context.Background()) }()
	waitBlocked(t, "(*Store).Shutdown", "(*Store).waitAcked")
	p.Close()
	err := <-res
	var failures []string
	if err != nil && (strings.Contains(err.Error(), "%!") || !errors.Is(err, ErrClosed)) {
		failures = append(failures, "Shutdown racing Close = "+err.Error()+" (want nil or ErrClosed)")
	}
	if err := p.Shutdown(context.Background()); !errors.Is(err, ErrClosed) {
		failures = append(failures, "Shutdown after Close = "+errString(err)+" (want ErrClosed)")
	}
	if len(failures) > 0 {
		t.Fatal(strings.Join(failures, "; "))
	}
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// TestReview10ReconfigureReplTimeoutKeepsDerivedPeriods: PingPeriod and
// AckPeriod left at zero are derived from ReplTimeout ("Default 10s, or a
// quarter of ReplTimeout when that is shorter"), and New(Config{ReplTimeout:
// 2s}) is valid. But Reconfigure sees the periods derived from the old
// ReplTimeout as if the user had set them: lowering ReplTimeout to 2 s on a
// store made with the zero Config is refused because of PingPeriod 10s (a
// field the user never set), and as AckPeriod may not change at runtime,
// no ReplTimeout of 1 s or less (Redis's minimum is 1 s) can ever be set.
func TestReview10ReconfigureReplTimeoutKeepsDerivedPeriods(t *testing.T) {
	if _, err := New(Config{ReplTimeout: 2 * time.Second}); err != nil {
		t.Fatalf("New with ReplTimeout 2s: %v", err)
	}
	s := newStore(t, Config{})
	err := s.Reconfigure(func(c *Config) { c.ReplTimeout = 2 * time.Second })
	if err != nil {
		t.Fatalf("Reconfigure(ReplTimeout 2s) on a zero Config: %v", err)
	}
	if c := s.Config(); c.PingPeriod >= c.ReplTimeout || c.AckPeriod >= c.ReplTimeout {
		t.Fatalf("after Reconfigure: PingPeriod %v AckPeriod %v ReplTimeout %v", c.PingPeriod, c.AckPeriod, c.ReplTimeout)
	}
}

// TestReview10WaitSyncedStaleLinkError: WaitSynced wraps "the link's last
// error" so that errors.Is(err, ErrNoAuth) tells a refused password. But
// lastErr is never cleared by ReplicaOf: after the store is pointed at
// another primary, a WaitSynced that times out while the new link is still
// dialing reports the previous primary's refusal (ErrNoAuth), which the new
// primary never sent.
func TestReview10WaitSyncedStaleLinkError(t *testing.T) {
	mn := memNet{transport.NewMemNetwork()}
	pcfg := fastConfig()
	pcfg.Password = "secret"
	node(t, mn, "p", pcfg)
	cfg := fastConfig()
	cfg.MasterAuth = "wrong"
	r := node(t, mn, "r", cfg)
	must(t, r.ReplicaOf(mn.dialer("p")))
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	err := r.WaitSynced(ctx)
	cancel()
	if !errors.Is(err, ErrNoAuth) {
		t.Fatalf("WaitSynced against a primary refusing the password = %v, want ErrNoAuth", err)
	}
	// Now follow a primary whose dial has not completed yet (it hangs until
	// the link gives up after ReplTimeout).
	hanging := transport.DialerFunc(func(ctx context.Context) (net.Conn, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	})
	must(t, r.ReplicaOf(hanging))
	ctx, cancel = context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err = r.WaitSynced(ctx)
	if errors.Is(err, ErrNoAuth) {
		t.Fatalf("WaitSynced while dialing the new primary = %q: it blames the new primary for the old one's refusal", err)
	}
}

// TestReview10TinyReplTimeoutZeroPeriods (low severity): the derived
// periods are ReplTimeout/4, which is 0 for a ReplTimeout under 4 ns;
// orDefault leaves them at 0, the validation only refuses negative ones,
// and New accepts a Config whose AckPeriod is 0 (time.NewTicker(0) in
// streamFrom panics) and PingPeriod 0 (pingLoop spins).
func TestReview10TinyReplTimeoutZeroPeriods(t *testing.T) {
	s, err := New(Config{ReplTimeout: 3})
	if err != nil {
		return // refused: fine
	}
	defer s.Close()
	if c := s.Config(); c.PingPeriod <= 0 || c.AckPeriod <= 0 {
		t.Fatalf("New(Config{ReplTimeout: 3ns}) accepted PingPeriod %v, AckPeriod %v", c.PingPeriod, c.AckPeriod)
	}
}
