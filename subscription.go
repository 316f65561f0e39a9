package replikv

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// SubscribeLimits bound the bytes a subscription may hold pending, like
// Redis's client-output-buffer-limit for replicas. Zero fields mean the
// defaults (Redis: "replica 256mb 64mb 60").
type SubscribeLimits struct {
	// Hard closes the subscription as soon as more than Hard bytes are
	// pending. Default 256 MiB.
	Hard int
	// Soft closes it when more than Soft bytes stay pending for longer than
	// SoftFor. Default 64 MiB for 60 s.
	Soft    int
	SoftFor time.Duration
}

// Default subscription limits (Redis client-output-buffer-limit replica).
const (
	DefaultHardLimit    = 256 << 20
	DefaultSoftLimit    = 64 << 20
	DefaultSoftLimitFor = 60 * time.Second
)

func (l SubscribeLimits) withDefaults() SubscribeLimits {
	if l.Hard <= 0 {
		l.Hard = DefaultHardLimit
	}
	if l.Soft <= 0 {
		l.Soft = DefaultSoftLimit
	}
	if l.SoftFor <= 0 {
		l.SoftFor = DefaultSoftLimitFor
	}
	return l
}

// A Subscription receives the replication stream from a given offset, in
// order and without gaps. Bytes are copied to it as they are appended, so a
// slow reader never blocks writers; when it falls too far behind (see
// SubscribeLimits) it is closed with ErrSubscriberLagging.
type Subscription struct {
	mu        sync.Mutex
	buf       []byte // pending bytes
	next      int64  // stream offset of buf[0]
	err       error  // set once closed
	wake      chan struct{}
	lim       SubscribeLimits
	now       func() time.Time
	softSince time.Time // when pending first went over Soft; zero when under
	onClose   func()    // called once when the subscription closes (see OnClose)
}

// newSubscription returns a subscription from offset from. Its soft limit
// is timed with the wall clock, not Config.Now (the keys' expiry clock).
func newSubscription(from int64, lim SubscribeLimits) *Subscription {
	return &Subscription{next: from, wake: make(chan struct{}, 1), lim: lim.withDefaults(), now: time.Now}
}

// push appends b; it reports false when the subscription is (now) closed.
// Called with the stream lock held.
func (sub *Subscription) push(b []byte) bool {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if sub.err != nil {
		return false
	}
	pending := len(sub.buf) + len(b)
	if pending > sub.lim.Hard {
		sub.buf = nil // a lagging subscriber loses its pending bytes at once
		sub.closeLocked(fmt.Errorf("%w: %d bytes pending, hard limit %d", ErrSubscriberLagging, pending, sub.lim.Hard))
		return false
	}
	if pending > sub.lim.Soft {
		now := sub.now()
		if sub.softSince.IsZero() {
			sub.softSince = now
		} else if now.Sub(sub.softSince) > sub.lim.SoftFor {
			sub.buf = nil
			sub.closeLocked(fmt.Errorf("%w: over the soft limit of %d bytes for %v", ErrSubscriberLagging, sub.lim.Soft, sub.lim.SoftFor))
			return false
		}
	}
	sub.buf = append(sub.buf, b...)
	select {
	case sub.wake <- struct{}{}:
	default:
	}
	return true
}

// Next waits until stream bytes are pending and returns them, with the
// stream offset of the first one. The returned slice is dst[:0] grown as
// needed holding the bytes, or the subscription's own buffer; pass the
// previous result back as dst to avoid allocations. It returns the error
// that closed the subscription once nothing is pending, or ctx's error.
func (sub *Subscription) Next(ctx context.Context, dst []byte) ([]byte, int64, error) {
	for {
		sub.mu.Lock()
		if len(sub.buf) > 0 {
			data, off := sub.buf, sub.next
			sub.buf = dst[:0]
			sub.next += int64(len(data))
			sub.softSince = time.Time{} // nothing is pending any more
			sub.mu.Unlock()
			return data, off, nil
		}
		if err := sub.err; err != nil {
			sub.mu.Unlock()
			return dst[:0], sub.next, err
		}
		sub.mu.Unlock()
		select {
		case <-sub.wake:
		case <-ctx.Done():
			return dst[:0], sub.Offset(), ctx.Err()
		}
	}
}

// OnClose sets a function called once when the subscription closes, for
// whatever reason (for example to close the connection of a replica that
// fell behind while its writer is blocked). It runs with the stream locked:
// it must be quick and must not call the store. If the subscription is
// already closed, fn runs at once.
func (sub *Subscription) OnClose(fn func()) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	sub.onClose = fn
	if sub.err != nil {
		fn()
	}
}

// Offset returns the stream offset of the next byte Next will return.
func (sub *Subscription) Offset() int64 {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	return sub.next
}

// Pending returns the number of bytes appended but not yet taken by Next.
func (sub *Subscription) Pending() int {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	return len(sub.buf)
}

// Err returns the error that closed the subscription, or nil while open.
func (sub *Subscription) Err() error {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	return sub.err
}

// Close stops the subscription; pending bytes are discarded and Next
// returns ErrClosed.
func (sub *Subscription) Close() {
	sub.close(ErrClosed)
}

func (sub *Subscription) close(err error) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	sub.buf = nil
	sub.closeLocked(err)
}

func (sub *Subscription) closeLocked(err error) {
	if sub.err == nil {
		sub.err = err
		if sub.onClose != nil {
			sub.onClose()
		}
	}
	select {
	case sub.wake <- struct{}{}:
	default:
	}
}

func (sub *Subscription) isClosed() bool {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	return sub.err != nil
}
