package transport

import (
	"io"
	"net"
	"os"
	"sync"
	"syscall"
)

// pipe is one direction of a memory connection: a bounded byte buffer with
// one writing end and one reading end. Writers block while it is full and
// readers while it is empty; no goroutine runs on its behalf.
type pipe struct {
	mu    sync.Mutex
	buf   []byte // unread bytes are buf[r:]
	r     int
	limit int       // most unread bytes held at once
	wake  broadcast // state changes

	wclosed bool  // writing end closed: reader gets io.EOF after the data
	rclosed bool  // reading end closed: writer gets EPIPE, data dropped
	cut     error // link died: writer fails at once, reader after the data
}

func newPipe(limit int) *pipe { return &pipe{limit: limit} }

func (p *pipe) unread() int { return len(p.buf) - p.r }

// read copies buffered bytes into b, waiting for some to arrive. The reading
// end's deadline is dl.
func (p *pipe) read(b []byte, dl *deadline) (int, error) {
	for {
		p.mu.Lock()
		switch {
		case p.rclosed:
			p.mu.Unlock()
			return 0, net.ErrClosed
		case isClosed(dl.done()):
			p.mu.Unlock()
			return 0, os.ErrDeadlineExceeded
		case len(b) == 0:
			p.mu.Unlock()
			return 0, nil
		case p.unread() > 0:
			n := copy(b, p.buf[p.r:])
			p.r += n
			if p.r == len(p.buf) {
				p.buf, p.r = p.buf[:0], 0
			}
			p.wake.signal()
			p.mu.Unlock()
			return n, nil
		case p.cut != nil:
			err := p.cut
			p.mu.Unlock()
			return 0, err
		case p.wclosed:
			p.mu.Unlock()
			return 0, io.EOF
		}
		wake := p.wake.wait()
		p.mu.Unlock()
		select {
		case <-wake:
		case <-dl.done():
		}
	}
}

// write copies all of b into the buffer, waiting for room as needed. It
// returns early, with the count copied so far, if the pipe is closed or cut
// or the writing end's deadline dl passes.
func (p *pipe) write(b []byte, dl *deadline) (int, error) {
	n := 0
	for {
		p.mu.Lock()
		switch {
		case n > 0 && n == len(b):
			// Everything was delivered: a close that follows does not
			// make it a failure (TCP would report success too).
			p.mu.Unlock()
			return n, nil
		case p.wclosed:
			p.mu.Unlock()
			return n, net.ErrClosed
		case p.cut != nil:
			err := p.cut
			p.mu.Unlock()
			return n, err
		case p.rclosed:
			p.mu.Unlock()
			return n, syscall.EPIPE
		case isClosed(dl.done()):
			p.mu.Unlock()
			return n, os.ErrDeadlineExceeded
		case n == len(b):
			p.mu.Unlock()
			return n, nil
		}
		if room := p.limit - p.unread(); room > 0 {
			k := min(room, len(b)-n)
			p.push(b[n : n+k])
			n += k
			p.wake.signal()
			p.mu.Unlock()
			continue
		}
		wake := p.wake.wait()
		p.mu.Unlock()
		select {
		case <-wake:
		case <-dl.done():
		}
	}
}

// push appends b to the unread bytes, compacting or growing the buffer (up
// to about limit bytes) as needed. p.mu is held and b fits.
func (p *pipe) push(b []byte) {
	if len(p.buf)+len(b) > cap(p.buf) && p.r > 0 {
		k := copy(p.buf, p.buf[p.r:])
		p.buf, p.r = p.buf[:k], 0
	}
	if need := len(p.buf) + len(b); need > cap(p.buf) {
		size := min(max(2*cap(p.buf), need, 4096), max(p.limit, need))
		grown := make([]byte, len(p.buf), size)
		copy(grown, p.buf)
		p.buf = grown
	}
	p.buf = append(p.buf, b...)
}

// closeWrite closes the writing end: the reader drains then sees io.EOF.
func (p *pipe) closeWrite() {
	p.mu.Lock()
	p.wclosed = true
	p.wake.signal()
	p.mu.Unlock()
}

// closeRead closes the reading end: buffered bytes are dropped and the
// writer fails.
func (p *pipe) closeRead() {
	p.mu.Lock()
	p.rclosed = true
	p.buf, p.r = nil, 0
	p.wake.signal()
	p.mu.Unlock()
}

// kill marks the link dead with err, unless it is already.
func (p *pipe) kill(err error) {
	p.mu.Lock()
	if p.cut == nil {
		p.cut = err
	}
	p.wake.signal()
	p.mu.Unlock()
}
