package replikv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/google/go-cmp/cmp"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/replikv/replikv/transport"
)

// holdReplyConn passes everything until this side has written a PSYNC …
// FAILOVER; from then on its reads block until release is closed (or the
// conn is closed): the target's answer is "in flight".
type holdReplyConn struct {
	net.Conn
	release <-chan struct{}
	sent    chan struct{}
	once    sync.Once
	closed  chan struct{}
	cOnce   sync.Once
}

func (c *holdReplyConn) Write(b []byte) (int, error) {
	if bytes.Contains(b, []byte("FAILOVER")) {
		c.once.Do(func() { close(c.sent) })
	}
	return c.Conn.Write(b)
}

func (c *holdReplyConn) Read(b []byte) (int, error) {
	select {
	case <-c.sent:
		select {
		case <-c.release:
		case <-c.closed:
			return 0, net.ErrClosed
		}
	default:
	}
	return c.Conn.Read(b)
}

func (c *holdReplyConn) Close() error {
	c.cOnce.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

// holdReplyDial dials name, holding the answer to PSYNC … FAILOVER until
// release is closed (only on the first connection).
func holdReplyDial(mn memNet, name string, release <-chan struct{}) transport.Dialer {
	var first sync.Once
	return transport.DialerFunc(func(ctx context.Context) (net.Conn, error) {
		conn, err := mn.dialer(name).Dial(ctx)
		if err != nil {
			return nil, err
		}
		held := false
		first.Do(func() { held = true })
		if !held {
			return conn, nil
		}
		return &holdReplyConn{Conn: conn, release: release, sent: make(chan struct{}), closed: make(chan struct{})}, nil
	})
}

// TestReview15TimeoutAfterTakeoverTwoPrimaries: the target has received
// PSYNC … FAILOVER and promoted itself, its +CONTINUE is still on the
// wire when the failover's timeout fires. The old primary must not resume
// as a primary of the history the target now continues (Redis applies the
// timeout only while waiting for sync, not once the handover is sent):
// otherwise both are primaries and a write acknowledged by the old one is
// never on the new one.
func TestReview15TimeoutAfterTakeoverTwoPrimaries(t *testing.T) {
	c := newFOCluster(t, 0)
	r1 := c.reps[1001]
	must(t, c.p.Set("pre", []byte("x")))
	waitConverged(t, c.p, r1)
	release := make(chan struct{})
	dial := func(ReplicaInfo) transport.Dialer { return holdReplyDial(c.mn, "r1001", release) }
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res := make(chan error, 1)
	go func() {
		res <- c.p.Failover(ctx, FailoverOptions{Port: 1001, Dial: dial, Timeout: 1500 * time.Millisecond})
	}()
	poll(t, 5*time.Second, "the target promoted itself", func() bool { return r1.Role() == RolePrimary })
	var err error
	select {
	case err = <-res:
	case <-time.After(3 * time.Second):
		close(release)
		err = <-res
	}
	t.Logf("Failover: %v; roles p %v, r1001 %v", err, c.p.Role(), r1.Role())
	if c.p.Role() == RolePrimary && r1.Role() == RolePrimary {
		werr := c.p.Set("acked-on-old", []byte("1"))
		t.Fatalf("two primaries after the handover was sent (write on the old one: %v; Failover: %v)", werr, err)
	}
	if err != nil && errors.Is(err, ErrFailover) {
		t.Fatalf("Failover reports failure, but the target took over: %v", err)
	}
}

// cutAfterFailoverDial dials name; on the first connection, once PSYNC …
// FAILOVER is written, the connection breaks before the answer is read.
func cutAfterFailoverDial(mn memNet, name string) transport.Dialer {
	var first sync.Once
	return transport.DialerFunc(func(ctx context.Context) (net.Conn, error) {
		conn, err := mn.dialer(name).Dial(ctx)
		if err != nil {
			return nil, err
		}
		held := false
		first.Do(func() { held = true })
		if !held {
			return conn, nil
		}
		hc := &holdReplyConn{Conn: conn, release: make(chan struct{}), sent: make(chan struct{}), closed: make(chan struct{})}
		hc.cOnce.Do(func() { close(hc.closed) }) // reads after the PSYNC fail
		return hc, nil
	})
}

// TestReview15HandoverRetriedAfterCut: the link breaks right after the
// target received PSYNC … FAILOVER (and promoted itself). The link
// reconnects and sends PSYNC … FAILOVER again to what is now a primary
// of the continued history; that must complete the handover, not be
// refused ("can't be sent to a master") and resume the old primary
// beside the new one.
func TestReview15HandoverRetriedAfterCut(t *testing.T) {
	c := newFOCluster(t, 0)
	r1 := c.reps[1001]
	must(t, c.p.Set("pre", []byte("x")))
	waitConverged(t, c.p, r1)
	dial := func(ReplicaInfo) transport.Dialer { return cutAfterFailoverDial(c.mn, "r1001") }
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := c.p.Failover(ctx, FailoverOptions{Port: 1001, Dial: dial, Timeout: 5 * time.Second})
	t.Logf("Failover: %v; roles p %v, r1001 %v", err, c.p.Role(), r1.Role())
	if c.p.Role() == RolePrimary && r1.Role() == RolePrimary {
		t.Fatalf("two primaries after a cut handover (Failover: %v)", err)
	}
	if err != nil {
		t.Fatalf("Failover: %v", err)
	}
	waitSynced(t, c.p)
	must(t, r1.Set("after", []byte("1")))
	waitConverged(t, r1, c.p)
	if n := c.p.Info().Master.FullSyncs; n != 0 {
		t.Fatalf("old primary resynced in full %d times", n)
	}
}

// TestReview15FailoverBackAndForthStress: writers (plain Sets and
// AtomicKeys) keep writing to whichever node is the primary while a
// coordinated failover moves the role back and forth between a and b
// several times (c follows a throughout). Every write that returned
// success must be on the final primary, every keyspace ends equal, and
// no full resync happens after the initial ones: not even for c when,
// slow to reconnect on a loaded machine, it misses a whole round (a's
// history moved on twice; see TestPartialAfterTwoPromotions).
func TestReview15FailoverBackAndForthStress(t *testing.T) {
	mn := memNet{transport.NewMemNetwork()}
	names := map[int]string{1000: "a", 1001: "b", 1002: "c"}
	mk := func(port int) *Store {
		cfg := fastConfig()
		cfg.ListeningPort = port
		cfg.BacklogSize = 64 << 20 // nothing but a history missed should force a full resync
		cfg.ReplTimeout = 30 * time.Second
		return node(t, mn, names[port], cfg)
	}
	a, b, c := mk(1000), mk(1001), mk(1002)
	must(t, b.ReplicaOf(mn.dialer("a")))
	must(t, c.ReplicaOf(mn.dialer("a")))
	waitSynced(t, b)
	waitSynced(t, c)
	dial := func(r ReplicaInfo) transport.Dialer { return mn.dialer(names[r.Port]) }
	stores := []*Store{a, b}
	var cur atomic.Int32 // index in stores of the primary

	var mu sync.Mutex
	acked := map[string]string{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var refusedOther atomic.Int64
	for w := range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				k1, k2, v := fmt.Sprintf("w%d:%d", w, i), fmt.Sprintf("w%d:%d:b", w, i), fmt.Sprintf("v%d", i)
				for {
					s := stores[cur.Load()]
					var err error
					if w == 0 {
						err = s.AtomicKeys([]string{k1, k2}, func(tx *Tx) error {
							if err := tx.Set(k1, []byte(v)); err != nil {
								return err
							}
							return tx.Set(k2, []byte(v))
						})
					} else {
						err = s.Set(k1, []byte(v))
					}
					if err == nil {
						mu.Lock()
						acked[k1] = v
						if w == 0 {
							acked[k2] = v
						}
						mu.Unlock()
						break
					}
					if !errors.Is(err, ErrReadOnly) && !errors.Is(err, ErrWritesPaused) {
						refusedOther.Add(1)
						t.Errorf("write refused with %v", err)
						return
					}
					select {
					case <-stop:
						return
					default:
					}
					time.Sleep(time.Millisecond)
				}
			}
		}()
	}
	for round := range 6 {
		time.Sleep(100 * time.Millisecond)
		from, to := stores[round%2], 1001-round%2
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := from.Failover(ctx, FailoverOptions{Port: to, Dial: dial, Timeout: 5 * time.Second})
		cancel()
		if err != nil {
			close(stop)
			wg.Wait()
			t.Fatalf("round %d: Failover: %v", round, err)
		}
		cur.Store(int32((round + 1) % 2))
	}
	time.Sleep(100 * time.Millisecond)
	close(stop)
	wg.Wait()
	p := stores[cur.Load()]
	other := stores[1-cur.Load()]
	if p != a {
		t.Fatalf("final primary should be a after an even number of rounds")
	}
	waitSynced(t, b)
	waitSynced(t, c)
	waitConverged(t, a, b, c)
	got := dump(p)
	lost := 0
	for k, v := range acked {
		if got[k].Value != v {
			lost++
			if lost < 5 {
				t.Errorf("acknowledged write %s=%s lost (has %q)", k, v, got[k].Value)
			}
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d acknowledged writes lost", lost, len(acked))
	}
	if d := cmp.Diff(dump(p), dump(other)); d != "" {
		t.Fatalf("a and b differ:\n%s", d)
	}
	for n, s := range map[string]*Store{"a": a, "b": b, "c": c} {
		in := s.Info()
		t.Logf("%s: role %v, served full %d partial %d; own full syncs %d, partial %d", n, s.Role(), in.SyncFull, in.SyncPartialOK, in.Master.FullSyncs, in.Master.PartialSyncs)
	}
	if n := a.Info().Master.FullSyncs; n != 0 {
		t.Fatalf("a resynced in full %d times", n)
	}
	if n := b.Info().Master.FullSyncs; n != 1 {
		t.Fatalf("b resynced in full %d times, want only its first", n)
	}
	if n := c.Info().Master.FullSyncs; n != 1 {
		t.Fatalf("c resynced in full %d times, want only its first", n)
	}
	t.Logf("%d acknowledged writes, all present", len(acked))
}

