package transport

import (
	"encoding/binary"
	"errors"
	"hash/fnv"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"time"
)

// direction is one of the two flows of a connection, seen from one end.
type direction int

const (
	outgoing direction = iota // bytes this end writes
	incoming                  // bytes this end reads
)

// budget is how many more bytes a flow may carry before the connection is
// cut.
type budget struct {
	gen  uint64 // the CutAfter rule it was set from; 0 for none
	left int64  // bytes left; negative for no limit
}

// faultConn is one end of a connection wrapped by a Faults controller.
type faultConn struct {
	net.Conn
	f          *Faults
	self, peer string  // node names; peer is "" when unknown
	accepted   bool    // accepted by a wrapped listener
	key        addrKey // (local, remote) addresses

	rmu, wmu sync.Mutex // one read and one write at a time, keeping delays in order

	done     chan struct{} // closed once the end is closed or cut
	doneOnce sync.Once

	dmu      sync.Mutex
	deadline [2]time.Time // by direction
	moved    broadcast    // a deadline changed

	// Guarded by f.mu.
	passive bool // the dialing end applies the faults; pass everything through
	closed  bool
	cutErr  error
	rnd     *rand.Rand
	budgets [2]budget // by direction
}

// addrKey identifies a connection by its two addresses.
type addrKey struct{ local, remote string }

func connKey(c net.Conn) addrKey {
	var k addrKey
	if a := c.LocalAddr(); a != nil {
		k.local = a.Network() + "/" + a.String()
	}
	if a := c.RemoteAddr(); a != nil {
		k.remote = a.Network() + "/" + a.String()
	}
	return k
}

// wrap registers a new end. The dialing end is named (from, to); an
// accepted end is named (listener name, unknown) until it is matched with a
// dialing end of the same controller.
func (f *Faults) wrap(c net.Conn, self, peer string, accepted bool) *faultConn {
	fc := &faultConn{Conn: c, f: f, self: self, peer: peer, accepted: accepted,
		key: connKey(c), done: make(chan struct{})}
	fc.budgets[outgoing].left, fc.budgets[incoming].left = -1, -1
	f.mu.Lock()
	defer f.mu.Unlock()
	k := flow{self, peer}
	fc.rnd = rand.New(rand.NewPCG(uint64(f.seed), streamID(self, peer, f.opened[k])))
	f.opened[k]++
	f.live[fc] = true
	if accepted {
		f.resolveLocked(fc)
	} else {
		f.dialed[fc.key] = fc
	}
	return fc
}

// streamID derives a connection's random stream from its node names and
// how many connections between them came before it.
func streamID(self, peer string, n uint64) uint64 {
	h := fnv.New64a()
	h.Write([]byte(self))
	h.Write([]byte{0})
	h.Write([]byte(peer))
	h.Write(binary.BigEndian.AppendUint64(nil, n))
	return h.Sum64()
}

// resolveLocked makes an accepted end passive once the dialing end of the
// same connection is known to the controller.
func (f *Faults) resolveLocked(c *faultConn) {
	if !c.accepted || c.passive {
		return
	}
	k := addrKey{local: c.key.remote, remote: c.key.local}
	if _, ok := f.dialed[k]; ok {
		c.passive = true
		delete(f.live, c)
	}
}

// markCutLocked records that the end is cut with err and reports whether it
// was alive. The caller severs the transport afterwards, outside f.mu.
func (c *faultConn) markCutLocked(err error) bool {
	if c.closed || c.cutErr != nil {
		return false
	}
	c.cutErr = err
	c.forgetLocked()
	c.doneOnce.Do(func() { close(c.done) })
	return true
}

func (c *faultConn) forgetLocked() {
	delete(c.f.live, c)
	if c.f.dialed[c.key] == c {
		delete(c.f.dialed, c.key)
	}
}

// cut kills the connection with err, unless it is closed or cut already.
func (c *faultConn) cut(err error) {
	c.f.mu.Lock()
	first := c.markCutLocked(err)
	c.f.mu.Unlock()
	if first {
		sever(c.Conn, err)
	}
}

