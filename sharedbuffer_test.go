package replikv

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/replikv/replikv/backlog"
)

// TestFrozenSubscribersShareTheStream: three subscribers that never read
// hold the stream once between them, not three times, until the hard
// limit drops them all; then the memory is free again.
func TestFrozenSubscribersShareTheStream(t *testing.T) {
	s := newStore(t, Config{ActiveExpiryInterval: -1, BacklogSize: 1 << 20})
	const hard = 24 << 20
	var subs []*Subscription
	for range 3 {
		_, end := s.BacklogRange()
		sub, err := s.Subscribe(end, SubscribeLimits{Hard: hard, Soft: hard, SoftFor: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		subs = append(subs, sub)
	}
	heap := func() int64 { return int64(heapInUse()) } // with the mapped blocks
	before := heap()
	val := bytes.Repeat([]byte("v"), 1000)
	const written = 16 << 20
	for i := 0; i < written/len(val); i++ {
		if err := s.Set(benchKey(i%1000), val); err != nil {
			t.Fatal(err)
		}
	}
	grown := heap() - before
	in := s.Info()
	if in.ReplBufferBytes < written || in.ReplBufferBytes > written+written/8 {
		t.Errorf("ReplBufferBytes = %d after %d bytes written for 3 frozen subscribers", in.ReplBufferBytes, written)
	}
	if grown > written*3/2 {
		t.Errorf("heap grew by %d MB for 3 frozen subscribers of %d MB of stream: not shared", grown>>20, written>>20)
	}
	for _, sub := range subs {
		if p := sub.Pending(); p < written {
			t.Errorf("Pending = %d, want at least %d", p, written)
		}
	}
	// Past the hard limit all three are dropped, and the stream's memory
	// goes back to the backlog's.
	for i := 0; i < (hard-written)/len(val)+100; i++ {
		s.Set(benchKey(i%1000), val)
	}
	for _, sub := range subs {
		if err := sub.Err(); !errors.Is(err, ErrSubscriberLagging) {
			t.Fatalf("subscription over the hard limit: Err = %v", err)
		}
	}
	if b := s.Info().ReplBufferBytes; b > 2<<20 {
		t.Errorf("ReplBufferBytes = %d after the subscribers were dropped, want the backlog's 1 MiB", b)
	}
	after := heap() - before
	for deadline := time.Now().Add(10 * time.Second); after > 8<<20 && time.Now().Before(deadline); {
		after = heap() - before // the cleanups of mapped blocks run after a collection, in their own time
	}
	if after > 8<<20 {
		t.Errorf("heap and mapped blocks still %d MB above the start after the subscribers were dropped (%d MB mapped)", after>>20, backlog.MappedInUse()>>20)
	}
}

// TestSubscribersReadExactStreamWithReuse: readers at different speeds
// (one through Next, which copies, two through the feeders' zero-copy
// path) read the exact stream while the writer reuses the blocks behind
// them; the expected bytes come from a twin store with a backlog large
// enough to keep all of them.
func TestSubscribersReadExactStreamWithReuse(t *testing.T) {
	s := newStore(t, Config{ActiveExpiryInterval: -1, BacklogSize: 64 << 10})
	twin := newStore(t, Config{ActiveExpiryInterval: -1, BacklogSize: 64 << 20})
	value := func(i int) []byte { return bytes.Repeat([]byte{byte('a' + i%26)}, i%300) }
	const n = 20000
	for i := range n {
		twin.Set(benchKey(i), value(i))
	}
	_, total := twin.BacklogRange()
	want := make([]byte, total)
	twin.st.mu.Lock()
	_, err := twin.st.ring.ReadAt(want, 0)
	twin.st.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	_, start := s.BacklogRange()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	results := make(chan []byte, 3)
	for r := range 3 {
		sub, err := s.Subscribe(start, SubscribeLimits{Hard: 1 << 30, Soft: 1 << 30})
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			defer sub.Close()
			var got, buf []byte
			var parts [][]byte
			for int64(len(got)) < total {
				var err error
				if r == 0 {
					buf, _, err = sub.Next(ctx, buf[:0])
					got = append(got, buf...)
				} else {
					parts, _, err = sub.nextParts(ctx, parts, 1000*r, true)
					for _, p := range parts {
						got = append(got, p...)
					}
					if r == 2 {
						runtime.Gosched() // a slower reader
					}
				}
				if err != nil {
					break
				}
			}
			results <- got
		}()
	}
	for i := range n {
		if err := s.Set(benchKey(i), value(i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, end := s.BacklogRange(); end-start != total {
		t.Fatalf("stream of %d bytes, the twin's has %d", end-start, total)
	}
	for range 3 {
		if got := <-results; !bytes.Equal(got, want) {
			t.Fatalf("a reader read %d bytes that differ from the stream's %d", len(got), len(want))
		}
	}
}

// TestDroppedSubscriberIsForgotten: a subscription dropped for lagging
// whose owner never calls Close (it never read) is forgotten by the
// stream at the next write, so it pins neither memory nor block reuse;
// one whose bytes are being written out (the feeders' zero-copy reads) is
// kept until its owner's Close.
func TestDroppedSubscriberIsForgotten(t *testing.T) {
	s := newStore(t, Config{ActiveExpiryInterval: -1, BacklogSize: 64 << 10})
	lim := SubscribeLimits{Hard: 256 << 10, Soft: 256 << 10}
	idle, err := s.Subscribe(0, lim)
	if err != nil {
		t.Fatal(err)
	}
	feeder, err := s.Subscribe(0, lim)
	if err != nil {
		t.Fatal(err)
	}
	must(t, s.Set("k", []byte("v")))
	parts, _, err := feeder.nextParts(context.Background(), nil, 0, true)
	if err != nil || len(parts) == 0 {
		t.Fatalf("nextParts: %v", err)
	}
	val := bytes.Repeat([]byte("x"), 1000)
	for i := 0; i < 400; i++ {
		must(t, s.Set("k", val))
	}
	if !errors.Is(idle.Err(), ErrSubscriberLagging) || !errors.Is(feeder.Err(), ErrSubscriberLagging) {
		t.Fatalf("Err = %v, %v; want both dropped", idle.Err(), feeder.Err())
	}
	subs := func() []*Subscription {
		s.st.mu.Lock()
		defer s.st.mu.Unlock()
		return slices.Clone(s.st.subs)
	}
	if got := subs(); len(got) != 1 || got[0] != feeder {
		t.Fatalf("stream holds %d subscriptions, want only the feeder still writing its slices", len(got))
	}
	feeder.Close()
	must(t, s.Set("k", val))
	if got := subs(); len(got) != 0 {
		t.Fatalf("stream holds %d subscriptions after the feeder's Close", len(got))
	}
}

// TestLentSlicesOutliveTheirSubscription: the slices a feeder took
// without copying (nextParts, zero-copy) keep their bytes after the
// subscription is dropped for lagging and the collector ran, while the
// writers go on (reusing the blocks given back), until the owner's Close:
// the stream's blocks are mapped memory, which slices do not keep alive,
// so the subscription keeps a Cursor at them (lentAt).
func TestLentSlicesOutliveTheirSubscription(t *testing.T) {
	s := newStore(t, Config{ActiveExpiryInterval: -1, BacklogSize: 64 << 10})
	_, end := s.BacklogRange()
	sub, err := s.Subscribe(end, SubscribeLimits{Hard: 4 << 20, Soft: 4 << 20, SoftFor: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		must(t, s.Set(benchKey(i), bytes.Repeat([]byte{byte('a' + i%26)}, 1000)))
	}
	parts, _, err := sub.nextParts(context.Background(), nil, 0, true)
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.Join(parts, nil)
	zero := bytes.Repeat([]byte("z"), 1000)
	for i := 0; i < 6<<20/1000; i++ {
		must(t, s.Set(benchKey(i%1000), zero))
	}
	if !errors.Is(sub.Err(), ErrSubscriberLagging) {
		t.Fatalf("Err = %v, want the subscription dropped for lagging", sub.Err())
	}
	for range 3 {
		runtime.GC()
		time.Sleep(5 * time.Millisecond)
	}
	for i := 0; i < 8<<20/1000; i++ {
		must(t, s.Set(benchKey(i%1000), zero))
	}
	if got := bytes.Join(parts, nil); !bytes.Equal(got, want) {
		t.Fatal("the slices a feeder was still writing out changed after its subscription was dropped")
	}
	sub.Close()
}

// TestDroppedSubscriberMemoryBackWithoutMoreWrites: the stream a
// subscriber dropped for lagging held goes back when it is dropped (or,
// if its owner still used slices of it, when the owner closes it), not
// over later appends: a burst that ends with the drop leaves nothing
// behind.
func TestDroppedSubscriberMemoryBackWithoutMoreWrites(t *testing.T) {
	for _, lent := range []bool{false, true} {
		t.Run(map[bool]string{false: "never read", true: "read once"}[lent], func(t *testing.T) {
			s := newStore(t, Config{ActiveExpiryInterval: -1, BacklogSize: 1 << 20})
			const hard = 16 << 20
			_, end := s.BacklogRange()
			sub, err := s.Subscribe(end, SubscribeLimits{Hard: hard, Soft: hard, SoftFor: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			before := backlog.MappedInUse()
			val := bytes.Repeat([]byte("v"), 1000)
			if lent {
				if err := s.Set("first", val); err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				if _, _, err := sub.Next(ctx, nil); err != nil {
					t.Fatal(err)
				}
			}
			for i := 0; sub.Err() == nil; i++ {
				if err := s.Set(benchKey(i%1000), val); err != nil {
					t.Fatal(err)
				}
			}
			// No write after the one that dropped it.
			sub.Close()
			// Given back on a goroutine, in steps: poll.
			held := backlog.MappedInUse() - before
			for deadline := time.Now().Add(10 * time.Second); held > 4<<20 && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
				held = backlog.MappedInUse() - before
			}
			if held > 4<<20 {
				t.Errorf("%d MiB of stream still mapped after the lagging subscriber was dropped and closed, want about the 1 MiB backlog", held>>20)
			}
		})
	}
}

// TestReaderNeverWaitsForTheStreamLock: a reader whose progress lets go of
// blocks it held (so they can go back) does not wait for the stream lock,
// which busy writers hold most of the time: Next returns while the lock is
// held. Waiting for it there slowed two in-memory replicas' feeders enough
// that one fell 256 MiB behind and was dropped (S2 of cmd/replikv-bench).
func TestReaderNeverWaitsForTheStreamLock(t *testing.T) {
	s := newStore(t, Config{ActiveExpiryInterval: -1, BacklogSize: 1 << 20})
	_, end := s.BacklogRange()
	sub, err := s.Subscribe(end, SubscribeLimits{Hard: 64 << 20, Soft: 64 << 20, SoftFor: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	val := bytes.Repeat([]byte("v"), 1000)
	for i := 0; i < 8<<10; i++ { // 8 MiB: far more than the backlog and the blocks kept for reuse
		if err := s.Set(benchKey(i%1000), val); err != nil {
			t.Fatal(err)
		}
	}
	s.st.mu.Lock()
	locked := true
	defer func() {
		if locked {
			s.st.mu.Unlock()
		}
	}()
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, _, err := sub.Next(ctx, nil)
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Next waited for the stream lock")
	}
	s.st.mu.Unlock()
	locked = false
	sub.Close()
}