// TestReview15CloseDuringFailover: Close while a failover waits for a
// stalled target ends the failover, releases a paused writer with
// ErrClosed (the store is closed, not paused), and leaves no goroutine.
func TestReview15CloseDuringFailover(t *testing.T) {
	base := runtime.NumGoroutine()
	mn := memNet{transport.NewMemNetwork()}
	f := transport.NewFaults(1)
	cfg := fastConfig()
	cfg.Logger = dbgLogger(t, "p")
	p := newStore(t, cfg)
	l := mn.listen(t, "p")
	served := make(chan struct{})
	go func() { defer close(served); p.Serve(l) }()
	rcfg := fastConfig()
	rcfg.ListeningPort = 1001
	rcfg.Logger = dbgLogger(t, "r")
	r := newStore(t, rcfg)
	must(t, r.ReplicaOf(f.Dialer("r", "p", mn.dialer("p"))))
	waitSynced(t, r)
	poll(t, 5*time.Second, "replica online", func() bool { return len(p.Info().Replicas) == 1 && p.Info().Replicas[0].State == "online" })
	f.Stall("r", "p")
	must(t, p.Set("k", []byte("v")))
	res, err := p.StartFailover(FailoverOptions{Port: 1001, Dial: func(ReplicaInfo) transport.Dialer { return mn.dialer("r") }})
	must(t, err)
	werr := make(chan error, 1)
	go func() { werr <- p.Set("paused", []byte("1")) }()
	time.Sleep(100 * time.Millisecond)
	p.Close()
	<-served
	if err := <-res; err == nil {
		t.Fatalf("failover succeeded after Close")
	}
	if err := <-werr; !errors.Is(err, ErrClosed) {
		t.Errorf("paused writer after Close: %v, want ErrClosed", err)
	}
	f.Resume("r", "p")
	r.Close()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines left, %d before:\n%s", n, base, buf[:runtime.Stack(buf, true)])
	}
}

