package transporttest

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/replikv/replikv/transport"
)

// refuseBound is how fast a dial to an address with no listener must fail.
const refuseBound = 2 * time.Second

func testDialRefused(t *testing.T, l net.Listener, d transport.Dialer) {
	if err := l.Close(); err != nil {
		t.Fatalf("closing the listener: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	start := time.Now()
	c, err := d.Dial(ctx)
	if err == nil {
		c.Close()
		t.Fatalf("Dial(%v) with no listener succeeded", d)
	}
	if el := time.Since(start); el > refuseBound {
		t.Errorf("Dial with no listener took %v to fail", el)
	}
	if !errors.Is(err, transport.ErrConnRefused) {
		t.Errorf("Dial with no listener: %v; want an error matching transport.ErrConnRefused", err)
	}
}

func testDialCanceled(t *testing.T, _ net.Listener, d transport.Dialer) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c, err := d.Dial(ctx)
	if err == nil {
		c.Close()
		t.Fatal("Dial with a canceled context succeeded")
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Dial with a canceled context: %v; want context.Canceled", err)
	}
}

// testDialTimeoutWhileNotAccepting dials while nobody calls Accept. The
// transport may complete the dial (as TCP does through its backlog) or wait;
// either way Dial must return once its context ends.
func testDialTimeoutWhileNotAccepting(t *testing.T, _ net.Listener, d transport.Dialer) {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		c, err := d.Dial(ctx)
		if c != nil {
			c.Close()
		}
		done <- err
	}()
	if err := within(t, "Dial with an expiring context", done); err != nil &&
		!errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Dial with an expiring context: %v; want success or context.DeadlineExceeded", err)
	}
}
