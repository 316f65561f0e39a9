package replikv

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/replikv/replikv/transport"
)

// serveOn starts s serving on name; the returned func closes s and waits.
func serveOn(t *testing.T, mn memNet, name string, s *Store) func() {
	t.Helper()
	var l net.Listener
	deadline := time.Now().Add(10 * time.Second)
	for { // the previous listener of name may still be closing
		var err error
		if l, err = mn.n.Listen(name); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("listen %s: %v", name, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	done := make(chan struct{})
	go func() { defer close(done); s.Serve(l) }()
	return func() { s.Close(); <-done }
}

// TestReplicaRestartContinues: a replica restarted from its own snapshot
// asks to continue its primary's history and gets a partial resync: +1
// partial and +0 full on the primary's counters.
func TestReplicaRestartContinues(t *testing.T) {
	mn := memNet{transport.NewMemNetwork()}
	p := node(t, mn, "p", fastConfig())
	for i := range 200 {
		must(t, p.Set("k"+strconv.Itoa(i), []byte(strings.Repeat("v", i))))
	}
	dir := t.TempDir()
	r, err := New(persistConfig(dir))
	must(t, err)
	must(t, r.ReplicaOf(mn.dialer("p")))
	waitSynced(t, r)
	waitConverged(t, p, r)
	must(t, r.Save(context.Background(), ""))
	must(t, r.Close())

	for i := range 100 { // written while the replica is down
		must(t, p.Set("later"+strconv.Itoa(i), []byte("x")))
	}
	_, err = p.Delete("k7")
	must(t, err)
	before := p.Info()
	r2, err := New(persistConfig(dir))
	must(t, err)
	defer r2.Close()
	must(t, r2.ReplicaOf(mn.dialer("p")))
	waitSynced(t, r2)
	waitConverged(t, p, r2)
	after := p.Info()
	if full, part := after.SyncFull-before.SyncFull, after.SyncPartialOK-before.SyncPartialOK; full != 0 || part != 1 {
		t.Fatalf("restart of the replica cost %d full and %d partial resyncs, want 0 and 1", full, part)
	}
	if id, _ := r2.Position(); id != after.ReplID {
		t.Fatalf("replica's history %s, primary's %s", id, after.ReplID)
	}
}

// TestPrimaryRestartContinues: a primary restarted from its snapshot
// (saved on Close) keeps its history as replid2, and its replica goes on
// with +CONTINUE under the new ID, without a full resync; the restarted
// primary's new writes reach it.
func TestPrimaryRestartContinues(t *testing.T) {
	t.Run("SaveOnClose", func(t *testing.T) { testPrimaryRestart(t, false) })
	t.Run("ShutdownSave", func(t *testing.T) { testPrimaryRestart(t, true) })
}

func testPrimaryRestart(t *testing.T, shutdownSave bool) {
	mn := memNet{transport.NewMemNetwork()}
	dir := t.TempDir()
	cfg := persistConfig(dir)
	cfg.SaveOnClose = true
	p, err := New(cfg)
	must(t, err)
	stop := serveOn(t, mn, "p", p)
	r := node(t, mn, "r", fastConfig())
	must(t, r.ReplicaOf(mn.dialer("p")))
	for i := range 300 {
		must(t, p.SetTTL("k"+strconv.Itoa(i), []byte(strings.Repeat("v", i)), time.Hour))
	}
	waitSynced(t, r)
	waitConverged(t, p, r)
	oldID, _ := p.Position()
	if shutdownSave {
		must(t, p.ShutdownSave(context.Background()))
	}
	stop() // saves on close, after the replica acknowledged everything

	p2, err := New(persistConfig(dir))
	must(t, err)
	stop2 := serveOn(t, mn, "p", p2)
	defer stop2()
	must(t, p2.Set("after-restart", []byte("1")))
	waitConverged(t, p2, r)
	in := p2.Info()
	if in.ReplID2 != oldID {
		t.Fatalf("restarted primary's replid2 %s, want the old id %s", in.ReplID2, oldID)
	}
	if in.SyncFull != 0 || in.SyncPartialOK != 1 {
		t.Fatalf("restarted primary served %d full and %d partial resyncs, want 0 and 1", in.SyncFull, in.SyncPartialOK)
	}
	if m := r.Info().Master; m.FullSyncs != 1 {
		t.Fatalf("replica loaded %d full resyncs, want only its first", m.FullSyncs)
	}
	if id, _ := r.Position(); id != in.ReplID {
		t.Fatalf("replica's history %s, want the restarted primary's %s", id, in.ReplID)
	}
}

// TestEmptyRestartedPrimaryGuard: a primary restarted without its file
// refuses to wipe its replica (which keeps its data, retrying) until
// AllowFullSync; a fresh replica is served at once.
func TestEmptyRestartedPrimaryGuard(t *testing.T) {
	mn := memNet{transport.NewMemNetwork()}
	p, err := New(fastConfig())
	must(t, err)
	stop := serveOn(t, mn, "p", p)
	r := node(t, mn, "r", fastConfig())
	must(t, r.ReplicaOf(mn.dialer("p")))
	must(t, p.Set("precious", []byte("data")))
	waitSynced(t, r)
	waitConverged(t, p, r)
	stop()

	p2, err := New(persistConfig(t.TempDir())) // no file: the data is lost
	must(t, err)
	if !p2.PersistenceInfo().FullSyncGuard {
		t.Fatal("guard not armed")
	}
	stop2 := serveOn(t, mn, "p", p2)
	defer stop2()
	fresh := node(t, mn, "fresh", fastConfig())
	must(t, fresh.ReplicaOf(mn.dialer("p")))
	waitSynced(t, fresh) // PSYNC ? -1: nothing to lose, served

	// The old replica is refused, again and again, and keeps its data.
	deadline := time.Now().Add(10 * time.Second)
	for p2.Info().SyncPartialErr < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the old replica did not try: %+v", p2.Info())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if v, err := r.Get("precious"); err != nil || string(v) != "data" {
		t.Fatalf("replica lost its data under the guard: %q %v", v, err)
	}
	if p2.Info().SyncFull != 1 {
		t.Fatalf("full resyncs served: %d, want 1 (the fresh replica)", p2.Info().SyncFull)
	}
	p2.AllowFullSync()
	waitConverged(t, p2, r)
	if _, err := r.Get("precious"); err == nil {
		t.Fatal("after AllowFullSync the replica still holds the old data")
	}
}