// TestReview15ReadYourWritesLoop: after WaitOffset returns for the Pos a
// write produced, the replica serves that write; many writers and
// waiters at once, and many cancelled waiters leave nothing behind.
func TestReview15ReadYourWritesLoop(t *testing.T) {
	mn := memNet{transport.NewMemNetwork()}
	p := node(t, mn, "p", fastConfig())
	r := node(t, mn, "r", fastConfig())
	must(t, r.ReplicaOf(mn.dialer("p")))
	waitSynced(t, r)
	base := runtime.NumGoroutine()
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				k, v := fmt.Sprintf("k%d:%d", w, i), fmt.Sprintf("v%d", i)
				_, pos, err := p.SetPos(k, []byte(v), SetOptions{})
				if err != nil {
					t.Error(err)
					return
				}
				if i%10 == 0 { // a waiter that gives up at once
					ctx, cancel := context.WithCancel(context.Background())
					cancel()
					_ = r.WaitOffset(ctx, pos.ReplID, pos.Offset+1<<30)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				err = r.WaitOffset(ctx, pos.ReplID, pos.Offset)
				cancel()
				if err != nil {
					t.Errorf("WaitOffset(%v): %v", pos, err)
					return
				}
				got, err := r.Get(k)
				if err != nil || string(got) != v {
					t.Errorf("after WaitOffset(%v): Get(%s) = %q, %v; want %q", pos, k, got, err, v)
					return
				}
			}
		}()
	}
	wg.Wait()
	// 1,800 waiters ran: a leak per waiter would be hundreds. A few more
	// or fewer are the stores' own (a link reconnecting under load, a
	// feeder), which come and go.
	const slack = 4
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base+slack && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base+slack {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines, %d before:\n%s", n, base, buf[:runtime.Stack(buf, true)])
	}
}

