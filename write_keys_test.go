package replikv

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/replikv/replikv/rdb"
)

// TestKeyCommandsStream: Rename, RenameNX, Copy and Restore change the
// store as Redis does, stream what Redis propagates, and a replica
// applying that stream ends with the same keyspace.
func TestKeyCommandsStream(t *testing.T) {
	clk := newFakeClock()
	s := newStore(t, Config{Now: clk.Now})
	rec := record(t, s, 0)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.SetTTL("a", []byte("1"), time.Minute))
	must(s.Set("b", []byte("2")))
	must(s.Rename("a", "c"))
	if err := s.Rename("a", "c"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Rename of a missing key: %v", err)
	}
	must(s.Rename("c", "c")) // nothing happens, nothing is streamed
	if ok, err := s.RenameNX("c", "b"); ok || err != nil {
		t.Fatalf("RenameNX over an existing key: %v %v", ok, err)
	}
	if ok, err := s.RenameNX("b", "d"); !ok || err != nil {
		t.Fatalf("RenameNX: %v %v", ok, err)
	}
	if ok, err := s.Copy("c", "e", false); !ok || err != nil {
		t.Fatalf("Copy: %v %v", ok, err)
	}
	if ok, _ := s.Copy("d", "e", false); ok {
		t.Fatal("Copy over an existing key without replace")
	}
	if ok, _ := s.Copy("d", "e", true); !ok {
		t.Fatal("Copy with replace")
	}
	if _, err := s.Copy("d", "d", true); !errors.Is(err, ErrSameKey) {
		t.Fatalf("Copy onto itself: %v", err)
	}
	p, err := s.Dump("c")
	must(err)
	if err := s.Restore("d", p, RestoreOptions{}); !errors.Is(err, ErrBusyKey) {
		t.Fatalf("Restore over a key: %v", err)
	}
	must(s.Restore("d", p, RestoreOptions{Replace: true, TTL: time.Hour}))
	must(s.Restore("f", p, RestoreOptions{ExpireAt: time.UnixMilli(5000)})) // past: nothing
	if err := s.Restore("g", p[:len(p)-1], RestoreOptions{}); !errors.Is(err, ErrDumpPayload) {
		t.Fatalf("Restore of a cut payload: %v", err)
	}
	if err := s.Restore("g", rdb.SealDump([]byte("\x04\x01\x01f\x01v"), 10), RestoreOptions{}); !errors.Is(err, ErrNotString) {
		t.Fatalf("Restore of a hash: %v", err)
	}
	if err := s.Restore("g", rdb.SealDump([]byte("\x00\xc3\x05\x09abcde"), 10), RestoreOptions{}); !errors.Is(err, ErrBadDataFormat) {
		t.Fatalf("Restore of bad LZF: %v", err)
	}
	now := clk.Now().UnixMilli()
	want := map[string]entry{
		"c": {Value: "1", Deadline: now + 60000},
		"d": {Value: "1", Deadline: now + 3600000},
		"e": {Value: "2"},
	}
	if d := cmp.Diff(want, dump(s)); d != "" {
		t.Fatalf("keyspace (-want +got):\n%s", d)
	}
	_, end := s.Position()
	b := rec.bytesUntil(t, end)
	got := commands(t, b)
	wantCmds := [][]string{
		{"SELECT", "0"},
		{"SET", "a", "1", "PXAT", itoa(now + 60000)},
		{"SET", "b", "2"},
		{"RENAME", "a", "c"},
		{"RENAMENX", "b", "d"},
		{"COPY", "c", "e"},
		{"COPY", "d", "e", "REPLACE"},
		{"RESTORE", "d", itoa(now + 3600000), string(p), "REPLACE", "ABSTTL"},
	}
	if d := cmp.Diff(wantCmds, got); d != "" {
		t.Fatalf("stream (-want +got):\n%s", d)
	}
	r := newStore(t, Config{Now: clk.Now})
	setRole(r, RoleReplica)
	applyStream(t, r, b)
	if d := cmp.Diff(dump(s), dump(r)); d != "" {
		t.Fatalf("replica differs (-primary +replica):\n%s", d)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestKeyReads: RandomKey, Touch, Dump and ObjectEncoding.
func TestKeyReads(t *testing.T) {
	clk := newFakeClock()
	s := newStore(t, Config{Now: clk.Now, Shards: 4})
	if _, err := s.RandomKey(); !errors.Is(err, ErrNotFound) {
		t.Fatalf("RandomKey of an empty store: %v", err)
	}
	s.Set("a", []byte("12"))
	s.SetTTL("gone", []byte("x"), time.Second)
	clk.Advance(2 * time.Second)
	for range 20 {
		if k, err := s.RandomKey(); k != "a" || err != nil {
			t.Fatalf("RandomKey = %q, %v", k, err)
		}
	}
	if n := s.Touch("a", "gone", "a", "none"); n != 2 {
		t.Fatalf("Touch = %d", n)
	}
	if _, err := s.Dump("none"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Dump of a missing key: %v", err)
	}
	for v, enc := range map[string]string{"12": "int", "012": "embstr", "-0": "embstr", "": "embstr",
		"9223372036854775808": "embstr", string(make([]byte, 44)): "embstr", string(make([]byte, 45)): "raw"} {
		s.Set("e", []byte(v))
		if got, _ := s.ObjectEncoding("e"); got != enc {
			t.Errorf("ObjectEncoding of %q = %s, want %s", v, got, enc)
		}
	}
	err := s.Atomic(func(tx *Tx) error {
		if k, err := tx.RandomKey(); err != nil || (k != "a" && k != "e") {
			t.Errorf("Tx.RandomKey = %q, %v", k, err)
		}
		if err := tx.Rename("a", "b"); err != nil {
			return err
		}
		if ok, err := tx.Copy("b", "c", false); !ok || err != nil {
			t.Errorf("Tx.Copy = %v, %v", ok, err)
		}
		p, err := tx.Dump("b")
		if err != nil {
			return err
		}
		if err := tx.Restore("d", p, RestoreOptions{}); err != nil {
			return err
		}
		if enc, _ := tx.ObjectEncoding("d"); enc != "int" {
			t.Errorf("Tx.ObjectEncoding = %s", enc)
		}
		if n := tx.Touch("b", "c", "d", "a"); n != 3 {
			t.Errorf("Tx.Touch = %d", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestKeyCommandsReadOnly: a read-only replica refuses the writes.
func TestKeyCommandsReadOnly(t *testing.T) {
	s := newStore(t, Config{})
	s.Set("a", []byte("1"))
	p, _ := s.Dump("a")
	setRole(s, RoleReplica)
	if err := s.Rename("a", "b"); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("Rename: %v", err)
	}
	if _, err := s.Copy("a", "b", false); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("Copy: %v", err)
	}
	if err := s.Restore("b", p, RestoreOptions{}); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("Restore: %v", err)
	}
}
