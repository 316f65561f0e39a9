package server

import (
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultMonitorBufferLimit is the default of Config.MonitorBufferLimit.
const DefaultMonitorBufferLimit = 32 << 20

// monitorSet is the server's MONITOR clients.
type monitorSet struct {
	n    atomic.Int32 // len(list), read without the lock by feed
	mu   sync.Mutex
	list []*monitor
}

// monitor is one MONITOR client's feed: lines wait in buf for the
// monitor's writer goroutine, which writes them to the connection. A
// monitor whose pending lines pass the server's limit is dropped (its
// connection closed), as Redis drops a client over its output buffer
// limit.
type monitor struct {
	c     *client
	limit int
	mu    sync.Mutex
	buf   []byte
	wake  chan struct{} // a line is pending
	done  chan struct{} // closed when the client stops monitoring
	drop  bool          // closed for being too slow
}

// monitorCmd is MONITOR: from now on the client receives a line for every
// command the server runs, and is not closed for idleness (Config's
// IdleTimeout). Inside EXEC it is refused, as in Redis.
func monitorCmd(x *call) {
	if x.c.cs.inExec {
		x.r.err("ERR MONITOR isn't allowed for DENY BLOCKING client")
		return
	}
	if x.c.cs.mon != nil {
		x.r.ok()
		return
	}
	// A client that subscribed before (not now: MONITOR is refused in
	// subscribed mode) still has its pub/sub writer, through which flush
	// would only queue +OK: the monitor's writer could then write lines
	// before it. End it first; it writes what it holds before it stops.
	x.c.stopPubsub()
	// The monitor is registered before +OK goes out, as in Redis: a
	// command another client runs once this client has read +OK is
	// shown. Lines queue in m.buf until the writer goroutine starts,
	// after +OK is written to the connection, so +OK still comes first.
	m := &monitor{c: x.c, limit: x.s.monitorLimit(), wake: make(chan struct{}, 1), done: make(chan struct{})}
	x.c.cs.mon = m
	x.c.monitoring.Store(true)
	x.c.in.idle = nil // like a replica, a monitor is never idle
	x.c.in.disarm()
	x.s.monitors.add(x.s, m)
	if !x.c.cs.quiet {
		x.r.ok()
	}
	if err := x.c.flush(); err != nil {
		x.c.stopMonitor()
		return
	}
	x.c.cs.mark = 0 // the replies before are sent
	x.s.wg.Add(1)
	go func() {
		defer x.s.wg.Done()
		m.write()
	}()
}

// monitorLimit returns Config.MonitorBufferLimit or its default.
func (s *Server) monitorLimit() int {
	if s.cfg.MonitorBufferLimit > 0 {
		return s.cfg.MonitorBufferLimit
	}
	return DefaultMonitorBufferLimit
}

// stopMonitor ends the client's MONITOR, if any (RESET, disconnect).
func (c *client) stopMonitor() {
	m := c.cs.mon
	if m == nil {
		return
	}
	c.cs.mon = nil
	c.monitoring.Store(false)
	c.in.idle = &c.s.idleTimeout
	c.s.monitors.remove(c.s, m)
	close(m.done)
}

// add registers a monitor; the first one starts the replica feed.
func (ms *monitorSet) add(s *Server, m *monitor) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	ms.list = append(ms.list, m)
	ms.n.Store(int32(len(ms.list)))
	if len(ms.list) == 1 {
		s.feedUsers(1)
	}
}

func (ms *monitorSet) remove(s *Server, m *monitor) {
	ms.mu.Lock()
	// A new slice: feedLine ranges over the old one without the lock.
	ms.list = slices.DeleteFunc(slices.Clone(ms.list), func(o *monitor) bool { return o == m })
	ms.n.Store(int32(len(ms.list)))
	if len(ms.list) == 0 {
		s.feedUsers(-1)
	}
	ms.mu.Unlock()
}

// feed shows a command c ran to every monitor, as Redis does: after it
// ran, unless it is administrative (CONFIG, CLIENT KILL, REPLICAOF,
// MONITOR …), with AUTH's and HELLO's credentials redacted.
func (ms *monitorSet) feed(c *client, cmd *command, args [][]byte) {
	if ms.n.Load() == 0 || cmd.flags&fAdmin != 0 {
		return
	}
	ms.feedLine(monitorLine(nil, time.Now(), c.s.store.Config().DB, peerID(c.conn), redact(cmd, args)))
}

