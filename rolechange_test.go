package replikv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/replikv/replikv/resp"
	"github.com/replikv/replikv/transport"
)

// waitBlocked waits until some goroutine's stack holds every one of frames
// (a goroutine parked on a lock, say), so that a test can order events
// without sleeping.
func waitBlocked(t *testing.T, frames ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
	next:
		for _, g := range strings.Split(string(buf[:n]), "\n\n") {
			for _, f := range frames {
				if !strings.Contains(g, f) {
					continue next
				}
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no goroutine blocked in %v:\n%s", frames, buf[:n])
		}
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
}

// TestWriteRacingDemotion: a write that waits for its shard's lock while
// the store is demoted either lands in the stream before the demotion or
// fails with ErrReadOnly; it is never applied without being streamed.
// (Before the role was read under the stream lock, the Set returned nil,
// the offset did not move and A kept a key B never had.)
func TestWriteRacingDemotion(t *testing.T) {
	mn := memNet{transport.NewMemNetwork()}
	// No PINGs: one from a between the convergence and b's promotion would
	// put a ahead of b's history, and rightly cost a full resync.
	cfg := fastConfig()
	cfg.PingPeriod, cfg.ReplTimeout = time.Hour, 2*time.Hour
	a := node(t, mn, "a", cfg)
	b := node(t, mn, "b", cfg)
	must(t, a.Set("before", []byte("1")))
	must(t, b.ReplicaOf(mn.dialer("a")))
	waitSynced(t, b)
	waitConverged(t, a, b)
	must(t, b.Promote())

	sh := a.shardOf(hashKey("lost"))
	sh.mu.Lock()
	res := make(chan error, 1)
	go func() { res <- a.Set("lost", []byte("v")) }()
	waitBlocked(t, "(*Store).SetWithOptions", "(*RWMutex).Lock")
	_, before := a.Position()
	must(t, a.ReplicaOf(mn.dialer("b")))
	sh.mu.Unlock()
	if err := <-res; !errors.Is(err, ErrReadOnly) {
		t.Fatalf("Set racing the demotion returned %v, want ErrReadOnly", err)
	}
	if _, after := a.Position(); after != before {
		t.Fatalf("offset moved from %d to %d without a streamed write", before, after)
	}
	waitSynced(t, a)
	waitConverged(t, b, a)
	if _, err := a.Get("lost"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("demoted store kept a refused write: %v", err)
	}
	if m := a.Info().Master; m.FullSyncs != 0 || m.PartialSyncs != 1 {
		t.Fatalf("demoted store: %d full, %d partial syncs; want 0, 1", m.FullSyncs, m.PartialSyncs)
	}
}

// TestSnapshotUsedAfterClose: a closed snapshot cannot be written, and
// cannot clear the copy-on-write state of the snapshot that followed it.
func TestSnapshotUsedAfterClose(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, Config{})
	must(t, s.Set("k", []byte("old")))
	s1, err := s.BeginSnapshot(ctx)
	must(t, err)
	must(t, s1.Close())
	s2, err := s.BeginSnapshot(ctx)
	must(t, err)
	must(t, s.Set("k", []byte("new")))
	if _, err := s1.WriteTo(io.Discard); !errors.Is(err, ErrSnapshotClosed) {
		t.Fatalf("WriteTo after Close = %v, want ErrSnapshotClosed", err)
	}
	var buf bytes.Buffer
	if _, err := s2.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	if got := loadedValue(t, buf.Bytes(), "k"); got != "old" {
		t.Fatalf("snapshot taken before the Set holds k=%q, want old", got)
	}
	if _, err := s2.WriteTo(io.Discard); !errors.Is(err, ErrSnapshotClosed) {
		t.Fatalf("second WriteTo = %v, want ErrSnapshotClosed", err)
	}
}

