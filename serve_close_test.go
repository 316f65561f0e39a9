package replikv

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/replikv/replikv/transport"
)

// TestServeClosesListenerWhenClosedMidAccept: when Close runs while
// Serve's Accept has just returned a connection, Serve sees the store
// closing and returns; the listener must be closed by then, although
// Serve removed it from the listeners Close closes. Before, the listener
// stayed open, its name taken for good (a restarted store could not
// listen again: TestReview17PrimaryRestartedTwice failed under load).
func TestServeClosesListenerWhenClosedMidAccept(t *testing.T) {
	mn := transport.NewMemNetwork()
	for round := range 200 {
		s, err := New(Config{})
		must(t, err)
		l, err := mn.Listen("p")
		if err != nil {
			t.Fatalf("round %d: the name is still taken after the last Serve returned: %v", round, err)
		}
		served := make(chan struct{})
		go func() { defer close(served); s.Serve(l) }()
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for range 2 {
			wg.Go(func() {
				d := mn.Dialer("p")
				for {
					select {
					case <-stop:
						return
					default:
					}
					// Bounded: a listener left open and unserved
					// would hold a dial forever.
					ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
					if c, err := d.Dial(ctx); err == nil {
						c.Close()
					}
					cancel()
				}
			})
		}
		s.Close()
		<-served
		close(stop)
		wg.Wait()
	}
}