// TestReview15WaitOffsetAfterFullResyncElsewhere: a replica waiting for
// an offset of its primary's history that it will never get, because it
// is re-pointed to an unrelated primary (full resync onto another
// history), should get ErrHistoryDiverged as WaitOffset's doc says ("or
// this store followed another primary"), not wait until ctx ends.
func TestReview15WaitOffsetAfterFullResyncElsewhere(t *testing.T) {
	mn := memNet{transport.NewMemNetwork()}
	p := node(t, mn, "p", fastConfig())
	q := node(t, mn, "q", fastConfig())
	r := node(t, mn, "r", fastConfig())
	must(t, q.Set("other", []byte("1")))
	must(t, r.ReplicaOf(mn.dialer("p")))
	waitSynced(t, r)
	_, pos, err := p.SetPos("k", []byte("v"), SetOptions{})
	must(t, err)
	waitConverged(t, p, r)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	res := make(chan error, 1)
	go func() { res <- r.WaitOffset(ctx, pos.ReplID, pos.Offset+1000) }()
	time.Sleep(50 * time.Millisecond)
	must(t, r.ReplicaOf(mn.dialer("q")))
	waitSynced(t, r)
	if err := <-res; !errors.Is(err, ErrHistoryDiverged) {
		t.Fatalf("WaitOffset after a full resync onto another history: %v, want ErrHistoryDiverged", err)
	}
}

// TestReview15MinReplicasNotOnApply: a replica configured with
// min-replicas-to-write (and no replicas of its own) still applies its
// primary's stream, including after it was the primary of a failover.
func TestReview15MinReplicasNotOnApply(t *testing.T) {
	mn := memNet{transport.NewMemNetwork()}
	p := node(t, mn, "p", fastConfig())
	cfg := fastConfig()
	cfg.MinReplicasToWrite, cfg.MinReplicasMaxLag = 1, time.Second
	r := node(t, mn, "r", cfg)
	must(t, r.ReplicaOf(mn.dialer("p")))
	waitSynced(t, r)
	for i := range 50 {
		must(t, p.Set(fmt.Sprintf("k%d", i), []byte("v")))
	}
	must(t, p.FlushAll())
	must(t, p.Set("last", []byte("v")))
	waitConverged(t, p, r)
	if err := r.Set("x", []byte("1")); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("write on the replica: %v, want ErrReadOnly", err)
	}
}