// action is what an end does for one read or write.
type action struct {
	delay time.Duration
	left  int64 // byte budget left; negative for none
}

// gate decides how the next read or write in dir proceeds, waiting while
// the flow is stalled. It fails if the end is closed or cut, its deadline
// passes, or a partition now separates the nodes.
func (c *faultConn) gate(dir direction) (action, error) {
	f := c.f
	for {
		f.mu.Lock()
		if err := c.deadErrLocked(); err != nil {
			f.mu.Unlock()
			return action{}, err
		}
		f.resolveLocked(c)
		if c.passive {
			f.mu.Unlock()
			return action{left: -1}, nil
		}
		if f.partitionedLocked(c.self, c.peer) {
			c.markCutLocked(errPartitionCut)
			f.mu.Unlock()
			sever(c.Conn, errPartitionCut)
			return action{}, errPartitionCut
		}
		from, to := c.self, c.peer
		if dir == incoming {
			from, to = to, from
		}
		r := f.flowLocked(from, to)
		b := &c.budgets[dir]
		if r.cutGen != b.gen {
			b.gen, b.left = r.cutGen, -1
			switch {
			case r.cutGen == 0:
			case r.cutRandom:
				b.left = 1 + c.rnd.Int64N(r.cutN)
			default:
				b.left = r.cutN
			}
		}
		if !r.stalled {
			a := action{delay: r.delay, left: b.left}
			if r.jitter > 0 {
				a.delay += time.Duration(c.rnd.Int64N(int64(r.jitter)))
			}
			f.mu.Unlock()
			return a, nil
		}
		wake := f.changed.wait()
		f.mu.Unlock()
		if err := c.wait(dir, wake, 0); err != nil {
			return action{}, err
		}
	}
}

// deadErrLocked returns why the end can do no more I/O, if it cannot.
func (c *faultConn) deadErrLocked() error {
	switch {
	case c.cutErr != nil:
		return c.cutErr
	case c.closed:
		return net.ErrClosed
	}
	return nil
}

// spend takes n bytes from the budget of dir and reports whether it ran
// out.
func (c *faultConn) spend(dir direction, n int) bool {
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	b := &c.budgets[dir]
	if b.left < 0 || n == 0 {
		return false
	}
	b.left = max(b.left-int64(n), 0)
	return b.left == 0
}

// wait blocks until wake is closed, d elapses (when positive), or a
// deadline moves, returning nil; or until the end dies or the deadline of
// dir passes, returning why.
func (c *faultConn) wait(dir direction, wake <-chan struct{}, d time.Duration) error {
	c.dmu.Lock()
	dl := c.deadline[dir]
	moved := c.moved.wait()
	c.dmu.Unlock()
	var expire, elapse <-chan time.Time
	if !dl.IsZero() {
		left := time.Until(dl)
		if left <= 0 {
			return os.ErrDeadlineExceeded
		}
		t := time.NewTimer(left)
		defer t.Stop()
		expire = t.C
	}
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		elapse = t.C
	}
	select {
	case <-wake:
	case <-elapse:
	case <-moved:
	case <-expire:
		return os.ErrDeadlineExceeded
	case <-c.done:
		c.f.mu.Lock()
		defer c.f.mu.Unlock()
		return c.deadErrLocked()
	}
	return nil
}

// sleep waits for d, failing early if the end dies or dir's deadline
// passes.
func (c *faultConn) sleep(dir direction, d time.Duration) error {
	until := time.Now().Add(d)
	for left := d; left > 0; left = time.Until(until) {
		if err := c.wait(dir, nil, left); err != nil {
			return err
		}
	}
	return nil
}

