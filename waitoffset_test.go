package replikv

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// TestHistoryHas is the table of the WaitOffset decision.
func TestHistoryHas(t *testing.T) {
	const a, b, c, d = "a", "b", "c", "d"
	for _, tc := range []struct {
		replid, replid2 string
		off2, end       int64
		p               Pos
		applied, never  bool
		older           []pastID
	}{
		{a, "", -1, 100, Pos{a, 100}, true, false, nil},
		{a, "", -1, 100, Pos{a, 101}, false, false, nil},
		{b, a, 51, 100, Pos{a, 50}, true, false, nil},  // continued from a at 50
		{b, a, 51, 100, Pos{a, 51}, false, true, nil},  // a went on past where b left it
		{b, a, 51, 100, Pos{c, 10}, false, false, nil}, // unknown: maybe later
		{b, a, 51, 100, Pos{b, 100}, true, false, nil},
		// c continued b at 81, which continued a at 51.
		{c, b, 81, 100, Pos{a, 50}, true, false, []pastID{{a, 51}}},
		{c, b, 81, 100, Pos{a, 51}, false, true, []pastID{{a, 51}}},
		{c, b, 81, 100, Pos{b, 80}, true, false, []pastID{{a, 51}}},
		{c, b, 81, 100, Pos{d, 10}, false, false, []pastID{{a, 51}}},
	} {
		h := history{ReplID: tc.replid, ReplID2: tc.replid2, Off2: tc.off2, Older: tc.older, End: tc.end}
		applied, never := historyHas(h, tc.p)
		if applied != tc.applied || never != tc.never {
			t.Errorf("historyHas(%+v) = %v, %v", tc, applied, never)
		}
	}
}

// TestReadYourWrites: a write's Pos, waited for on a replica, makes the
// write readable there; WaitOffset returns only once the replica's
// offset has reached it, and honours ctx; after a failover the old
// history's positions are still waited for (and one the new primary
// never had is refused).
func TestReadYourWrites(t *testing.T) {
	c := newFOCluster(t, 0, 0)
	r := c.reps[1001]
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range 300 {
		k, v := fmt.Sprintf("k%d", i), fmt.Sprintf("v%d", i)
		_, pos, err := c.p.SetPos(k, []byte(v), SetOptions{})
		must(t, err)
		if i%50 != 0 {
			continue
		}
		must(t, r.WaitOffset(ctx, pos.ReplID, pos.Offset))
		if _, off := r.Position(); off < pos.Offset {
			t.Fatalf("WaitOffset returned at offset %d, before %d", off, pos.Offset)
		}
		if got, err := r.Get(k); err != nil || string(got) != v {
			t.Fatalf("read own write %s on the replica: %q, %v", k, got, err)
		}
	}

	// Not yet written: ctx ends it, by deadline or by cancel.
	id, end := c.p.Position()
	short, cancelShort := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancelShort()
	if err := r.WaitOffset(short, id, end+1000); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitOffset past the end: %v, want DeadlineExceeded", err)
	}
	cctx, cancelNow := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.WaitOffset(cctx, id, end+1000) }()
	cancelNow()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("WaitOffset cancelled: %v", err)
	}
	// Unblocked by the write that reaches the offset.
	go func() { done <- r.WaitOffset(ctx, id, end+1) }()
	_, pos, err := c.p.SetPos("next", []byte("1"), SetOptions{})
	must(t, err)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, off := r.Position(); off < end+1 {
		t.Fatalf("unblocked at %d, before %d", off, end+1)
	}

	// The old history's position, on the new primary and its replica.
	must(t, c.p.Failover(ctx, FailoverOptions{Port: 1001, Dial: c.dial, Timeout: 5 * time.Second}))
	must(t, r.WaitOffset(ctx, pos.ReplID, pos.Offset))
	_, rend := r.Position()
	if err := r.WaitOffset(ctx, pos.ReplID, rend+10); !errors.Is(err, ErrHistoryDiverged) {
		t.Fatalf("a position past where the new primary took over: %v, want ErrHistoryDiverged", err)
	}
	_, npos, err := r.SetPos("on-new", []byte("1"), SetOptions{})
	must(t, err)
	must(t, c.reps[1002].WaitOffset(ctx, npos.ReplID, npos.Offset)) // through the old primary
	if got, _ := c.reps[1002].Get("on-new"); string(got) != "1" {
		t.Fatalf("sibling read %q", got)
	}
}

// TestWaitPerCaller: Wait counts the replicas that acknowledged the
// caller's own write, not the end of the stream: with the replica's ACKs
// stalled after write A, a wait for A returns at once while a wait for
// the later B runs into its deadline.
func TestWaitPerCaller(t *testing.T) {
	c := newFOCluster(t, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, a, err := c.p.SetPos("a", []byte("1"), SetOptions{})
	must(t, err)
	if n, err := c.p.Wait(ctx, 1, a); n != 1 || err != nil {
		t.Fatalf("Wait(A) = %d, %v", n, err)
	}
	c.stall(1001)
	b, err := c.p.AtomicKeysPos([]string{"b"}, func(tx *Tx) error {
		_, err := tx.IncrBy("b", 1)
		return err
	})
	must(t, err)
	if b.Offset <= a.Offset || b.ReplID != a.ReplID {
		t.Fatalf("positions A %v, B %v", a, b)
	}
	if n, err := c.p.Wait(ctx, 1, a); n != 1 || err != nil {
		t.Fatalf("Wait(A) after B = %d, %v", n, err)
	}
	short, cancelShort := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancelShort()
	if n, err := c.p.Wait(short, 1, b); n != 0 || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait(B) with ACKs stalled = %d, %v", n, err)
	}
	c.resume(1001)
	if n, err := c.p.Wait(ctx, 1, b); n != 1 || err != nil {
		t.Fatalf("Wait(B) after resume = %d, %v", n, err)
	}
	if _, err := c.p.Wait(ctx, 1, Pos{ReplID: "x", Offset: 1}); !errors.Is(err, ErrHistoryDiverged) {
		t.Fatalf("Wait for another history: %v", err)
	}
}
