package replikv

import (
	"bytes"
	"context"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
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
	s := newStore(t, Config{ActiveExpiryInterval: -1, BacklogSize: 1 << 20})
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

// TestLentSlicesOutliveAReset: the slices a feeder took without copying
// keep their bytes after the stream starts a new history (its blocks
// then go to the collector, not to reuse), while the collector runs and
// another store takes mapped blocks from the shared pool, until the
// owner's Close.
func TestLentSlicesOutliveAReset(t *testing.T) {
	s := newStore(t, Config{ActiveExpiryInterval: -1, BacklogSize: 64 << 10})
	other := newStore(t, Config{ActiveExpiryInterval: -1, BacklogSize: 64 << 10})
	_, end := s.BacklogRange()
	sub, err := s.Subscribe(end, SubscribeLimits{})
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
	s.st.mu.Lock()
	s.st.resetLocked(newReplID(), 0, 0)
	s.st.mu.Unlock()
	zero := bytes.Repeat([]byte("z"), 1000)
	for range 3 {
		runtime.GC()
		time.Sleep(5 * time.Millisecond)
		for i := 0; i < 4<<20/1000; i++ {
			must(t, other.Set(benchKey(i%1000), zero))
			must(t, s.Set(benchKey(i%1000), zero))
		}
	}
	if got := bytes.Join(parts, nil); !bytes.Equal(got, want) {
		t.Fatal("the slices a feeder was still writing out changed after a new history began")
	}
	sub.Close()
}

// TestNextWhileClosedAndDropped: subscribers whose Next copies the
// stream while their owner closes them, or the writer drops them for
// lagging, never see bytes of reused blocks: this store writes no 'z' and
// no NUL, while another store in the process writes 'z' into blocks of
// the shared pool.
func TestNextWhileClosedAndDropped(t *testing.T) {
	s := newStore(t, Config{ActiveExpiryInterval: -1, BacklogSize: 64 << 10})
	other := newStore(t, Config{ActiveExpiryInterval: -1, BacklogSize: 64 << 10})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		zs := bytes.Repeat([]byte("z"), 3000)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			other.Set("zzz", zs)
		}
	})
	wg.Go(func() {
		val := bytes.Repeat([]byte("v"), 3000)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			s.Set(strconv.Itoa(i%100), val)
		}
	})
	var bad atomic.Int64
	for r := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				_, end := s.BacklogRange()
				sub, err := s.Subscribe(end, SubscribeLimits{Hard: 256 << 10 * (r + 1), Soft: 1 << 30, SoftFor: time.Hour})
				if err != nil {
					continue
				}
				done := make(chan struct{})
				go func() {
					time.Sleep(time.Duration(i%7) * 200 * time.Microsecond)
					sub.Close()
					close(done)
				}()
				var buf []byte
				for {
					buf, _, err = sub.Next(context.Background(), buf)
					if bytes.IndexByte(buf, 'z') >= 0 || bytes.IndexByte(buf, 0) >= 0 {
						bad.Add(1)
					}
					if err != nil {
						break
					}
					if r%2 == 0 {
						time.Sleep(time.Millisecond) // lag: dropped now and then
					}
				}
				<-done
			}
		})
	}
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()
	if n := bad.Load(); n > 0 {
		t.Fatalf("%d reads saw bytes of reused blocks", n)
	}
}

// TestOnCloseMayCloseAnotherSubscription: an OnClose callback that closes
// another subscription (a pair of feeds that end together) does not
// deadlock the store: Subscription.Close now takes the stream lock, which
// OnClose callbacks run under.
func TestOnCloseMayCloseAnotherSubscription(t *testing.T) {
	s, err := New(Config{ActiveExpiryInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	_, end := s.BacklogRange()
	a, err := s.Subscribe(end, SubscribeLimits{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Subscribe(end, SubscribeLimits{})
	if err != nil {
		t.Fatal(err)
	}
	a.OnClose(func() { b.Close() })
	closed := make(chan struct{})
	go func() {
		s.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		buf := make([]byte, 1<<20)
		t.Fatalf("Store.Close deadlocked: an OnClose callback closed another subscription:\n%s", buf[:runtime.Stack(buf, true)])
	}
}

// TestResetGivesBackBlocksNoReaderHolds: when the stream starts a new
// history (a replica's full resync), the old history's blocks that no
// reader holds go back to the pool at once. Left to the collector, which
// mapped memory does not pace, a quiet process kept the old backlog
// resident (here 16 MiB) until some later collection.
func TestResetGivesBackBlocksNoReaderHolds(t *testing.T) {
	s := newStore(t, Config{ActiveExpiryInterval: -1, BacklogSize: 16 << 20})
	runtime.GC()
	time.Sleep(10 * time.Millisecond)
	before := backlog.MappedInUse()
	val := bytes.Repeat([]byte("v"), 1000)
	for i := 0; i < 16<<20/1000; i++ {
		must(t, s.Set(benchKey(i%1000), val))
	}
	if held := backlog.MappedInUse() - before; held < 12<<20 {
		t.Fatalf("only %d MiB mapped for a 16 MiB backlog", held>>20)
	}
	s.st.mu.Lock()
	s.st.resetLocked(newReplID(), 0, 0)
	s.st.mu.Unlock()
	held := backlog.MappedInUse() - before
	for deadline := time.Now().Add(time.Second); held > 2<<20 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond) // no allocation here: no collection either
		held = backlog.MappedInUse() - before
	}
	if held > 2<<20 {
		t.Errorf("%d MiB of the old history still mapped after a new history began, with no reader", held>>20)
	}
}
