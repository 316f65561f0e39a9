package replikv

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/replikv/replikv/backlog"
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
// order and without gaps. It reads the stream's one shared buffer (see
// backlog.Buffer): writers append each byte once, whatever the number of
// subscribers, and never wait for a reader. A subscriber's pending bytes
// are its lag, end of stream minus its offset; when it falls too far
// behind (see SubscribeLimits) it is closed with ErrSubscriberLagging.
type Subscription struct {
	st  *stream
	buf *backlog.Buffer // the stream's buffer (fixed for the stream's life)
	lim SubscribeLimits
	now func() time.Time
	pos atomic.Int64 // offset of the next byte Next returns: the writer reads it for the limits
	// held is the lowest offset whose bytes this subscription may still
	// touch: the start of the slices it last handed out, or their end once
	// Next copied them out (see backlog.Buffer.SetLowest). lent is set once the zero-copy reader
	// (a replica's feeder) took slices: after a close, the stream keeps
	// counting held until the owner calls Close, as it may still be
	// writing them. copying is set while Next copies slices out.
	held     atomic.Int64
	lent     atomic.Bool
	copying  atomic.Bool
	released atomic.Bool

	// softSince is when the lag first went over Soft (unix ns; 0 when
	// under): set by the writer (with the stream lock held) when an append
	// finds the lag over Soft, cleared when one finds it under, or when
	// the reader catches up (take).
	softSince atomic.Int64
	closed    atomic.Bool

	mu  sync.Mutex
	cur backlog.Cursor // where Next reads; dropped at close
	// lentAt is where the slices last handed out begin, kept while they
	// may be in use (until the next take, or Close for the zero-copy
	// reader, or the end of Next's copy): the stream's blocks are mapped
	// memory (backlog.Buffer.SetMapped), which slices do not keep alive.
	lentAt  backlog.Cursor
	parts   [][]byte
	err     error // set once closed
	done    chan struct{}
	onClose func() // called once when the subscription closes (see OnClose)
}

// newSubscriptionLocked returns a subscription of st from offset from,
// which the caller checked is covered. Its soft limit is timed with the
// wall clock, not Config.Now (the keys' expiry clock).
func (st *stream) newSubscriptionLocked(from int64, lim SubscribeLimits) *Subscription {
	cur, err := st.ring.CursorAt(from)
	if err != nil {
		panic("replikv: subscription at an offset not covered: " + err.Error())
	}
	sub := &Subscription{st: st, buf: st.ring, lim: lim.withDefaults(), now: time.Now, cur: cur, done: make(chan struct{})}
	sub.pos.Store(from)
	sub.held.Store(from)
	return sub
}

// checkLimitsLocked closes the subscription when its lag, the bytes from
// its offset to end, is over a limit; it reports false when it is (now)
// closed. Called with the stream lock held after each append.
func (sub *Subscription) checkLimitsLocked(end int64) bool {
	if sub.closed.Load() {
		return false
	}
	lag := end - sub.pos.Load()
	if lag > int64(sub.lim.Hard) {
		sub.close(fmt.Errorf("%w: %d bytes pending, hard limit %d", ErrSubscriberLagging, lag, sub.lim.Hard))
		return false
	}
	if lag <= int64(sub.lim.Soft) {
		sub.softSince.Store(0)
		return true
	}
	now := sub.now().UnixNano()
	if since := sub.softSince.Load(); since == 0 {
		sub.softSince.Store(now)
	} else if time.Duration(now-since) > sub.lim.SoftFor {
		sub.close(fmt.Errorf("%w: over the soft limit of %d bytes for %v", ErrSubscriberLagging, sub.lim.Soft, sub.lim.SoftFor))
		return false
	}
	return true
}

// take moves up to limit bytes (0: all there are) from the shared buffer
// into parts, as slices of it that must not be modified. It returns the
// offset of the first, or the error that closed the subscription.
//
// letGo reports that the subscription just let go of stream blocks kept
// past the ones reused (see setHeld): the caller, once it holds no lock,
// calls st.releaseLetGo.
func (sub *Subscription) take(parts [][]byte, limit int, zeroCopy bool) (_ [][]byte, _ int64, letGo bool, _ error) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	off := sub.cur.Offset()
	if sub.err != nil {
		return parts, sub.pos.Load(), false, sub.err
	}
	letGo = sub.setHeld(off) // what was handed out before is no longer used
	sub.lentAt = sub.cur
	parts = sub.cur.Next(parts, limit)
	if limit <= 0 || sub.cur.Offset()-off < int64(limit) {
		// Caught up with every byte published: nothing stayed pending,
		// so the soft limit's time starts again (as when a subscriber's
		// own buffer was emptied).
		sub.softSince.Store(0)
	}
	if len(parts) > 0 {
		// Set before a close can be (both under mu), so the stream keeps
		// counting held while the slices are used.
		if zeroCopy {
			sub.lent.Store(true)
		} else {
			sub.copying.Store(true)
		}
	}
	sub.pos.Store(sub.cur.Offset())
	return parts, off, letGo, nil
}

