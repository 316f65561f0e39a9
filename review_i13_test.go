package replikv

import (
	"bytes"
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/replikv/replikv/backlog"
)

// TestCaughtUpReaderMemoryBackWithoutMoreWrites: a subscriber that
// lagged 16 MiB during a burst and then caught up (no drop) must not
// leave those blocks mapped once writes stop: they are nobody's any more
// (ReplBufferBytes says the backlog only), yet the stream gives free
// blocks back only 32 per later Append.
func TestCaughtUpReaderMemoryBackWithoutMoreWrites(t *testing.T) {
	s, err := New(Config{ActiveExpiryInterval: -1, BacklogSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, end := s.BacklogRange()
	sub, err := s.Subscribe(end, SubscribeLimits{Hard: 64 << 20, Soft: 64 << 20, SoftFor: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	before := backlog.MappedInUse()
	val := bytes.Repeat([]byte("v"), 1000)
	for i := 0; i < 16<<20/1000; i++ {
		must(t, s.Set(benchKey(i%1000), val))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var buf []byte
	for sub.Offset() < s.Info().Offset {
		if buf, _, err = sub.Next(ctx, buf); err != nil {
			t.Fatal(err)
		}
	}
	if b := s.Info().ReplBufferBytes; b > 2<<20 {
		t.Fatalf("ReplBufferBytes = %d once the subscriber caught up", b)
	}
	// No write after the reader caught up.
	held := backlog.MappedInUse() - before
	for deadline := time.Now().Add(3 * time.Second); held > 4<<20 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		held = backlog.MappedInUse() - before
	}
	if held > 4<<20 {
		t.Errorf("%d MiB of stream still mapped after the subscriber caught up and writes stopped (ReplBufferBytes %d), want about the 1 MiB backlog",
			held>>20, s.Info().ReplBufferBytes)
	}
}

// TestCloseWaitsForTheBlockReleaser: the goroutine that gives back the
// blocks of a dropped subscriber (releaseDroppedLocked) is the store's:
// Close must not return while it still runs (Close stops every goroutine
// the store started).
func TestCloseWaitsForTheBlockReleaser(t *testing.T) {
	for range 5 {
		s, err := New(Config{ActiveExpiryInterval: -1, BacklogSize: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		_, end := s.BacklogRange()
		sub, err := s.Subscribe(end, SubscribeLimits{Hard: 48 << 20, Soft: 48 << 20, SoftFor: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		val := bytes.Repeat([]byte("v"), 1000)
		for i := 0; sub.Err() == nil; i++ {
			must(t, s.Set(benchKey(i%1000), val))
		}
		sub.Close()
		s.Close()
		// Once Close returned, the releaser is done: not still giving
		// back blocks (under the stream lock, with system calls).
		s.st.mu.Lock()
		releasing, more := s.st.releasing, s.st.ring.Release(0)
		s.st.mu.Unlock()
		if releasing || more {
			buf := make([]byte, 1<<20)
			t.Fatalf("the store's block releaser still runs after Close (releasing %v, more to release %v):\n%s",
				releasing, more, buf[:runtime.Stack(buf, true)])
		}
	}
}
