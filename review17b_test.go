package replikv

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/replikv/replikv/transport"
)

// TestReview17PrimaryRestartedTwice: a primary restarted twice from its
// file (SaveOnClose), with writes in between, keeps its replica on partial
// resyncs both times (replid2 chain), with the same keyspace.
func TestReview17PrimaryRestartedTwice(t *testing.T) {
	mn := memNet{transport.NewMemNetwork()}
	dir := t.TempDir()
	cfg := persistConfig(dir)
	cfg.SaveOnClose = true
	p, err := New(cfg)
	must(t, err)
	stop := serveOn(t, mn, "p", p)
	r := node(t, mn, "r", fastConfig())
	must(t, r.ReplicaOf(mn.dialer("p")))
	for i := range 100 {
		must(t, p.Set("k"+strconv.Itoa(i), []byte("v")))
	}
	waitSynced(t, r)
	waitConverged(t, p, r)
	for round := range 2 {
		stop()
		p2, err := New(cfg)
		must(t, err)
		stop = serveOn(t, mn, "p", p2)
		must(t, p2.Set("round"+strconv.Itoa(round), []byte("1")))
		waitConverged(t, p2, r)
		if in := p2.Info(); in.SyncFull != 0 || in.SyncPartialOK != 1 {
			t.Fatalf("restart %d: %d full and %d partial resyncs, want 0 and 1", round+1, in.SyncFull, in.SyncPartialOK)
		}
		p = p2
	}
	if m := r.Info().Master; m.FullSyncs != 1 {
		t.Fatalf("replica loaded %d full resyncs, want 1", m.FullSyncs)
	}
	stop()
}

// TestReview17DirectoryInsteadOfFile: Config.Dir/dump.rdb being a
// directory makes New fail with an error naming it, and a Save there
// fails without touching it.
func TestReview17DirectoryInsteadOfFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, DefaultDBFilename)
	must(t, os.Mkdir(path, 0o755))
	s, err := New(persistConfig(dir))
	if err == nil {
		defer s.Close()
		t.Fatal("New accepted a directory as its snapshot file")
	}
	if !strings.Contains(err.Error(), path) {
		t.Fatalf("error %v does not name %s", err, path)
	}
	if errors.Is(err, ErrCorruptSnapshot) {
		t.Logf("note: a directory is reported as a corrupt snapshot: %v", err)
	}
	if fi, err := os.Stat(path); err != nil || !fi.IsDir() {
		t.Fatal("the directory was replaced")
	}
	_ = context.Background
}
