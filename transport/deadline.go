package transport

import (
	"sync"
	"time"
)

// deadline is one I/O deadline of a connection: a channel that is closed
// when the deadline passes. It uses a timer callback rather than a goroutine,
// and can be moved (or cleared) at any time, waking nothing that should keep
// waiting and everything that should stop.
type deadline struct {
	mu      sync.Mutex
	timer   *time.Timer
	timerCh chan struct{} // the channel timer's callback closes
	ch      chan struct{} // closed once the current deadline has passed
}

func newDeadline() *deadline { return &deadline{ch: make(chan struct{})} }

// set moves the deadline to t; the zero time means no deadline. Moving a
// deadline that has not passed yet re-arms its timer: a connection that
// pushes its deadline forward at every read allocates nothing.
func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var stopped *time.Timer // stopped before it fired: reusable for the same channel
	if d.timer != nil {
		if d.timer.Stop() {
			stopped = d.timer
		} else {
			// The callback has run or is running and owns the old channel.
			d.ch = make(chan struct{})
		}
		d.timer = nil
	}
	expired := isClosed(d.ch)
	if t.IsZero() {
		if expired {
			d.ch = make(chan struct{})
		}
		return
	}
	wait := time.Until(t)
	if wait <= 0 {
		if !expired {
			close(d.ch)
		}
		return
	}
	if expired {
		d.ch = make(chan struct{})
	}
	if stopped != nil && d.timerCh == d.ch {
		stopped.Reset(wait)
		d.timer = stopped
		return
	}
	ch := d.ch
	d.timer, d.timerCh = time.AfterFunc(wait, func() { close(ch) }), ch
}

// done returns a channel closed when the current deadline passes. A later
// set may replace it, so callers fetch it afresh before each wait.
func (d *deadline) done() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ch
}

// stop releases the timer, if any.
func (d *deadline) stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil {
		d.timer.Stop()
	}
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
