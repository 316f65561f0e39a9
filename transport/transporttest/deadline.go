package transporttest

import (
	"net"
	"testing"
	"time"

	"github.com/replikv/replikv/transport"
)

func testReadDeadline(t *testing.T, l net.Listener, d transport.Dialer) {
	c, s := connect(t, l, d)
	const wait = 30 * time.Millisecond
	start := time.Now()
	if err := c.SetReadDeadline(start.Add(wait)); err != nil {
		t.Fatalf("SetReadDeadline: %v", err)
	}
	n, err := c.Read(make([]byte, 8))
	if !isTimeout(err) {
		t.Fatalf("Read on an idle conn past its deadline = %d, %v; want a timeout error", n, err)
	}
	if el := time.Since(start); el < wait {
		t.Errorf("Read timed out after %v, before its %v deadline", el, wait)
	}
	// Clearing the deadline makes the conn usable again.
	if err := c.SetReadDeadline(time.Time{}); err != nil {
		t.Fatalf("SetReadDeadline(zero): %v", err)
	}
	exchange(t, s, c, "after the timeout")
}

func testPastDeadline(t *testing.T, l net.Listener, d transport.Dialer) {
	c, _ := connect(t, l, d)
	if err := c.SetReadDeadline(time.Now().Add(-time.Second)); err != nil {
		t.Fatalf("SetReadDeadline: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 8))
		done <- err
	}()
	if err := within(t, "Read with a past deadline", done); !isTimeout(err) {
		t.Fatalf("Read with a past deadline: %v; want a timeout error", err)
	}
}

// testDeadlineUnblocksRead moves the deadline of a Read that is already
// blocked; the Read must return.
func testDeadlineUnblocksRead(t *testing.T, l net.Listener, d transport.Dialer) {
	c, _ := connect(t, l, d)
	done := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 8))
		done <- err
	}()
	// Whether or not the Read has blocked yet, it must end with a timeout.
	if err := c.SetReadDeadline(time.Now()); err != nil {
		t.Fatalf("SetReadDeadline: %v", err)
	}
	if err := within(t, "blocked Read after SetReadDeadline(now)", done); !isTimeout(err) {
		t.Fatalf("blocked Read after SetReadDeadline(now): %v; want a timeout error", err)
	}
}

// testWriteDeadline writes to a peer that never reads until the buffers
// fill and the write deadline ends the blocked Write.
func testWriteDeadline(t *testing.T, l net.Listener, d transport.Dialer) {
	c, _ := connect(t, l, d)
	if err := c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond)); err != nil {
		t.Fatalf("SetWriteDeadline: %v", err)
	}
	const limit = 256 << 20 // no sane transport buffers this much
	chunk := make([]byte, 256<<10)
	done := make(chan error, 1)
	go func() {
		total := 0
		for total < limit {
			n, err := c.Write(chunk)
			total += n
			if err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	err := within(t, "writes to a peer that does not read", done)
	if err == nil {
		t.Fatalf("wrote %d bytes to a peer that does not read without blocking", limit)
	}
	if !isTimeout(err) {
		t.Fatalf("Write past its deadline: %v; want a timeout error", err)
	}
}