// setHeld moves held to off, and reports whether that let go of the
// oldest of the stream's free blocks past the ones it keeps for reuse
// (backlog.Buffer.ExcessEnd): this subscription lagged and held them, and
// they go back now (st.releaseLetGo) rather than over later appends,
// which may never come. A stale ExcessEnd only delays that.
func (sub *Subscription) setHeld(off int64) bool {
	prev := sub.held.Swap(off)
	end := sub.buf.ExcessEnd()
	return prev <= end && off > end
}

// nextParts waits until stream bytes are pending and returns them as
// slices of the shared buffer (at most limit bytes; 0: no bound), which
// the caller must not modify, with the offset of the first byte. The
// slices may be used until the next call, or, with zeroCopy, until Close.
// Without zeroCopy the caller clears sub.copying once done with them.
func (sub *Subscription) nextParts(ctx context.Context, parts [][]byte, limit int, zeroCopy bool) ([][]byte, int64, error) {
	parts = parts[:0]
	for {
		parts, off, letGo, err := sub.take(parts, limit, zeroCopy)
		if letGo {
			sub.st.releaseLetGo()
		}
		if len(parts) > 0 || err != nil {
			return parts, off, err
		}
		// Nothing yet: ask to be woken, then look again before waiting, so
		// no append slips between.
		changed := sub.buf.Changed()
		parts, off, letGo, err = sub.take(parts, limit, zeroCopy)
		if letGo {
			sub.st.releaseLetGo()
		}
		if len(parts) > 0 || err != nil {
			return parts, off, err
		}
		select {
		case <-changed:
		case <-sub.done:
		case <-ctx.Done():
			return parts, sub.Offset(), ctx.Err()
		}
	}
}

// Next waits until stream bytes are pending and returns them, with the
// stream offset of the first one: every byte pending at the time, copied
// out of the shared stream buffer into dst[:0] (grown as needed; pass the
// previous result back as dst to avoid allocations), so the result is the
// caller's. It returns the error that closed the subscription (pending
// bytes are then discarded), or ctx's error.
func (sub *Subscription) Next(ctx context.Context, dst []byte) ([]byte, int64, error) {
	sub.mu.Lock()
	parts := sub.parts[:0]
	sub.parts = nil // this goroutine's while it reads
	sub.mu.Unlock()
	parts, off, err := sub.nextParts(ctx, parts, 0, false)
	dst = dst[:0]
	for _, p := range parts {
		dst = append(dst, p...)
	}
	clear(parts)
	if len(dst) > 0 {
		// Copied out: the shared bytes are no longer needed (Info's
		// ReplBufferBytes, block reuse) while the caller processes them.
		if sub.setHeld(off + int64(len(dst))) {
			sub.st.releaseLetGo()
		}
	}
	sub.mu.Lock()
	sub.lentAt = backlog.Cursor{}
	sub.parts = parts[:0]
	sub.mu.Unlock()
	sub.copying.Store(false)
	return dst, off, err
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
func (sub *Subscription) Offset() int64 { return sub.pos.Load() }

// Pending returns the number of bytes appended but not yet taken by Next:
// how far the subscriber is behind the end of the stream.
func (sub *Subscription) Pending() int {
	if sub.Err() != nil {
		return 0
	}
	sub.st.mu.Lock()
	defer sub.st.mu.Unlock()
	return int(max(sub.st.end-sub.pos.Load(), 0))
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
	sub.mu.Lock()
	if !sub.copying.Load() { // else Next, still copying, lets go at its end
		sub.lentAt = backlog.Cursor{} // the owner no longer uses the slices
	}
	sub.mu.Unlock()
	sub.released.Store(true)
	// The blocks only this subscription still held (a replica dropped far
	// behind holds up to its hard limit) go back now, not over the next
	// appends.
	st := sub.st
	if !st.mu.TryLock() {
		// The stream lock is busy, maybe held around this very call (an
		// OnClose callback runs under it, and may close another
		// subscription): do not wait for it here.
		st.goForget(sub)
		return
	}
	st.forgetLocked(sub)
	st.mu.Unlock()
}

// finished reports whether the stream may forget the subscription: it is
// closed, and the shared bytes it handed out are no longer in use.
func (sub *Subscription) finished() bool {
	return sub.closed.Load() && !sub.copying.Load() && (sub.released.Load() || !sub.lent.Load())
}

func (sub *Subscription) close(err error) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if sub.err != nil {
		return
	}
	sub.err = err
	sub.closed.Store(true)
	sub.cur = backlog.Cursor{} // lets go of the blocks it held
	close(sub.done)
	if sub.onClose != nil {
		sub.onClose()
	}
}
