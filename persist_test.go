package replikv

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/replikv/replikv/rdb"
)

// persistConfig is fastConfig with a snapshot directory.
func persistConfig(dir string) Config {
	c := fastConfig()
	c.Dir = dir
	return c
}

func fillPersist(t *testing.T, s *Store, prefix string, n int) {
	t.Helper()
	for i := range n {
		must(t, s.Set(prefix+string(rune('a'+i%26))+strings.Repeat("x", i%7)+string(rune('0'+i%10)), []byte(strings.Repeat("v", i%50))))
	}
	must(t, s.SetTTL(prefix+"ttl", []byte("t"), time.Hour))
}

// TestSaveToLoadRoundTrip: what SaveTo writes, with its aux fields and
// checksum, loads back into the same keyspace and position.
func TestSaveToLoadRoundTrip(t *testing.T) {
	s := newStore(t, Config{})
	fillPersist(t, s, "k", 300)
	var buf bytes.Buffer
	n, err := s.SaveTo(context.Background(), &buf)
	must(t, err)
	if n != int64(buf.Len()) {
		t.Fatalf("SaveTo returned %d, wrote %d", n, buf.Len())
	}
	rd, err := rdb.NewReader(bytes.NewReader(buf.Bytes()), rdb.ReaderOptions{})
	must(t, err)
	for {
		if _, err := rd.Next(); err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatal(err)
			}
			break
		}
	}
	id, off := s.Position()
	aux := rd.Aux()
	for _, k := range []string{"redis-ver", "redis-bits", "ctime", "used-mem", "repl-stream-db", "aof-base"} {
		if _, ok := aux[k]; !ok {
			t.Errorf("aux %q missing: %v", k, aux)
		}
	}
	if aux["repl-id"] != id || aux["repl-offset"] != strconv.FormatInt(off, 10) {
		t.Errorf("aux repl-id/offset %q/%q, want %s/%d", aux["repl-id"], aux["repl-offset"], id, off)
	}
	// The checksum is verified: one flipped byte in the body is refused.
	bad := bytes.Clone(buf.Bytes())
	bad[len(bad)/2] ^= 0x01
	s2 := newStore(t, Config{})
	if _, err := s2.LoadSnapshot(context.Background(), bytes.NewReader(bad), LoadOptions{}); err == nil {
		t.Fatal("a corrupted snapshot loaded")
	}
	_, err = s2.LoadSnapshot(context.Background(), bytes.NewReader(buf.Bytes()), LoadOptions{})
	must(t, err)
	if d := cmp.Diff(dump(s), dump(s2)); d != "" {
		t.Fatalf("round trip differs:\n%s", d)
	}
}

// TestSaveAndLoadAtStart: Save writes Dir/DBFilename atomically, and New
// with the same Dir loads it: keys, deadlines, and the history as
// replid2 up to the saved offset.
func TestSaveAndLoadAtStart(t *testing.T) {
	dir := t.TempDir()
	s, err := New(persistConfig(dir))
	must(t, err)
	fillPersist(t, s, "k", 500)
	must(t, s.Save(context.Background(), ""))
	want := dump(s)
	id, off := s.Position()
	if pi := s.PersistenceInfo(); pi.ChangesSinceLastSave != 0 || pi.Saves != 1 {
		t.Errorf("after Save: %+v", pi)
	}
	must(t, s.Set("after", []byte("x")))
	if pi := s.PersistenceInfo(); pi.ChangesSinceLastSave != 1 {
		t.Errorf("after one write: %+v", pi)
	}
	must(t, s.Close())
	assertNoTemp(t, dir)

	s2, err := New(persistConfig(dir))
	must(t, err)
	defer s2.Close()
	if d := cmp.Diff(want, dump(s2)); d != "" {
		t.Fatalf("loaded keyspace differs:\n%s", d)
	}
	in := s2.Info()
	if in.ReplID2 != id || in.SecondOffset != off+1 || in.Offset != off || in.ReplID == id {
		t.Fatalf("restarted position: replid %s replid2 %s second %d offset %d; saved %s at %d",
			in.ReplID, in.ReplID2, in.SecondOffset, in.Offset, id, off)
	}
	if pi := s2.PersistenceInfo(); pi.LoadedKeys != len(want) || pi.FullSyncGuard {
		t.Errorf("PersistenceInfo after load: %+v", pi)
	}
}