// Write passes b on through the flow's faults: it waits while the flow is
// stalled, for the flow's delay, and cuts the connection when the flow's
// byte budget runs out (writing exactly the budget first).
func (c *faultConn) Write(b []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	total := 0
	for {
		a, err := c.gate(outgoing)
		if err != nil {
			return total, c.opError("write", err)
		}
		if a.delay > 0 {
			if err := c.sleep(outgoing, a.delay); err != nil {
				return total, c.opError("write", err)
			}
		}
		if a.left == 0 {
			c.cut(ErrCut)
			return total, c.opError("write", ErrCut)
		}
		chunk := b[total:]
		if a.left > 0 && int64(len(chunk)) > a.left {
			chunk = chunk[:a.left]
		}
		n, err := c.Conn.Write(chunk)
		total += n
		if c.spend(outgoing, n) {
			c.cut(ErrCut)
		}
		if err != nil {
			return total, c.fixError(err)
		}
		if total == len(b) {
			return total, nil
		}
	}
}

// Read reads through the flow's faults: it waits while the flow is stalled,
// holds what it read for the flow's delay, and reads no further than the
// flow's byte budget, cutting the connection when it runs out.
func (c *faultConn) Read(b []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	a, err := c.gate(incoming)
	if err != nil {
		return 0, c.opError("read", err)
	}
	if a.left == 0 {
		c.cut(ErrCut)
		return 0, c.opError("read", ErrCut)
	}
	if a.left > 0 && int64(len(b)) > a.left {
		b = b[:a.left]
	}
	n, err := c.Conn.Read(b)
	if c.spend(incoming, n) {
		c.cut(ErrCut)
	}
	if err != nil {
		return n, c.fixError(err)
	}
	if n > 0 && a.delay > 0 {
		if err := c.sleep(incoming, a.delay); err != nil {
			return n, c.opError("read", err)
		}
	}
	return n, nil
}

// fixError reports a transport error as the cut when the end was cut (the
// transport's own error, such as a reset, would hide why).
func (c *faultConn) fixError(err error) error {
	c.f.mu.Lock()
	cut := c.cutErr
	c.f.mu.Unlock()
	if cut != nil {
		op := "read"
		if oe, ok := err.(*net.OpError); ok {
			op = oe.Op
		}
		return c.opError(op, cut)
	}
	return err
}

func (c *faultConn) opError(op string, err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) {
		return err
	}
	netw := "fault"
	if a := c.LocalAddr(); a != nil {
		netw = a.Network()
	}
	return &net.OpError{Op: op, Net: netw, Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}

// Close closes the connection; blocked reads and writes return.
func (c *faultConn) Close() error {
	c.f.mu.Lock()
	wasCut := c.cutErr != nil
	first := !c.closed
	c.closed = true
	c.forgetLocked()
	c.f.mu.Unlock()
	c.doneOnce.Do(func() { close(c.done) })
	err := c.Conn.Close()
	if !first {
		return c.opError("close", net.ErrClosed)
	}
	if wasCut {
		return nil // the cut closed or broke the transport already
	}
	return err
}

// CloseWrite half-closes the connection if the transport supports it.
func (c *faultConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return c.opError("close", errors.ErrUnsupported)
}

// SetDeadline sets the read and write deadlines.
func (c *faultConn) SetDeadline(t time.Time) error {
	c.setDeadline(incoming, t)
	c.setDeadline(outgoing, t)
	return c.Conn.SetDeadline(t)
}

// SetReadDeadline sets the read deadline, which also bounds stalls and
// delays of reads.
func (c *faultConn) SetReadDeadline(t time.Time) error {
	c.setDeadline(incoming, t)
	return c.Conn.SetReadDeadline(t)
}

// SetWriteDeadline sets the write deadline, which also bounds stalls and
// delays of writes.
func (c *faultConn) SetWriteDeadline(t time.Time) error {
	c.setDeadline(outgoing, t)
	return c.Conn.SetWriteDeadline(t)
}

func (c *faultConn) setDeadline(dir direction, t time.Time) {
	c.dmu.Lock()
	c.deadline[dir] = t
	c.moved.signal()
	c.dmu.Unlock()
}
