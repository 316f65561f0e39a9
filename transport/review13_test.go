package transport

// Adversarial review of issue 13: a memory connection's deadline re-arms
// its timer when moved.

import (
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// A deadline moved forward, backward, into the past or cleared, in any
// order, fires exactly when its last setting says: its channel is never
// closed before the last deadline set (re-armed timers included), is
// closed at once for one in the past, and closes for one in the future.
func TestReview13DeadlineMovesNeverFireEarly(t *testing.T) {
	d := newDeadline()
	defer d.stop()
	r := rand.New(rand.NewPCG(13, 13))
	for i := range 3000 {
		var at time.Time
		switch k := r.IntN(6); k {
		case 0:
			at = time.Time{}
		case 1:
			at = time.Now().Add(-time.Millisecond)
		case 2:
			at = time.Now().Add(time.Hour)
		default:
			at = time.Now().Add(time.Duration(r.IntN(300)) * time.Microsecond)
		}
		d.set(at)
		ch := d.done()
		switch {
		case at.IsZero():
			if isClosed(ch) {
				t.Fatalf("step %d: cleared deadline is closed", i)
			}
		case time.Until(at) > time.Minute:
			if isClosed(ch) {
				t.Fatalf("step %d: deadline an hour away is closed", i)
			}
		default:
			if i%5 != 0 {
				continue // moved again before it fires: the re-arm path
			}
			select {
			case <-ch:
			case <-time.After(10 * time.Second):
				t.Fatalf("step %d: deadline %v never fired", i, time.Until(at))
			}
			if now := time.Now(); now.Before(at) {
				t.Fatalf("step %d: fired %v early", i, at.Sub(now))
			}
		}
	}
}

// Concurrent moves of a deadline while readers wait on it: once the last
// move sets it in the near future, every waiter is woken; none is left
// waiting on a channel no timer will close.
func TestReview13DeadlineConcurrentMovesWakeWaiters(t *testing.T) {
	for round := range 200 {
		d := newDeadline()
		var wg sync.WaitGroup
		for g := range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := rand.New(rand.NewPCG(uint64(round), uint64(g)))
				for range 50 {
					switch r.IntN(4) {
					case 0:
						d.set(time.Time{})
					case 1:
						d.set(time.Now().Add(time.Hour))
					case 2:
						d.set(time.Now().Add(-time.Second))
					default:
						d.set(time.Now().Add(time.Duration(r.IntN(100)) * time.Microsecond))
					}
				}
			}()
		}
		woken := make(chan struct{})
		go func() { // a reader re-fetching the channel, as pipe.read does
			for {
				ch := d.done()
				if isClosed(ch) {
					close(woken)
					return
				}
				<-ch
			}
		}()
		wg.Wait()
		final := time.Now().Add(time.Millisecond)
		d.set(final)
		select {
		case <-woken:
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: a waiter was never woken after the last deadline passed", round)
		}
		select {
		case <-d.done():
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: the last deadline never fired", round)
		}
		if time.Now().Before(final) {
			t.Fatalf("round %d: the last deadline fired early", round)
		}
		d.stop()
	}
}
