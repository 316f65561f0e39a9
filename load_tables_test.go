package replikv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/replikv/replikv/rdb"
)

// rdbOf encodes entries (key, value, deadline) into an RDB of database 0,
// announcing hint keys in RESIZEDB.
func rdbOf(t *testing.T, hint uint64, entries ...entryIn) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := rdb.NewWriter(&buf, rdb.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.SelectDB(0, hint, 0); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if err := w.WriteString(e.key, []byte(e.value), e.deadline); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type entryIn struct {
	key, value string
	deadline   int64
}

// TestLoadOrderAndDuplicates: items are placed by another goroutine in
// batches; across batch boundaries a duplicated key keeps its last value
// (as Redis's loader would overwrite it), the count is of distinct keys,
// and a lying RESIZEDB hint changes nothing.
func TestLoadOrderAndDuplicates(t *testing.T) {
	const n = 3*loadBatchLen + 17
	var in []entryIn
	want := map[string]string{}
	future := time.Now().Add(time.Hour).UnixMilli()
	for i := range n {
		k := fmt.Sprint("k", i%(n/3)) // every key three times, in different batches
		v := fmt.Sprint("v", i)
		var d int64
		if i%5 == 0 {
			d = future
		}
		in = append(in, entryIn{k, v, d})
		want[k] = v
	}
	for _, hint := range []uint64{0, n / 3, 1 << 40} {
		s := newStore(t, Config{ActiveExpiryInterval: -1})
		stats, err := s.LoadSnapshot(context.Background(), bytes.NewReader(rdbOf(t, hint, in...)), LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if stats.Keys != len(want) || s.Len() != len(want) {
			t.Fatalf("hint %d: %d keys counted, %d in the store, want %d", hint, stats.Keys, s.Len(), len(want))
		}
		got := map[string]string{}
		for k := range want {
			v, err := s.Get(k)
			if err != nil {
				t.Fatalf("hint %d: Get(%s): %v", hint, k, err)
			}
			got[k] = string(v)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("hint %d: loaded keyspace (-want +got):\n%s", hint, d)
		}
	}
}

// TestLoadFailureLeavesNoGoroutine: a load that fails (truncated input,
// cancelled ctx) stops its table loader, and the store keeps its data.
func TestLoadFailureLeavesNoGoroutine(t *testing.T) {
	var in []entryIn
	for i := range 5 * loadBatchLen {
		in = append(in, entryIn{fmt.Sprint("k", i), "v", 0})
	}
	full := rdbOf(t, 0, in...)
	s := newStore(t, Config{ActiveExpiryInterval: -1})
	must(t, s.Set("keep", []byte("me")))
	before := runtime.NumGoroutine()
	for range 20 {
		_, err := s.LoadSnapshot(context.Background(), bytes.NewReader(full[:len(full)*2/3]), LoadOptions{})
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("truncated load: %v", err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := s.LoadSnapshot(ctx, bytes.NewReader(full), LoadOptions{}); !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled load: %v", err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines after the failed loads, %d before", runtime.NumGoroutine(), before)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if v, err := s.Get("keep"); err != nil || string(v) != "me" || s.Len() != 1 {
		t.Fatalf("after failed loads: keep=%q, %v, %d keys", v, err, s.Len())
	}
}
