package transport

import (
	"io"
	"net"
	"sync"
	"time"
)

// memAddr is the address of an endpoint on a MemNetwork.
type memAddr string

// Network returns "mem".
func (memAddr) Network() string { return "mem" }

// String returns the endpoint's name.
func (a memAddr) String() string { return string(a) }

// memConn is one end of a connection on a MemNetwork. It implements
// net.Conn plus CloseRead and CloseWrite, like *net.TCPConn.
type memConn struct {
	link          *memLink
	in, out       *pipe // bytes to read, bytes written
	local, remote memAddr
	rdl, wdl      *deadline
	closeOnce     sync.Once
}

// Read reads buffered bytes sent by the peer, waiting for some if none are
// buffered. After the peer closes (or half-closes) and the buffer drains it
// returns io.EOF.
func (c *memConn) Read(b []byte) (int, error) {
	n, err := c.in.read(b, c.rdl)
	if err != nil && err != io.EOF {
		err = c.opError("read", err)
	}
	return n, err
}

// Write copies b into the connection's buffer toward the peer, blocking
// while the buffer is full. The caller may reuse b once Write returns.
func (c *memConn) Write(b []byte) (int, error) {
	n, err := c.out.write(b, c.wdl)
	if err != nil {
		err = c.opError("write", err)
	}
	return n, err
}

// Close closes both directions: the peer reads what was already written,
// then io.EOF, and its writes fail. Blocked calls on this end return
// net.ErrClosed.
func (c *memConn) Close() error {
	closed := false
	c.closeOnce.Do(func() {
		closed = true
		c.out.closeWrite()
		c.in.closeRead()
		c.rdl.stop()
		c.wdl.stop()
		c.link.endClosed()
	})
	if !closed {
		return c.opError("close", net.ErrClosed)
	}
	return nil
}

// CloseWrite closes the sending direction only: the peer reads the rest of
// the data, then io.EOF, while this end may keep reading.
func (c *memConn) CloseWrite() error {
	c.out.closeWrite()
	return nil
}

// CloseRead closes the receiving direction only: buffered and future bytes
// from the peer are dropped and the peer's writes fail.
func (c *memConn) CloseRead() error {
	c.in.closeRead()
	return nil
}

// LocalAddr returns this end's address.
func (c *memConn) LocalAddr() net.Addr { return c.local }

// RemoteAddr returns the peer's address.
func (c *memConn) RemoteAddr() net.Addr { return c.remote }

// SetDeadline sets both the read and the write deadline.
func (c *memConn) SetDeadline(t time.Time) error {
	c.rdl.set(t)
	c.wdl.set(t)
	return nil
}

// SetReadDeadline sets the time after which Read fails with an error
// wrapping os.ErrDeadlineExceeded; the zero time clears it.
func (c *memConn) SetReadDeadline(t time.Time) error {
	c.rdl.set(t)
	return nil
}

// SetWriteDeadline sets the time after which Write fails with an error
// wrapping os.ErrDeadlineExceeded; the zero time clears it.
func (c *memConn) SetWriteDeadline(t time.Time) error {
	c.wdl.set(t)
	return nil
}

func (c *memConn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: "mem", Source: c.local, Addr: c.remote, Err: err}
}

// memLink is a connection between two memConns, registered with the network
// until both ends are closed or it is cut.
type memLink struct {
	net    *MemNetwork
	name   string // the listener's name
	client *memConn
	server *memConn

	mu   sync.Mutex
	open int // ends not yet closed
	dead bool
}

// newMemLink returns a connected pair of conns between client and server.
func newMemLink(n *MemNetwork, name string, client, server memAddr, limit int) *memLink {
	up, down := newPipe(limit), newPipe(limit)
	l := &memLink{net: n, name: name, open: 2}
	l.client = &memConn{link: l, in: down, out: up, local: client, remote: server,
		rdl: newDeadline(), wdl: newDeadline()}
	l.server = &memConn{link: l, in: up, out: down, local: server, remote: client,
		rdl: newDeadline(), wdl: newDeadline()}
	return l
}

// endClosed records that one end was closed; the link leaves the network's
// registry once both are.
func (l *memLink) endClosed() {
	l.mu.Lock()
	l.open--
	gone := l.open == 0 && !l.dead
	if gone {
		l.dead = true
	}
	l.mu.Unlock()
	if gone {
		l.net.forget(l)
	}
}

// cut kills both directions with err, as if the link had died, and reports
// whether the link was still alive. Bytes already buffered are still
// delivered before the error.
func (l *memLink) cut(err error) bool {
	l.mu.Lock()
	alive := !l.dead
	l.dead = true
	l.mu.Unlock()
	l.client.in.kill(err)
	l.client.out.kill(err)
	if alive {
		l.net.forget(l)
	}
	return alive
}