// TestSnapshotClosedDuringWriteTo: Close from another goroutine while
// WriteTo runs makes WriteTo fail, and the next snapshot keeps its point.
func TestSnapshotClosedDuringWriteTo(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, Config{Shards: 64})
	for i := range 20000 {
		must(t, s.Set(fmt.Sprint("key:", i), bytes.Repeat([]byte{'v'}, 32)))
	}
	s1, err := s.BeginSnapshot(ctx)
	must(t, err)
	w := &stallWriter{started: make(chan struct{}), release: make(chan struct{})}
	res := make(chan error, 1)
	go func() {
		_, err := s1.WriteTo(w)
		res <- err
	}()
	<-w.started // WriteTo is in the middle of the shards
	must(t, s1.Close())
	s2, err := s.BeginSnapshot(ctx)
	must(t, err)
	// Change a key of every shard, so that s2 depends on what writers
	// preserve for it in shards s1 has not visited.
	want := map[string]string{}
	for i := range 20000 {
		k := fmt.Sprint("key:", i)
		want[k] = strings.Repeat("v", 32)
		must(t, s.Set(k, []byte("changed")))
	}
	close(w.release)
	if err := <-res; !errors.Is(err, ErrSnapshotClosed) {
		t.Fatalf("WriteTo across Close = %v, want ErrSnapshotClosed", err)
	}
	var buf bytes.Buffer
	if _, err := s2.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	dst := newStore(t, Config{})
	if _, err := dst.LoadSnapshot(ctx, &buf, LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	for k, e := range dump(dst) {
		got[k] = e.Value
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("snapshot after a closed one differs from its point (-want +got):\n%.2000s", d)
	}
}

// stallWriter blocks its first Write until release is closed.
type stallWriter struct {
	once    sync.Once
	started chan struct{}
	release chan struct{}
}

func (w *stallWriter) Write(p []byte) (int, error) {
	w.once.Do(func() {
		close(w.started)
		<-w.release
	})
	return len(p), nil
}

// loadedValue loads an RDB payload into a new store and returns key's value.
func loadedValue(t *testing.T, rdbBytes []byte, key string) string {
	t.Helper()
	dst := newStore(t, Config{})
	if _, err := dst.LoadSnapshot(context.Background(), bytes.NewReader(rdbBytes), LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	v, err := dst.Get(key)
	if err != nil {
		t.Fatalf("Get(%q) from the snapshot: %v", key, err)
	}
	return string(v)
}

// TestRoleSwapStress swaps the roles of two stores hundreds of times while
// writers write to both. Each swap is the safe handover (what a FAILOVER
// does): demote the primary (racing its writers), let the replica catch
// up, compare both keyspaces at that equal offset, promote the replica,
// and let the old primary follow it. Every write that returned nil must
// be in the final state, and no swap may cost a full resync.
func TestRoleSwapStress(t *testing.T) {
	swaps := 200
	if testing.Short() {
		swaps = 40
	}
	mn := memNet{transport.NewMemNetwork()}
	cfg := fastConfig()
	// The old primary reconnects up to ReconnectMax after the promotion,
	// while writers write to the new one: the backlog must hold that.
	cfg.BacklogSize = 64 << 20
	nodes := [2]*Store{node(t, mn, "n0", cfg), node(t, mn, "n1", cfg)}
	var refusals atomic.Int64
	for i, n := range nodes {
		n.prim.psyncHook = func(replid string, offset int64, h history, d psyncDecision) {
			if !d.Continue {
				refusals.Add(1)
				t.Logf("n%d refused PSYNC %s %d (history %+v): %s", i, replid, offset, h, d.Reason)
			}
		}
	}
	must(t, nodes[1].ReplicaOf(mn.dialer("n0")))
	waitSynced(t, nodes[1])

	const writers, keysPer = 4, 50
	var acked [writers][keysPer]atomic.Int64 // last acknowledged value, per key
	var stop atomic.Bool
	var wg sync.WaitGroup
	var writeErr atomic.Pointer[error]
	var okWrites, refused atomic.Int64
	for w := range writers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for seq := int64(1); !stop.Load(); seq++ {
				k := rng.IntN(keysPer)
				err := nodes[rng.IntN(2)].Set(fmt.Sprintf("w%d:%d", w, k), []byte(strconv.FormatInt(seq, 10)))
				switch {
				case err == nil:
					acked[w][k].Store(seq)
					okWrites.Add(1)
				case errors.Is(err, ErrReadOnly):
					refused.Add(1)
				default:
					writeErr.Store(&err)
					return
				}
				if seq%64 == 0 {
					runtime.Gosched()
				}
			}
		})
	}
	defer func() { stop.Store(true); wg.Wait() }()

	primary := 0
	for i := range swaps {
		x, y := nodes[primary], nodes[1-primary]
		g := &gate{d: mn.dialer(fmt.Sprint("n", 1-primary))}
		g.closed.Store(true)
		must(t, x.ReplicaOf(g)) // demotion, racing the writers
		if m := y.Info().Master; m.LinkStatus != LinkUp {
			// y's link to x may have dropped; it reconnects on its own.
			t.Logf("swap %d: replica link %v", i, m.LinkStatus)
		}
		// x's stream is frozen now; y catches up, and at equal offsets the
		// keyspaces must be equal.
		waitConverged(t, x, y)
		must(t, y.Promote())
		g.closed.Store(false)
		waitSynced(t, x)
		primary = 1 - primary
		if p := writeErr.Load(); p != nil {
			t.Fatalf("swap %d: write failed: %v", i, *p)
		}
	}
	stop.Store(true)
	wg.Wait()
	p, r := nodes[primary], nodes[1-primary]
	waitConverged(t, p, r)

	final := dump(p)
	for w := range writers {
		for k := range keysPer {
			key := fmt.Sprintf("w%d:%d", w, k)
			want := acked[w][k].Load()
			got, ok := final[key]
			if want == 0 {
				if ok {
					t.Errorf("%s = %q, but no write of it was acknowledged", key, got.Value)
				}
				continue
			}
			if !ok || got.Value != strconv.FormatInt(want, 10) {
				t.Errorf("%s = %q (present %v), want the last acknowledged value %d", key, got.Value, ok, want)
			}
		}
	}
	full := nodes[0].Info().Master.FullSyncs + nodes[1].Info().Master.FullSyncs
	served := nodes[0].Info().SyncFull + nodes[1].Info().SyncFull
	if full != 1 || served != 1 {
		t.Errorf("%d full syncs received, %d served over %d swaps; want only the first one", full, served, swaps)
	}
	t.Logf("%d swaps, %d writes acknowledged, %d refused as read-only", swaps, okWrites.Load(), refused.Load())
}

