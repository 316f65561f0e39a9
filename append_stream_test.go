package replikv

import (
	"bytes"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestAppendStreamsAppend checks that Append propagates APPEND key suffix
// (not SET with the whole value), that it keeps the deadline, inside a
// transaction too, and that a replica applying the stream ends with the
// primary's keyspace.
func TestAppendStreamsAppend(t *testing.T) {
	clk := newFakeClock()
	p := newStore(t, Config{Now: clk.Now, ActiveExpiryInterval: -1})
	_, start := p.Position()
	rec := record(t, p, start)
	deadline := clk.ms.Load() + 60_000
	if _, err := p.SetWithOptions("t", []byte("ab"), SetOptions{TTL: 60 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if n, err := p.Append("t", []byte("c")); err != nil || n != 3 {
		t.Fatalf("Append(t) = %d, %v; want 3", n, err)
	}
	if n, err := p.Append("new", []byte("xy")); err != nil || n != 2 {
		t.Fatalf("Append(new) = %d, %v; want 2", n, err)
	}
	if err := p.Atomic(func(tx *Tx) error {
		_, err := tx.Append("new", []byte("z"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	_, end := p.Position()
	got := rec.bytesUntil(t, end)
	want := string(cmd("SELECT", "0")) +
		string(cmd("SET", "t", "ab", "PXAT", strconv.FormatInt(deadline, 10))) +
		string(cmd("APPEND", "t", "c")) +
		string(cmd("APPEND", "new", "xy")) +
		string(cmd("APPEND", "new", "z"))
	if string(got) != want {
		t.Fatalf("stream:\n%q\nwant:\n%q", got, want)
	}

	r := newStore(t, Config{Now: clk.Now, ActiveExpiryInterval: -1})
	setRole(r, RoleReplica)
	applyStream(t, r, got)
	wantKeys := map[string]entry{"t": {Value: "abc", Deadline: deadline}, "new": {Value: "xyz"}}
	if d := cmp.Diff(wantKeys, dump(p)); d != "" {
		t.Errorf("primary (-want +got):\n%s", d)
	}
	if d := cmp.Diff(wantKeys, dump(r)); d != "" {
		t.Errorf("replica (-want +got):\n%s", d)
	}
}

// TestAppendStreamSize checks that appending one byte to a 50 MB value
// adds a few dozen bytes to the stream, not the value.
func TestAppendStreamSize(t *testing.T) {
	s := newStore(t, Config{ActiveExpiryInterval: -1})
	if err := s.Set("big", bytes.Repeat([]byte{'v'}, 50<<20)); err != nil {
		t.Fatal(err)
	}
	_, before := s.Position()
	const appends = 4
	for range appends {
		if _, err := s.Append("big", []byte{'x'}); err != nil {
			t.Fatal(err)
		}
	}
	_, after := s.Position()
	per := (after - before) / appends
	t.Logf("1-byte APPEND to a 50 MB value: %d bytes of stream each (%d for %d)", per, after-before, appends)
	if per > 64 {
		t.Errorf("1-byte APPEND to a 50 MB value added %d bytes to the stream, want a few dozen", per)
	}
	if v, _ := s.Get("big"); len(v) != 50<<20+appends || v[len(v)-1] != 'x' {
		t.Errorf("value length %d after %d appends", len(v), appends)
	}
}

// TestAppendWriterStall measures (and logs; it asserts nothing about
// time) how long writes to other keys wait while APPEND grows a 50 MB
// value: the new value is still a copy of the old one, made with the
// stream locked, but the stream itself no longer carries the value.
func TestAppendWriterStall(t *testing.T) {
	if testing.Short() {
		t.Skip("copies 50 MB values")
	}
	s := newStore(t, Config{ActiveExpiryInterval: -1})
	if err := s.Set("big", bytes.Repeat([]byte{'v'}, 50<<20)); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	worst := make(chan time.Duration, 1)
	go func() {
		var w time.Duration
		for i := 0; ; i++ {
			select {
			case <-stop:
				worst <- w
				return
			default:
			}
			start := time.Now()
			if err := s.Set("other"+strconv.Itoa(i%100), []byte("x")); err != nil {
				t.Error(err)
			}
			w = max(w, time.Since(start))
		}
	}()
	start := time.Now()
	const appends = 3
	for range appends {
		if _, err := s.Append("big", []byte{'x'}); err != nil {
			t.Fatal(err)
		}
	}
	took := time.Since(start)
	close(stop)
	t.Logf("%d 1-byte APPENDs to a 50 MB value took %v; the longest SET to another key meanwhile waited %v", appends, took, <-worst)
}

// TestAppendLargeConcurrent checks the path that copies a large value
// before locking the stream: appends racing each other and deadline
// changes on the same key lose nothing, and a replica applying the
// stream ends with the primary's value and deadline.
func TestAppendLargeConcurrent(t *testing.T) {
	clk := newFakeClock()
	p := newStore(t, Config{Now: clk.Now, ActiveExpiryInterval: -1})
	_, start := p.Position()
	rec := record(t, p, start)
	base := bytes.Repeat([]byte{'v'}, appendCopyFirst)
	if err := p.Set("big", base); err != nil {
		t.Fatal(err)
	}
	const writers, each = 4, 25
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				if _, err := p.Append("big", []byte{byte('a' + w)}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Add(1)
	go func() { // deadlines change in place meanwhile
		defer wg.Done()
		for i := range 50 {
			if i%2 == 0 {
				p.ExpireAt("big", time.UnixMilli(clk.ms.Load()+int64(60_000+i)))
			} else {
				p.Persist("big")
			}
		}
	}()
	wg.Wait()
	v, err := p.Get("big")
	if err != nil || len(v) != len(base)+writers*each {
		t.Fatalf("value length %d, %v; want %d", len(v), err, len(base)+writers*each)
	}
	_, end := p.Position()
	r := newStore(t, Config{Now: clk.Now, ActiveExpiryInterval: -1})
	setRole(r, RoleReplica)
	applyStream(t, r, rec.bytesUntil(t, end))
	if d := cmp.Diff(dump(p), dump(r)); d != "" {
		t.Errorf("replica differs from primary (-primary +replica):\n%.2000s", d)
	}
}
