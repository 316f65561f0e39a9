package replikv

import (
	"context"
	"errors"
	"testing"
	"time"
)

// With one of two replicas cut off (partitioned, or closed), Wait for 2
// returns 1 when its context ends, while Wait for 1 returns at once.
func TestWaitCountsWithReplicaCut(t *testing.T) {
	for _, how := range []string{"partitioned", "closed"} {
		t.Run(how, func(t *testing.T) {
			c := newFOCluster(t, 0, 0)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, before, err := c.p.SetPos("before", []byte("1"), SetOptions{})
			must(t, err)
			if n, err := c.p.Wait(ctx, 2, before); n != 2 || err != nil {
				t.Fatalf("Wait(2) with both replicas up = %d, %v", n, err)
			}
			switch how {
			case "partitioned":
				c.f.Partition(c.names[1002], "p")
			case "closed":
				c.reps[1002].Close()
			}
			_, pos, err := c.p.SetPos("after", []byte("2"), SetOptions{})
			must(t, err)

			start := time.Now()
			if n, err := c.p.Wait(ctx, 1, pos); n < 1 || err != nil {
				t.Fatalf("Wait(1) = %d, %v", n, err)
			}
			// "At once": well before the 10s context, on a busy machine.
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("Wait(1) took %v", d)
			}

			short, cancelShort := context.WithTimeout(ctx, 200*time.Millisecond)
			defer cancelShort()
			n, err := c.p.Wait(short, 2, pos)
			if n != 1 || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Wait(2) with a replica %s = %d, %v; want 1 and the deadline", how, n, err)
			}
		})
	}
}
