package transport

import (
	"context"
	"fmt"
	"net"
	"sync"
)

// memListener accepts connections dialed to one name on a MemNetwork.
type memListener struct {
	net  *MemNetwork
	name string

	mu     sync.Mutex
	queue  []*memLink // dialed, not yet accepted
	closed bool
	wake   broadcast // state changes
}

// Accept waits for the next dialed connection and returns its server end.
// After Close it fails with an error wrapping net.ErrClosed.
func (l *memListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	for !l.closed && len(l.queue) == 0 {
		wake := l.wake.wait()
		l.mu.Unlock()
		<-wake
		l.mu.Lock()
	}
	defer l.mu.Unlock()
	if l.closed {
		return nil, &net.OpError{Op: "accept", Net: "mem", Addr: l.Addr(), Err: net.ErrClosed}
	}
	link := l.queue[0]
	l.queue[0] = nil
	l.queue = l.queue[1:]
	l.wake.signal()
	return link.server, nil
}

// Close stops the listener and frees its name. Connections dialed but not
// yet accepted are cut.
func (l *memListener) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return &net.OpError{Op: "close", Net: "mem", Addr: l.Addr(), Err: net.ErrClosed}
	}
	l.closed = true
	queued := l.queue
	l.queue = nil
	l.wake.signal()
	l.mu.Unlock()
	l.net.unlisten(l.name, l)
	for _, link := range queued {
		link.cut(fmt.Errorf("%w: listener %q closed before accepting", ErrCut, l.name))
	}
	return nil
}

// Addr returns the listener's name as a net.Addr with network "mem".
func (l *memListener) Addr() net.Addr { return memAddr(l.name) }

// enqueue hands a dialed link to Accept, waiting while the backlog is full.
func (l *memListener) enqueue(ctx context.Context, link *memLink) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for {
		if l.closed || !l.net.track(link, l) {
			return fmt.Errorf("%w: listener %q closed", ErrConnRefused, l.name)
		}
		if len(l.queue) < memBacklog {
			l.queue = append(l.queue, link)
			l.wake.signal()
			return nil
		}
		l.net.forget(link)
		wake := l.wake.wait()
		l.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			l.mu.Lock()
			return ctx.Err()
		}
		l.mu.Lock()
	}
}
