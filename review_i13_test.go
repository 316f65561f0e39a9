package replikv

import (
	"bytes"
	"context"
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
