package replikv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/replikv/replikv/transport"
)

// testNet gives a test named nodes on one transport.
type testNet interface {
	listen(t *testing.T, name string) net.Listener
	dialer(name string) transport.Dialer
	cut(name string) // cut every live connection to name
}

type memNet struct{ n *transport.MemNetwork }

func (m memNet) listen(t *testing.T, name string) net.Listener {
	l, err := m.n.Listen(name)
	must(t, err)
	return l
}
func (m memNet) dialer(name string) transport.Dialer { return m.n.Dialer(name) }
func (m memNet) cut(name string)                     { m.n.CutAll(name) }

// tcpNet runs nodes on loopback ports; cut closes the server side of
// every accepted connection.
type tcpNet struct {
	mu    sync.Mutex
	addrs map[string]string
	conns map[string][]net.Conn
}

func (n *tcpNet) listen(t *testing.T, name string) net.Listener {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	n.mu.Lock()
	n.addrs[name] = l.Addr().String()
	n.mu.Unlock()
	return &trackListener{Listener: l, track: func(c net.Conn) {
		n.mu.Lock()
		n.conns[name] = append(n.conns[name], c)
		n.mu.Unlock()
	}}
}
func (n *tcpNet) dialer(name string) transport.Dialer {
	return transport.DialerFunc(func(ctx context.Context) (net.Conn, error) {
		n.mu.Lock()
		addr := n.addrs[name]
		n.mu.Unlock()
		return transport.TCP(addr).Dial(ctx)
	})
}
func (n *tcpNet) cut(name string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, c := range n.conns[name] {
		c.Close()
	}
	n.conns[name] = nil
}

type trackListener struct {
	net.Listener
	track func(net.Conn)
}

func (l *trackListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.track(c)
	}
	return c, err
}

// gate is a dialer that can refuse to dial, to hold a replica off.
type gate struct {
	d      transport.Dialer
	closed atomic.Bool
}

func (g *gate) String() string { return "gate:" + fmt.Sprint(g.d) }

func (g *gate) Dial(ctx context.Context) (net.Conn, error) {
	if g.closed.Load() {
		return nil, errors.New("gate closed")
	}
	return g.d.Dial(ctx)
}

// fastConfig has short periods so tests move quickly.
func fastConfig() Config {
	return Config{
		PingPeriod:   50 * time.Millisecond,
		AckPeriod:    20 * time.Millisecond,
		ReplTimeout:  5 * time.Second,
		ReconnectMin: 10 * time.Millisecond,
		ReconnectMax: 50 * time.Millisecond,
	}
}

// node starts a store serving on name.
func node(t *testing.T, tn testNet, name string, cfg Config) *Store {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = dbgLogger(t, name)
	}
	s := newStore(t, cfg)
	l := tn.listen(t, name)
	done := make(chan struct{})
	go func() { defer close(done); s.Serve(l) }()
	t.Cleanup(func() { s.Close(); <-done })
	return s
}

func waitSynced(t *testing.T, s *Store) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.WaitSynced(ctx); err != nil {
		t.Fatalf("WaitSynced: %v (info %+v)", err, s.Info().Master)
	}
}

