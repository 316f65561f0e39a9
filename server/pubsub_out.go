package server

import (
	"sync"
	"time"
)

// outQueue is the output of a client that has used pub/sub: its own
// replies (see client.flush) and the messages publishers push, in order,
// written by one writer goroutine. It enforces the PubSubLimits.
type outQueue struct {
	c      *client
	lim    PubSubLimits
	mu     sync.Mutex
	buf    []byte
	flight int       // bytes the writer is writing now, counted against the limits
	over   time.Time // since when buf has been over lim.Soft; zero when not
	drop   bool      // disconnected for being too slow
	closed bool
	wake   chan struct{}
	done   chan struct{} // closed by the writer when it returns
}

func (q *outQueue) init(c *client, lim PubSubLimits) {
	q.c, q.lim = c, lim
	q.wake = make(chan struct{}, 1)
	q.done = make(chan struct{})
}

// push queues b for the writer, or disconnects the client when that
// passes its limits.
func (q *outQueue) push(b []byte) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.drop || q.closed {
		return
	}
	n := len(q.buf) + q.flight + len(b)
	switch {
	case !q.c.pubsubMode.Load():
		// A client without subscriptions (any more) is of Redis's
		// normal class, whose output is not limited by default: its
		// replies are queued here only to keep them in order.
		q.over = time.Time{}
	case q.lim.Hard > 0 && n > q.lim.Hard:
		q.dropLocked("hard")
		return
	case q.lim.Soft > 0 && n > q.lim.Soft:
		now := time.Now()
		if q.over.IsZero() {
			q.over = now
		} else if now.Sub(q.over) >= q.lim.SoftFor {
			q.dropLocked("soft")
			return
		}
	default:
		q.over = time.Time{}
	}
	q.buf = append(q.buf, b...)
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *outQueue) dropLocked(which string) {
	q.drop = true
	q.buf = nil
	q.c.log().Info("closing subscriber: output buffer over its limit", "limit", which, "hard", q.lim.Hard, "soft", q.lim.Soft, "soft_seconds", q.lim.SoftFor.Seconds())
	q.c.conn.Close()
}

// pending returns the bytes waiting to be written (CLIENT LIST omem).
func (q *outQueue) pending() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.buf) + q.flight
}

// close stops the writer once it has written what is pending, waiting at
// most a few seconds for a peer that does not read.
func (q *outQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	select {
	case <-q.done:
	case <-time.After(5 * time.Second):
		q.c.conn.Close()
		<-q.done
	}
}

// write is the writer goroutine.
func (q *outQueue) write() {
	defer close(q.done)
	var spare []byte
	for range q.wake {
		q.mu.Lock()
		b, closed := q.buf, q.closed
		q.buf = spare[:0]
		q.flight = len(b)
		if len(b) <= q.lim.Soft {
			q.over = time.Time{}
		}
		q.mu.Unlock()
		if len(b) > 0 {
			if _, err := q.c.conn.Write(b); err != nil {
				q.mu.Lock()
				q.drop = true
				q.buf = nil
				closed = q.closed
				q.mu.Unlock()
				if closed {
					return
				}
				continue
			}
		}
		q.mu.Lock()
		q.flight = 0
		q.mu.Unlock()
		if closed {
			return
		}
		if cap(b) <= 64<<10 {
			spare = b
		} else {
			spare = nil
		}
	}
}