func assertNoTemp(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	must(t, err)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "temp-") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
}

// TestSaveFailureKeepsPreviousFile: a save that fails midway (its context
// cancelled while writing) leaves the previous file as it was.
func TestSaveFailureKeepsPreviousFile(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, persistConfig(dir))
	fillPersist(t, s, "a", 100)
	must(t, s.Save(context.Background(), ""))
	path := filepath.Join(dir, DefaultDBFilename)
	before, err := os.ReadFile(path)
	must(t, err)
	for i := range 20000 {
		must(t, s.Set("big"+strconv.Itoa(i), bytes.Repeat([]byte{byte(i)}, 100)))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Save(ctx, ""); err == nil {
		t.Fatal("Save with a cancelled context succeeded")
	}
	// A directory that cannot take the file: rename fails.
	bad := filepath.Join(dir, "sub")
	must(t, os.Mkdir(bad, 0o755))
	must(t, os.Mkdir(filepath.Join(bad, "dump.rdb"), 0o755))
	if err := s.Save(context.Background(), filepath.Join(bad, "dump.rdb")); err == nil || !strings.Contains(err.Error(), "rename") {
		t.Fatalf("Save over a directory: %v", err)
	}
	after, err := os.ReadFile(path)
	must(t, err)
	if !bytes.Equal(before, after) {
		t.Fatal("a failed save changed the previous file")
	}
	assertNoTemp(t, dir)
	assertNoTemp(t, bad)
}

// TestCorruptSnapshotRefused: New refuses a truncated or corrupted file
// with ErrCorruptSnapshot naming it, and leaves it untouched.
func TestCorruptSnapshotRefused(t *testing.T) {
	src := t.TempDir()
	s := newStore(t, persistConfig(src))
	fillPersist(t, s, "c", 200)
	must(t, s.Save(context.Background(), ""))
	good, err := os.ReadFile(filepath.Join(src, DefaultDBFilename))
	must(t, err)
	cases := map[string][]byte{
		"truncated":      good[:len(good)-3],
		"half":           good[:len(good)/2],
		"header only":    good[:9],
		"bad checksum":   append(bytes.Clone(good[:len(good)-1]), good[len(good)-1]^0xff),
		"flipped body":   func() []byte { b := bytes.Clone(good); b[len(b)/2] ^= 0x40; return b }(),
		"not an RDB":     []byte("hello world\n"),
		"empty":          {},
		"huge length":    append(bytes.Clone(good[:9]), 0xfa, 0x80, 0x7f, 0xff, 0xff, 0xff),
		"trailing bytes": append(bytes.Clone(good), 'x'),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, DefaultDBFilename)
			must(t, os.WriteFile(path, data, 0o644))
			s, err := New(persistConfig(dir))
			if err == nil {
				s.Close()
				if name == "trailing bytes" {
					return // Redis also ignores what follows the checksum
				}
				t.Fatal("New loaded a bad file")
			}
			if !errors.Is(err, ErrCorruptSnapshot) || !strings.Contains(err.Error(), path) {
				t.Fatalf("error %v: want ErrCorruptSnapshot naming %s", err, path)
			}
			after, rerr := os.ReadFile(path)
			must(t, rerr)
			if !bytes.Equal(after, data) {
				t.Fatal("the refused file was changed")
			}
			assertNoTemp(t, dir)
		})
	}
}

func TestSaveDue(t *testing.T) {
	t0 := time.Unix(1000, 0)
	pts := []SavePoint{{After: time.Hour, Changes: 1}, {After: 5 * time.Minute, Changes: 100}, {After: time.Minute, Changes: 10000}}
	for _, c := range []struct {
		name string
		in   saveState
		want bool
	}{
		{"no changes", saveState{Now: t0.Add(2 * time.Hour), LastSave: t0}, false},
		{"one change, an hour", saveState{Now: t0.Add(time.Hour), LastSave: t0, Changes: 1}, true},
		{"one change, 59 minutes", saveState{Now: t0.Add(59 * time.Minute), LastSave: t0, Changes: 1}, false},
		{"100 changes, 5 minutes", saveState{Now: t0.Add(5 * time.Minute), LastSave: t0, Changes: 100}, true},
		{"99 changes, 10 minutes", saveState{Now: t0.Add(10 * time.Minute), LastSave: t0, Changes: 99}, false},
		{"10000 changes, a minute", saveState{Now: t0.Add(time.Minute), LastSave: t0, Changes: 10000}, true},
		{"10000 changes, 59 s", saveState{Now: t0.Add(59 * time.Second), LastSave: t0, Changes: 10000}, false},
		{"saving", saveState{Now: t0.Add(2 * time.Hour), LastSave: t0, Changes: 5, Saving: true}, false},
		{"failed 1 s ago", saveState{Now: t0.Add(2 * time.Hour), LastSave: t0, LastTry: t0.Add(2*time.Hour - time.Second), LastFailed: true, Changes: 5}, false},
		{"failed 5 s ago", saveState{Now: t0.Add(2 * time.Hour), LastSave: t0, LastTry: t0.Add(2*time.Hour - 5*time.Second), LastFailed: true, Changes: 5}, true},
	} {
		if got := saveDue(pts, c.in); got != c.want {
			t.Errorf("%s: saveDue = %v, want %v", c.name, got, c.want)
		}
	}
	if saveDue(nil, saveState{Now: t0.Add(time.Hour), LastSave: t0, Changes: 1e9}) {
		t.Error("no save points: due")
	}
}