// waitConverged waits until every replica has the primary's offset and
// then compares whole keyspaces, each taken together with its offset.
// The dumps are taken while the primary's stream is held still (its
// locks held), so a PING the primary emits between two dumps cannot make
// the offsets differ on every try.
func waitConverged(t *testing.T, primary *Store, replicas ...*Store) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, off := primary.Position()
		offs := make([]int64, len(replicas))
		same := true
		for i, r := range replicas {
			_, offs[i] = r.Position()
			same = same && offs[i] == off
		}
		if same {
			if want, dumps, ok := dumpStill(primary, off, replicas); ok {
				for i := range replicas {
					if d := cmp.Diff(want, dumps[i]); d != "" {
						t.Fatalf("replica %d differs from the primary at offset %d (-primary +replica):\n%s", i, off, d)
					}
				}
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no convergence: primary at %d, replicas at %v", off, offs)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// dumpStill dumps the primary and the replicas while the primary's locks
// hold its stream still, provided the primary is still at off and every
// replica has applied off: then no replica can move while they are
// dumped. ok is false when something moved first.
func dumpStill(primary *Store, off int64, replicas []*Store) (want map[string]entry, dumps []map[string]entry, ok bool) {
	primary.lockAll()
	defer primary.unlockAll()
	if primary.st.end != off {
		return nil, nil, false
	}
	for _, r := range replicas {
		d, o := dumpAt(r)
		if o != off {
			return nil, nil, false
		}
		dumps = append(dumps, d)
	}
	return dumpLocked(primary), dumps, true
}

// dumpAt returns the keyspace and the offset it corresponds to.
func dumpAt(s *Store) (map[string]entry, int64) {
	s.lockAll()
	defer s.unlockAll()
	return dumpLocked(s), s.st.end
}

func TestConvergenceMem(t *testing.T) {
	convergence(t, memNet{transport.NewMemNetwork()})
}

func TestConvergenceTCP(t *testing.T) {
	convergence(t, &tcpNet{addrs: map[string]string{}, conns: map[string][]net.Conn{}})
}

// convergence: a primary, two replicas and one replica chained under the
// first, with concurrent writers (invariants 1 and 3).
func convergence(t *testing.T, tn testNet) {
	cfg := fastConfig()
	cfg.BacklogSize = 64 << 20 // keep the whole history to compare bytes
	cfg.ActiveExpiryInterval = 5 * time.Millisecond
	p := node(t, tn, "p", cfg)
	randomKeyspace(t, p, rand.New(rand.NewPCG(1, 1)), 2000)
	r1 := node(t, tn, "r1", cfg)
	r2 := node(t, tn, "r2", cfg)
	r3 := node(t, tn, "r3", cfg)
	must(t, r1.ReplicaOf(tn.dialer("p")))
	must(t, r2.ReplicaOf(tn.dialer("p")))
	must(t, r3.ReplicaOf(tn.dialer("r1")))

	var stop atomic.Bool
	var wg sync.WaitGroup
	var ops atomic.Int64
	for w := 0; w < 3; w++ {
		rng := rand.New(rand.NewPCG(2, uint64(w)))
		wg.Go(func() { randomWriter(t, p, rng, &stop, &ops) })
	}
	for _, r := range []*Store{r1, r2, r3} {
		waitSynced(t, r)
	}
	for ops.Load() < 3000 {
		time.Sleep(time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	waitConverged(t, p, r1, r2, r3)

	// The same bytes everywhere (invariant 3): over the history the
	// replicas hold, the primary's, r1's and the chained r3's backlogs agree.
	// The primary keeps appending PINGs and expiry DELs: compare up to
	// the shortest of the three streams.
	end := int64(math.MaxInt64)
	for _, s := range []*Store{p, r1, r3} {
		_, e := s.BacklogRange()
		end = min(end, e)
	}
	ring := func(s *Store, from int64) []byte {
		b := make([]byte, end-from)
		s.st.mu.Lock()
		defer s.st.mu.Unlock()
		if _, err := s.st.ring.ReadAt(b, from); err != nil {
			t.Fatal(err)
		}
		return b
	}
	// Compare over the history all three still hold, leaving room for the
	// PINGs and expiry DELs the primary keeps appending meanwhile.
	var from int64
	for _, s := range []*Store{p, r1, r3} {
		first, _ := s.BacklogRange()
		from = max(from, first)
	}
	if end-from > 2<<20 {
		from += 1 << 20
	}
	if !bytes.Equal(ring(p, from), ring(r1, from)) || !bytes.Equal(ring(r1, from), ring(r3, from)) {
		t.Fatalf("streams differ over [%d, %d)", from, end)
	}
	if end-from < 1000 {
		t.Fatalf("compared only %d stream bytes", end-from)
	}
	in := p.Info()
	if len(in.Replicas) != 2 || in.SyncFull != 2 {
		t.Fatalf("primary info: %d replicas, %d full syncs; want 2 and 2 (last link errors: r1 %q, r2 %q)",
			len(in.Replicas), in.SyncFull, r1.Info().Master.LastErr, r2.Info().Master.LastErr)
	}
	if r1.Info().SyncFull != 1 || r3.Info().Master.LinkStatus != LinkUp || r3.Info().Role != "slave" {
		t.Fatalf("r1 served %d full syncs; r3 link %v", r1.Info().SyncFull, r3.Info().Master.LinkStatus)
	}
	// ACKs reach the primary.
	deadline := time.Now().Add(5 * time.Second)
	for {
		in := p.Info()
		if in.Replicas[0].Offset == in.Offset && in.Replicas[1].Offset == in.Offset {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ACKed offsets %+v, want %d", in.Replicas, in.Offset)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("%d writes, %d stream bytes compared", ops.Load(), end-from)
}

// TestPartialResyncAfterCut: a cut link whose gap the backlog covers costs
// no snapshot (invariant 4); one it does not cover costs exactly one.
func TestPartialResyncAfterCut(t *testing.T) {
	mn := memNet{transport.NewMemNetwork()}
	cfg := fastConfig()
	cfg.BacklogSize = 64 << 10
	p := node(t, mn, "p", cfg)
	r := newStore(t, cfg)
	g := &gate{d: mn.dialer("p")}
	must(t, r.ReplicaOf(g))
	waitSynced(t, r)
	for i := 0; i < 100; i++ {
		must(t, p.Set(fmt.Sprint("a", i), []byte("x")))
	}
	waitConverged(t, p, r)
	base := p.Info()

	cutAndWrite := func(n int) {
		g.closed.Store(true)
		mn.cut("p")
		waitLink(t, r, LinkDown)
		for i := 0; i < n; i++ {
			must(t, p.Set(fmt.Sprint("b", i), bytes.Repeat([]byte("y"), 100)))
		}
		g.closed.Store(false)
		waitSynced(t, r)
		waitConverged(t, p, r)
	}
	cutAndWrite(100) // ~13 KB: inside the 64 KB backlog
	in := p.Info()
	if in.SyncPartialOK != base.SyncPartialOK+1 || in.SyncFull != base.SyncFull {
		t.Fatalf("after a covered gap: partial ok %d->%d, full %d->%d; want +1 and +0",
			base.SyncPartialOK, in.SyncPartialOK, base.SyncFull, in.SyncFull)
	}
	if m := r.Info().Master; m.PartialSyncs != 1 || m.FullSyncs != 1 {
		t.Fatalf("replica counted %d partial and %d full", m.PartialSyncs, m.FullSyncs)
	}
	cutAndWrite(1000) // ~130 KB: the backlog has moved past the replica
	in2 := p.Info()
	if in2.SyncFull != in.SyncFull+1 || in2.SyncPartialErr != in.SyncPartialErr+1 || in2.SyncPartialOK != in.SyncPartialOK {
		t.Fatalf("after an uncovered gap: full %d->%d, partial err %d->%d, partial ok %d->%d",
			in.SyncFull, in2.SyncFull, in.SyncPartialErr, in2.SyncPartialErr, in.SyncPartialOK, in2.SyncPartialOK)
	}
}

func waitLink(t *testing.T, s *Store, want LinkStatus) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.LinkStatus() != want {
		if time.Now().After(deadline) {
			t.Fatalf("link %v, want %v", s.LinkStatus(), want)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestFullResyncCases: an unknown history, or a replica ahead of its new
// primary, gets a full resync.
func TestFullResyncCases(t *testing.T) {
	mn := memNet{transport.NewMemNetwork()}
	cfg := fastConfig()
	a := node(t, mn, "a", cfg)
	b := node(t, mn, "b", cfg)
	must(t, a.Set("only-on-a", []byte("1")))
	for i := 0; i < 10; i++ {
		must(t, b.Set(fmt.Sprint("b", i), []byte("1")))
	}
	// r follows a, then is pointed at b, whose history it does not know.
	r := newStore(t, cfg)
	must(t, r.ReplicaOf(mn.dialer("a")))
	waitSynced(t, r)
	waitConverged(t, a, r)
	must(t, r.ReplicaOf(mn.dialer("b")))
	waitSynced(t, r)
	waitConverged(t, b, r)
	if in := b.Info(); in.SyncFull != 1 || in.SyncPartialErr != 1 {
		t.Fatalf("b: full %d, partial err %d; want 1, 1", in.SyncFull, in.SyncPartialErr)
	}
	if _, err := r.Get("only-on-a"); !errors.Is(err, ErrNotFound) {
		t.Fatal("data of the old primary survived a full resync")
	}
}

// TestReplicaAheadOfNewPrimary: a replica that received more of the old
// primary's stream than the replica promoted in its place cannot continue
// from it (its offset is beyond the promoted history's switch point).
func TestReplicaAheadOfNewPrimary(t *testing.T) {
	mn := memNet{transport.NewMemNetwork()}
	cfg := fastConfig()
	p := node(t, mn, "p", cfg)
	behind := node(t, mn, "behind", cfg)
	ahead := newStore(t, cfg)
	g := &gate{d: mn.dialer("p")}
	must(t, behind.ReplicaOf(g))
	must(t, ahead.ReplicaOf(mn.dialer("p")))
	must(t, p.Set("a", []byte("1")))
	waitSynced(t, behind)
	waitSynced(t, ahead)
	waitConverged(t, p, behind, ahead)
	g.closed.Store(true)
	mn.cut("p")
	must(t, p.Set("b", []byte("2"))) // only "ahead" gets it
	waitSynced(t, ahead)
	waitConverged(t, p, ahead)
	p.Close()

	must(t, behind.Promote())
	must(t, ahead.ReplicaOf(mn.dialer("behind")))
	waitSynced(t, ahead)
	waitConverged(t, behind, ahead)
	if in := behind.Info(); in.SyncFull != 1 || in.SyncPartialErr != 1 || in.SyncPartialOK != 0 {
		t.Fatalf("promoted: full %d, partial err %d, ok %d; want 1, 1, 0", in.SyncFull, in.SyncPartialErr, in.SyncPartialOK)
	}
	if _, err := ahead.Get("b"); !errors.Is(err, ErrNotFound) {
		t.Fatal("the write the new primary never had survived the resync")
	}
}

func TestPSyncDecision(t *testing.T) {
	id, id2, other := "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "cccccccccccccccccccccccccccccccccccccccc"
	id3, id4 := "dddddddddddddddddddddddddddddddddddddddd", "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
	// id continued id2 at 500, which continued id3 at 300, which
	// continued id4 at 50.
	h := history{ReplID: id, ReplID2: id2, Off2: 501, Older: []pastID{{id3, 301}, {id4, 51}}, First: 100, End: 1000}
	for _, tc := range []struct {
		replid string
		off    int64
		cont   bool
		from   int64
	}{
		{"?", -1, false, 0},
		{id, 1001, true, 1000}, // nothing to resend
		{id, 1000, true, 999},  // the last byte again
		{id, 101, true, 100},   // the whole backlog
		{id, 100, false, 0},    // just before the backlog
		{id, 1002, false, 0},   // beyond the end
		{other, 500, false, 0}, // unknown history
		{id2, 501, true, 500},  // previous history, up to the switch point
		{id2, 502, false, 0},   // previous history, past the switch point
		{id2, 50, false, 0},    // previous history, not in the backlog
		{"", 500, false, 0},    // empty id never matches an empty replid2
		{id3, 301, true, 300},  // an older history, up to its switch point
		{id3, 200, true, 199},  // an older history, inside it
		{id3, 302, false, 0},   // an older history, past its switch point
		{id4, 51, false, 0},    // an older history, not in the backlog
		{id, 0, false, 0},
		{id, -1 << 63, false, 0}, // offset-1 would overflow
		{id, 1<<63 - 1, false, 0},
	} {
		d := decidePSync(tc.replid, tc.off, h)
		if d.Continue != tc.cont || (d.Continue && d.From != tc.from) || (!d.Continue && d.Reason == "") {
			t.Errorf("PSYNC %s %d: %+v; want continue=%v from %d", tc.replid[:min(1, len(tc.replid))], tc.off, d, tc.cont, tc.from)
		}
	}
	noPrev := history{ReplID: id, Off2: -1, First: 0, End: 0}
	if d := decidePSync("", 0, noPrev); d.Continue {
		t.Error("empty replid matched an empty replid2")
	}
	if d := decidePSync(id, 1, noPrev); !d.Continue || d.From != 0 {
		t.Errorf("fresh primary, next byte: %+v", d)
	}
}

// TestPromotion: after the primary dies, a promoted replica keeps serving
// its siblings and its own replica with partial resyncs only.
func TestPromotion(t *testing.T) {
	mn := memNet{transport.NewMemNetwork()}
	cfg := fastConfig()
	p := node(t, mn, "p", cfg)
	r1 := node(t, mn, "r1", cfg)
	r2 := node(t, mn, "r2", cfg)
	r3 := node(t, mn, "r3", cfg) // chained under r1
	must(t, r1.ReplicaOf(mn.dialer("p")))
	must(t, r2.ReplicaOf(mn.dialer("p")))
	must(t, r3.ReplicaOf(mn.dialer("r1")))
	for i := 0; i < 500; i++ {
		must(t, p.Set(fmt.Sprint("k", i), []byte(strconv.Itoa(i))))
	}
	waitSynced(t, r3)
	waitConverged(t, p, r1, r2, r3)
	if err := r1.Set("x", nil); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("write on a replica: %v, want ErrReadOnly", err)
	}
	oldID, _ := p.Position()
	p.Close()

	must(t, r1.Promote())
	must(t, r2.ReplicaOf(mn.dialer("r1")))
	waitSynced(t, r2)
	waitSynced(t, r3)
	for i := 0; i < 100; i++ {
		must(t, r1.Set(fmt.Sprint("after", i), []byte("promoted")))
	}
	waitConverged(t, r1, r2, r3)
	in := r1.Info()
	if in.Role != "master" || in.ReplID2 != oldID || in.SyncFull != 1 || in.SyncPartialOK != 2 {
		t.Fatalf("promoted: role %s replid2 %s full %d partial %d; want master, %s, 1 (r3's first), 2",
			in.Role, in.ReplID2, in.SyncFull, in.SyncPartialOK, oldID)
	}
	for _, r := range []*Store{r2, r3} {
		if m := r.Info().Master; m.FullSyncs != 1 || m.PartialSyncs < 1 {
			t.Fatalf("sibling counted %d full, %d partial syncs", m.FullSyncs, m.PartialSyncs)
		}
	}
}

func TestAuth(t *testing.T) {
	mn := memNet{transport.NewMemNetwork()}
	cfg := fastConfig()
	cfg.Password = "s3cret"
	p := node(t, mn, "p", cfg)
	must(t, p.Set("secret", []byte("data")))
	for _, tc := range []struct{ user, pass string }{{"", ""}, {"", "wrong"}, {"bob", "s3cret"}} {
		rc := fastConfig()
		rc.MasterUser, rc.MasterAuth = tc.user, tc.pass
		r := newStore(t, rc)
		must(t, r.ReplicaOf(mn.dialer("p")))
		deadline := time.Now().Add(5 * time.Second)
		for r.Info().Master.LastErr == "" {
			if time.Now().After(deadline) {
				t.Fatal("no auth failure reported")
			}
			time.Sleep(time.Millisecond)
		}
		if m := r.Info().Master; m.LinkStatus == LinkUp || r.Len() != 0 || m.FullSyncs != 0 {
			t.Fatalf("%+v: replica got data: %+v", tc, m)
		}
		r.Close()
	}
	if in := p.Info(); in.SyncFull != 0 {
		t.Fatalf("primary sent %d snapshots to unauthenticated replicas", in.SyncFull)
	}
	for _, user := range []string{"", "default"} {
		rc := fastConfig()
		rc.MasterUser, rc.MasterAuth = user, "s3cret"
		r := newStore(t, rc)
		must(t, r.ReplicaOf(mn.dialer("p")))
		waitSynced(t, r)
		waitConverged(t, p, r)
	}
}

// TestServeStaleData: by default (Redis's replica-serve-stale-data yes) a
// replica whose link is not up serves what it has; with RefuseStaleReads
// it refuses reads.
func TestServeStaleData(t *testing.T) {
	mn := memNet{transport.NewMemNetwork()}
	for _, stale := range []bool{false, true} {
		cfg := fastConfig()
		cfg.RefuseStaleReads = !stale
		r := newStore(t, cfg)
		must(t, r.ReplicaOf(mn.dialer("nobody")))
		_, err := r.Get("k")
		if stale && !errors.Is(err, ErrNotFound) || !stale && !errors.Is(err, ErrSyncing) {
			t.Errorf("RefuseStaleReads=%v: Get = %v", !stale, err)
		}
	}
}

// TestCloseLeavesNoGoroutines: every goroutine a store started ends with
// Close, for primaries, replicas and chained replicas.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		mn := memNet{transport.NewMemNetwork()}
		var stores []*Store
		var serving sync.WaitGroup
		for _, name := range []string{"p", "r1", "r2"} {
			s, err := New(fastConfig())
			must(t, err)
			l := mn.listen(t, name)
			serving.Go(func() { s.Serve(l) })
			stores = append(stores, s)
		}
		must(t, stores[1].ReplicaOf(mn.dialer("p")))
		must(t, stores[2].ReplicaOf(mn.dialer("r1")))
		must(t, stores[0].Set("k", []byte("v")))
		waitSynced(t, stores[2])
		waitConverged(t, stores[0], stores[1], stores[2])
		for _, s := range stores {
			must(t, s.Close())
		}
		serving.Wait()
	}()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines before, %d after Close:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestParseFullResync(t *testing.T) {
	id := "2b89b79e0000000000000000000000000000abcd"
	if got, off, err := parseFullResync("FULLRESYNC " + id + " 173422"); err != nil || got != id || off != 173422 {
		t.Fatalf("valid line: %q %d %v", got, off, err)
	}
	for _, bad := range []string{
		"FULLRESYNC " + id, "FULLRESYNC " + id + " 1 junk", "FULLRESYNC short 1",
		"FULLRESYNC " + id + " -1", "FULLRESYNC " + id + " 9223372036854775807", "FULLRESYNC " + id + " x",
		"CONTINUE " + id + " 1",
	} {
		if _, _, err := parseFullResync(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