// TestControlCallsConcurrentWithClose calls every control method from
// many goroutines at random, with Close in the middle: no panic, no race,
// every call after Close returns ErrClosed, and no goroutine is left.
func TestControlCallsConcurrentWithClose(t *testing.T) {
	before := runtime.NumGoroutine()
	for round := range 20 {
		controlRound(t, round)
	}
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines before, %d after:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func controlRound(t *testing.T, round int) {
	mn := transport.NewMemNetwork()
	p, err := New(fastConfig())
	must(t, err)
	pl, err := mn.Listen("p")
	must(t, err)
	var serving sync.WaitGroup
	defer func() { p.Close(); serving.Wait() }()
	serving.Go(func() { p.Serve(pl) })
	for i := range 100 {
		must(t, p.Set(fmt.Sprint(i), []byte("v")))
	}

	s, err := New(fastConfig())
	must(t, err)
	sl, err := mn.Listen("s")
	must(t, err)
	serving.Go(func() { s.Serve(sl) })
	// A replica of s, so that s has subscribers and feeds.
	sub, err := New(fastConfig())
	must(t, err)
	defer sub.Close()
	must(t, sub.ReplicaOf(mn.Dialer("s")))

	calls := []func() error{
		func() error { return s.ReplicaOf(mn.Dialer("p")) },
		func() error { return s.Promote() },
		func() error { return s.Reconfigure(func(c *Config) { c.ReplTimeout = 4 * time.Second }) },
		func() error {
			sb, err := s.Subscribe(0, SubscribeLimits{})
			if err == nil {
				sb.Close()
			}
			return err
		},
		func() error {
			sn, err := s.BeginSnapshot(context.Background())
			if err != nil {
				return err
			}
			_, err = sn.WriteTo(io.Discard)
			return err
		},
		func() error {
			a, b := net.Pipe()
			defer a.Close()
			done := make(chan struct{})
			go func() { defer close(done); io.Copy(io.Discard, a) }()
			s.ServeReplicaConn(b, resp.NewReader(b, resp.Limits{}), [][]byte{[]byte("PSYNC"), []byte("?"), []byte("-1")})
			a.Close()
			<-done
			return nil
		},
		func() error { return s.Set("k", []byte("v")) },
		func() error { _, err := s.Delete("k"); return err },
		func() error { return s.FlushAll() },
	}
	rng := rand.New(rand.NewPCG(uint64(round), 1))
	var wg sync.WaitGroup
	var panics atomic.Int64
	closeAt := rng.IntN(40)
	for g := range 8 {
		seed := rng.Uint64()
		wg.Go(func() {
			defer func() {
				if r := recover(); r != nil {
					panics.Add(1)
					t.Errorf("goroutine %d panicked: %v", g, r)
				}
			}()
			r := rand.New(rand.NewPCG(seed, 2))
			for range 10 {
				calls[r.IntN(len(calls))]()
			}
		})
	}
	for i := 0; i < closeAt; i++ {
		runtime.Gosched()
	}
	must(t, s.Close())
	for i, call := range calls {
		if i == 5 { // ServeReplicaConn returns nothing; it must return at once
			continue
		}
		if err := call(); !errors.Is(err, ErrClosed) {
			t.Errorf("round %d: call %d after Close returned %v, want ErrClosed", round, i, err)
		}
	}
	wg.Wait()
	must(t, s.Close())
}

// TestReplTimeoutReachesOpenConns: the write deadline of a replication
// connection follows Reconfigure, not the setting at connect time.
func TestReplTimeoutReachesOpenConns(t *testing.T) {
	s := newStore(t, Config{ReplTimeout: time.Hour, PingPeriod: 10 * time.Millisecond, AckPeriod: 10 * time.Millisecond})
	a, b := net.Pipe() // nobody reads b: a write blocks until its deadline
	defer a.Close()
	defer b.Close()
	w := timeoutWriter{a, s}
	must(t, s.Reconfigure(func(c *Config) { c.ReplTimeout = 50 * time.Millisecond }))
	done := make(chan error, 1)
	go func() { _, err := w.Write([]byte("x")); done <- err }()
	select {
	case err := <-done:
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("write = %v, want a timeout", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("write still blocked a minute after ReplTimeout became 50ms")
	}
}

// TestSoftLimitUsesWallClock: a subscription over its soft limit is closed
// after SoftFor of real time, even when Config.Now (the expiry clock) is
// frozen.
func TestSoftLimitUsesWallClock(t *testing.T) {
	frozen := time.UnixMilli(1_700_000_000_000)
	s := newStore(t, Config{Now: func() time.Time { return frozen }})
	sub, err := s.Subscribe(0, SubscribeLimits{Soft: 10, SoftFor: 20 * time.Millisecond})
	must(t, err)
	defer sub.Close()
	deadline := time.Now().Add(30 * time.Second)
	for sub.Err() == nil {
		if time.Now().After(deadline) {
			t.Fatalf("subscription over its soft limit for 30 s is still open (%d pending)", sub.Pending())
		}
		must(t, s.Set("k", []byte("a value longer than the soft limit")))
		time.Sleep(5 * time.Millisecond)
	}
	if !errors.Is(sub.Err(), ErrSubscriberLagging) {
		t.Fatalf("closed with %v, want ErrSubscriberLagging", sub.Err())
	}
}

// TestStaleReplicaRefusesEveryRead: where Get returns ErrSyncing, TTL,
// ExpireTime, Scan and Range see nothing either.
func TestStaleReplicaRefusesEveryRead(t *testing.T) {
	s := newStore(t, Config{RefuseStaleReads: true})
	must(t, s.SetTTL("k", []byte("v"), time.Hour))
	setRole(s, RoleReplica)
	s.rep.state.Store(int32(LinkDown))
	if _, err := s.Get("k"); !errors.Is(err, ErrSyncing) {
		t.Fatalf("Get = %v, want ErrSyncing", err)
	}
	if _, ok := s.TTL("k"); ok {
		t.Error("TTL answered on a stale replica")
	}
	if _, ok := s.ExpireTime("k"); ok {
		t.Error("ExpireTime answered on a stale replica")
	}
	if keys, next, err := s.Scan(5, 10); len(keys) != 0 || next != 5 || !errors.Is(err, ErrSyncing) {
		t.Errorf("Scan = %q, %d, %v on a stale replica; want none, the same cursor, ErrSyncing", keys, next, err)
	}
	if err := s.Range(func(string, []byte, time.Time) bool { t.Error("Range called fn on a stale replica"); return false }); !errors.Is(err, ErrSyncing) {
		t.Errorf("Range = %v on a stale replica", err)
	}
	s.rep.state.Store(int32(LinkUp))
	if _, ok := s.TTL("k"); !ok {
		t.Error("TTL refused with the link up")
	}
}