// TestSavePointsAndSaveOnClose: the save loop saves once a save point is
// reached, and Close saves the last writes; no goroutine is left.
func TestSavePointsAndSaveOnClose(t *testing.T) {
	dir := t.TempDir()
	cfg := persistConfig(dir)
	cfg.SavePoints = []SavePoint{{After: 10 * time.Millisecond, Changes: 3}}
	cfg.SaveOnClose = true
	s, err := New(cfg)
	must(t, err)
	must(t, s.Set("a", []byte("1")))
	must(t, s.Set("b", []byte("2")))
	time.Sleep(50 * time.Millisecond) // two changes: no save point reached (a negative check)
	if pi := s.PersistenceInfo(); pi.Saves != 0 {
		t.Fatalf("saved below the save point: %+v", pi)
	}
	must(t, s.Set("c", []byte("3")))
	deadline := time.Now().Add(10 * time.Second)
	for s.PersistenceInfo().Saves == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no save after 3 changes: %+v", s.PersistenceInfo())
		}
		time.Sleep(5 * time.Millisecond)
	}
	must(t, s.Set("d", []byte("4")))
	want := dump(s)
	must(t, s.Close())
	s2, err := New(persistConfig(dir))
	must(t, err)
	defer s2.Close()
	if d := cmp.Diff(want, dump(s2)); d != "" {
		t.Fatalf("after save on close:\n%s", d)
	}
}

// TestBackgroundSave: BackgroundSave returns at once, refuses a second
// one while the first runs, and Close waits for it.
func TestBackgroundSave(t *testing.T) {
	dir := t.TempDir()
	s, err := New(persistConfig(dir))
	must(t, err)
	fillPersist(t, s, "b", 1000)
	must(t, s.BackgroundSave())
	for {
		pi := s.PersistenceInfo()
		if !pi.BgSaveInProgress {
			if pi.Saves != 1 || !pi.LastBgSaveOK {
				t.Fatalf("after BackgroundSave: %+v", pi)
			}
			break
		}
		if err := s.BackgroundSave(); !errors.Is(err, ErrSaveInProgress) && err != nil {
			t.Fatalf("second BackgroundSave: %v", err)
		}
		time.Sleep(time.Millisecond)
	}
	must(t, s.BackgroundSave())
	must(t, s.Close()) // waits for it
	if err := s.BackgroundSave(); !errors.Is(err, ErrClosed) {
		t.Fatalf("BackgroundSave after Close: %v", err)
	}
	_, err = os.Stat(filepath.Join(dir, DefaultDBFilename))
	must(t, err)
	assertNoTemp(t, dir)
}

// TestEmptyStartGuard: a primary whose file is missing refuses the full
// resync of a replica of another history until AllowFullSync, and serves
// a fresh replica at once.
func TestFullSyncGuard(t *testing.T) {
	for _, c := range []struct {
		guard, legacy   bool
		replid, current string
		refused         bool
	}{
		{false, false, "x", "y", false},
		{true, false, "?", "y", false},
		{true, false, "y", "y", false},
		{true, false, "x", "y", true},
		{true, true, "?", "y", true},
	} {
		if got := fullSyncGuard(c.guard, c.legacy, c.replid, c.current) != ""; got != c.refused {
			t.Errorf("%+v: refused = %v", c, got)
		}
	}
}