// feedLine sends one line to every monitor.
func (ms *monitorSet) feedLine(line []byte) {
	ms.mu.Lock()
	list := ms.list
	ms.mu.Unlock()
	for _, m := range list {
		m.push(line)
	}
}

// push queues line, or drops the monitor when it would pass its limit.
func (m *monitor) push(line []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.drop {
		return
	}
	if len(m.buf)+len(line) > m.limit {
		m.drop = true
		m.buf = nil
		m.c.log().Info("closing monitor: too many pending lines", "limit", m.limit)
		m.c.conn.Close()
		return
	}
	m.buf = append(m.buf, line...)
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// write is the monitor's writer goroutine: it writes pending lines until
// the client stops monitoring or the connection fails.
func (m *monitor) write() {
	var spare []byte
	for {
		select {
		case <-m.wake:
		case <-m.done:
			return
		}
		m.mu.Lock()
		b := m.buf
		m.buf = spare[:0]
		m.mu.Unlock()
		if _, err := m.c.conn.Write(b); err != nil {
			return
		}
		if cap(b) <= 64<<10 {
			spare = b
		} else {
			spare = nil
		}
	}
}

// redact returns args with the credentials Redis hides from MONITOR
// replaced: every argument of AUTH, and the user and password of HELLO's
// AUTH option.
func redact(cmd *command, args [][]byte) [][]byte {
	switch cmd.name {
	case "auth":
		out := make([][]byte, len(args))
		out[0] = args[0]
		for i := 1; i < len(args); i++ {
			out[i] = redacted
		}
		return out
	case "hello":
		out := append([][]byte(nil), args...)
		for i := 2; i+2 < len(out); i++ {
			if is(out[i], "auth") {
				out[i+1], out[i+2] = redacted, redacted
				i += 2
			} else if is(out[i], "setname") {
				i++
			}
		}
		return out
	}
	return args
}

var redacted = []byte("(redacted)")

// peerID is the client's address as Redis shows it: ip:port, or
// unix:path for a Unix socket.
func peerID(conn net.Conn) string {
	switch a := conn.RemoteAddr().(type) {
	case *net.TCPAddr:
		return a.String()
	case *net.UnixAddr:
		return "unix:" + conn.LocalAddr().String()
	case nil:
		return "?"
	default:
		return a.String()
	}
}

// monitorLine appends a MONITOR line to dst: +<unix seconds>.<micros>
// [<db> <addr>] and the arguments quoted as Redis's sdscatrepr does.
func monitorLine(dst []byte, t time.Time, db int, addr string, args [][]byte) []byte {
	us := t.UnixMicro()
	dst = append(dst, '+')
	dst = strconv.AppendInt(dst, us/1e6, 10)
	dst = append(dst, '.')
	frac := strconv.AppendInt(nil, us%1e6+1e6, 10) // 1xxxxxx: six digits with leading zeros
	dst = append(dst, frac[1:]...)
	dst = append(dst, " ["...)
	dst = strconv.AppendInt(dst, int64(db), 10)
	dst = append(dst, ' ')
	dst = append(dst, addr...)
	dst = append(dst, "] "...)
	for i, a := range args {
		if i > 0 {
			dst = append(dst, ' ')
		}
		dst = appendRepr(dst, a)
	}
	return append(dst, "\r\n"...)
}

// appendRepr appends b quoted: printable ASCII as is, but for \ and "
// which are escaped, \n \r \t \a \b by name, other bytes as \xHH.
func appendRepr(dst, b []byte) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for _, ch := range b {
		switch ch {
		case '\\', '"':
			dst = append(dst, '\\', ch)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		case '\a':
			dst = append(dst, '\\', 'a')
		case '\b':
			dst = append(dst, '\\', 'b')
		default:
			if ch >= ' ' && ch <= '~' {
				dst = append(dst, ch)
			} else {
				dst = append(dst, '\\', 'x', hex[ch>>4], hex[ch&15])
			}
		}
	}
	return append(dst, '"')
}
