package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/replikv/replikv"
	"github.com/replikv/replikv/resp"
)

// readBufSize is the read buffer a client starts with and returns to
// once idle; it grows on demand (see resp.NewReaderSize).
const readBufSize = 512

// client is one connection and its state.
type client struct {
	s       *Server
	id      int64
	conn    net.Conn
	in      *connReader
	rd      *resp.Reader
	r       reply
	rbuf    *[]byte // the pooled buffer r.b comes from, nil while idle
	created time.Time

	authed  bool
	multi   *multiState // non-nil between MULTI and EXEC/DISCARD
	woff    int64       // stream offset after this client's last write, for WAIT
	handoff [][]byte    // set by REPLCONF/PSYNC/SYNC: hand the connection to the store
	quit    bool        // set by QUIT
	gone    bool        // the connection ended while the client was blocked

	ps *subscriber // non-nil once the client used pub/sub (see pubsub.go)

	cs connState // WATCH, EXEC, CLIENT REPLY, MONITOR … (see conn_state.go)

	killed  atomic.Bool // closed by CLIENT KILL
	blocked atomic.Bool // in a blocking command (CLIENT LIST flag b)
	// monitoring and noEvict mirror c.cs for CLIENT LIST, which other
	// clients' goroutines run (flags O and e).
	monitoring, noEvict atomic.Bool
	// pubsubMode is set while the client has subscriptions (CLIENT LIST
	// flag P, CLIENT KILL TYPE pubsub).
	pubsubMode atomic.Bool
	// subs and psubs count its channels and patterns (CLIENT LIST).
	subs, psubs atomic.Int32
	mem         clientMem // its buffers, for CLIENT LIST
	curRaw      int       // bytes of the command running (see noteCommand)
	curArgs     [][]byte  // its arguments
	pend        pendingStats

	mu      sync.Mutex // guards what CLIENT LIST reads from other goroutines
	name    string
	lastCmd string
	lastAt  time.Time
	// clock is the last clock reading of the client's goroutine, stale
	// once it waited for input (see now).
	clock      time.Time
	clockStale bool
	inMulti    int // queued commands, -1 outside MULTI
}

func newClient(s *Server, conn net.Conn) *client {
	now := time.Now()
	c := &client{
		s:       s,
		id:      s.nextID.Add(1),
		conn:    conn,
		in:      &connReader{conn: conn, raw: rawConnOf(conn), idle: &s.idleTimeout},
		created: now,
		lastAt:  now,
		lastCmd: "NULL",
		inMulti: -1,
	}
	c.in.beforeRead = c.beforeRead
	c.r.codes = &s.cmdStats.errs
	c.rd = resp.NewReaderSize(c.in, s.cfg.Limits, readBufSize)
	c.authed = s.store.Config().Password == ""
	return c
}

// log returns the server's logger with the client's identity.
func (c *client) log() *slog.Logger {
	return c.s.log.With("client", c.id, "addr", c.conn.RemoteAddr().String())
}

// serve runs the connection: read a command, execute it, and write the
// replies once nothing more is pipelined.
func (c *client) serve() {
	handed := false
	defer func() { c.finish(handed) }()
	for {
		if c.buffered() == 0 {
			c.releaseReplies() // going idle: hold no reply buffer
		}
		// Before AUTH, Redis's low limits: a peer without the password
		// cannot make the server buffer much (see resp.SetUnauthenticated).
		c.rd.SetUnauthenticated(c.unauthenticated())
		cmd, err := c.rd.ReadCommand()
		if err != nil {
			c.readFailed(err)
			return
		}
		if !c.handle(cmd) {
			return
		}
		if c.handoff != nil {
			handed = c.handOffConn()
			return
		}
	}
}

// serve's helpers below are not inlined into it: serve's frame is on the
// stack of every idle client waiting for input, and must stay small for
// the collector to shrink an idle client's stack back after a burst (see
// TestMemoryPerIdleConnection; a copy of the store's Config in it was
// enough to keep 8 KiB stacks).

// unauthenticated reports whether the client must still authenticate.
//
//go:noinline
func (c *client) unauthenticated() bool {
	return !c.authed && c.s.store.Config().Password != ""
}

// finish releases what the client holds once serve ends; handed tells
// whether the connection now belongs to the store (a replica's).
//
//go:noinline
func (c *client) finish(handed bool) {
	c.stopMonitor()
	c.stopPubsub()
	if !handed {
		c.conn.Close()
	}
	c.publishStats()
	c.releaseReplies()
	c.s.forget(c)
}

// handOffConn hands the connection to the store, which serves it as a
// replica's; it reports whether it did.
//
//go:noinline
func (c *client) handOffConn() bool {
	if !c.s.handOff(c) {
		return false
	}
	c.log().Info("client is a replica; handing it to the store")
	c.in.handOff()
	c.s.store.ServeReplicaConn(c.conn, c.rd, c.handoff)
	return true
}

// handle runs one command read by serve and writes the replies when the
// pipeline ends; it reports false when the client is done.
//
//go:noinline
func (c *client) handle(cmd resp.Command) bool {
	if c.rbuf == nil {
		c.takeReplies()
	}
	if !cmd.Empty {
		c.noteCommand(cmd)
		c.dispatch(cmd.Args)
	}
	if c.gone {
		return false
	}
	if c.handoff != nil || c.quit || len(c.r.b) >= 64<<10 || c.buffered() == 0 {
		if err := c.flush(); err != nil {
			return false
		}
	}
	return !c.quit
}

// readFailed handles the error that ends a client's reading: bad input
// gets a protocol error reply, an idle client's timeout a log line.
func (c *client) readFailed(err error) {
	var ne net.Error
	if reply, bad := resp.ErrorReply(err); bad {
		c.log().Info("closing client after bad input", "err", err)
		if c.rbuf == nil {
			c.takeReplies()
		}
		c.r.err(reply)
		c.flush()
		return
	}
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		c.log().Debug("closing idle client", "timeout", time.Duration(c.s.idleTimeout.Load()))
	case !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed):
		c.log().Debug("client connection failed", "err", err)
	}
}

// buffered returns how many bytes the client sent that were read from
// the connection but not yet consumed as commands.
func (c *client) buffered() int { return c.rd.Buffered() + len(c.in.spill) + len(c.in.pending) }

// flush writes the replies accumulated so far to the connection.
func (c *client) flush() error {
	c.publishStats()
	c.s.stats.errorReplies.Add(c.r.errs)
	c.r.errs = 0
	if len(c.r.b) == 0 {
		return nil
	}
	if c.ps != nil { // the writer orders replies and messages
		c.ps.out.push(c.r.b)
		c.r.b = c.r.b[:0]
		return nil
	}
	_, err := c.conn.Write(c.r.b)
	c.r.b = c.r.b[:0]
	return err
}

// replyBufs holds reply buffers between bursts, so that an idle client
// holds none and a busy one does not allocate one per command.
var replyBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// maxPooledReply is the largest reply buffer put back in replyBufs; a
// larger one (a big GET) is left to the garbage collector.
const maxPooledReply = 256 << 10

// takeReplies gives the client a reply buffer from the pool.
func (c *client) takeReplies() {
	c.rbuf = replyBufs.Get().(*[]byte)
	c.r.b = (*c.rbuf)[:0]
}

// releaseReplies returns the (flushed) reply buffer to the pool.
func (c *client) releaseReplies() {
	if c.rbuf == nil {
		return
	}
	if cap(c.r.b) <= maxPooledReply {
		*c.rbuf = c.r.b[:0]
		replyBufs.Put(c.rbuf)
	}
	c.rbuf, c.r.b = nil, nil
}

// process checks and executes (or, inside MULTI, queues) one command.
func (c *client) process(args [][]byte) {
	cmd, e := lookup(c.s.commands, args)
	if e != "" {
		if cmd != nil {
			c.s.cmdStats.rejectedCall(cmd)
		}
		c.reject(e)
		return
	}
	c.mu.Lock()
	c.lastCmd, c.lastAt = cmd.name, c.now()
	c.mu.Unlock()
	if !c.authed && cmd.flags&fNoAuth == 0 && c.s.store.Config().Password != "" {
		c.s.cmdStats.rejectedCall(cmd)
		c.reject(errNoAuth)
		return
	}
	if c.s.refuseOOM(cmd, c.multi != nil && cmd.flags&fImmediate == 0) {
		c.s.cmdStats.rejectedCall(cmd)
		c.reject(errOOM)
		return
	}
	if c.subscribed() && !allowedSubscribed(cmd) {
		c.s.cmdStats.rejectedCall(cmd)
		c.reject("ERR Can't execute '" + cmd.name + "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context")
		return
	}
	if c.multi != nil && cmd.flags&fImmediate == 0 {
		c.queue(cmd, args)
		return
	}
	if e := c.s.precheck(cmd); e != "" {
		c.s.cmdStats.rejectedCall(cmd)
		c.r.err(e)
		return
	}
	c.run(cmd, args, c.s.store, false)
	if cmd.flags&fWrite != 0 {
		_, c.woff = c.s.store.Position()
	}
}

// now returns the time for the command starting: the end of the
// client's previous one when it has not waited for input since (commands
// of a pipeline follow each other), else a fresh reading. A clock reading
// is dear on some VMs: this makes one per command.
func (c *client) now() time.Time {
	if c.clockStale || c.clock.IsZero() {
		c.clock, c.clockStale = time.Now(), false
	}
	return c.clock
}

// reject answers a command with an error before running it; inside MULTI
// it also aborts the transaction (Redis EXECABORT).
func (c *client) reject(e string) {
	c.r.err(e)
	if c.multi != nil {
		c.multi.dirty = true
	}
}

// run executes cmd on db.
func (c *client) run(cmd *command, args [][]byte, db keyspace, tx bool) {
	x := call{s: c.s, c: c, cmd: cmd, args: args, db: db, tx: tx, r: &c.r}
	if c.pend.cmd != cmd {
		c.publishStats() // what this command may read (INFO) includes the calls before
	}
	errs, start := c.r.errs, c.now()
	cmd.run(&x)
	c.clock = time.Now() // the start of the next command, unless it waits for input first
	c.noteCall(cmd, c.clock.Sub(start), c.r.errs > errs)
	c.s.monitors.feed(c, cmd, args)
}

// refuseOOM does what Redis does before a command when maxmemory is set:
// before a write, the store evicts what its policy allows; a command that
// may grow the data (denyoom), or any command being queued inside MULTI
// (queuing grows memory too), is refused when memory stays above the
// limit. Inside MULTI the refusal aborts the transaction (reject).
func (s *Server) refuseOOM(cmd *command, queuing bool) bool {
	deny := queuing || cmd.flags&fDenyOOM != 0
	if cmd.flags&fWrite == 0 && !deny {
		return false
	}
	err := s.store.ReclaimMemory()
	return err != nil && deny
}

// precheck returns the error Redis gives before running cmd on this
// store: READONLY for a write on a read-only replica, MASTERDOWN for a
// keyspace command (or PING) on a replica whose link is down when it may
// not serve stale data.
func (s *Server) precheck(cmd *command) string {
	if cmd.flags&(fWrite|fData|fDenyStale) == 0 {
		return ""
	}
	link := s.store.LinkStatus()
	if link == replikv.LinkNone { // a primary
		return ""
	}
	conf := s.store.Config()
	if cmd.flags&fWrite != 0 && !conf.ReplicaWritable {
		return errReadOnly
	}
	if link != replikv.LinkUp && conf.RefuseStaleReads {
		return errMasterDown
	}
	return ""
}

// kill closes c's connection for CLIENT KILL; it reports false when c
// was already killed.
func (c *client) kill() bool {
	if !c.killed.CompareAndSwap(false, true) {
		return false
	}
	c.conn.Close()
	return true
}

// info returns what CLIENT LIST shows about c.
func (c *client) info() (name, lastCmd string, idle time.Duration, queued int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.name, c.lastCmd, time.Since(c.lastAt), c.inMulti
}

// connReader reads the connection for the client's resp.Reader.
//
// Exactly one goroutine reads the connection at a time: the client's own,
// through Read, or, while the client is blocked (see client.block), the
// pump. The pump appends what it reads to pending, after any bytes still
// pending from an earlier block, and Read returns pending bytes before
// reading the connection again, so nothing is lost or reordered.
type connReader struct {
	conn    net.Conn
	raw     syscall.RawConn // conn's, for tryRead; nil if it has none
	full    bool            // the last read filled the buffer it was given
	idle    *atomic.Int64   // the server's idle timeout in nanoseconds, 0 for none; nil for no timeout at all
	armed   bool            // a read deadline for the idle timeout is set
	pending []byte          // bytes the pump read, not yet returned
	// spill holds what a read into a buffer of spillBufs brought beyond
	// the reader's buffer (see Read): those bytes come before pending's.
	spill    []byte
	spillBuf *[spillSize]byte // the buffer spill is in, returned once spill is used up
	spillEnd bool             // that read filled its buffer: more may be waiting
	err      error            // what ended the pump's reading; returned once pending is used up

	// beforeRead writes the replies not yet sent before Read waits on
	// the connection, as Redis answers what it has read so far even when
	// part of the next command is in: a client sending one command and
	// the start of a large one gets the first reply at once.
	beforeRead func() error
}

// Read implements io.Reader.
func (r *connReader) Read(p []byte) (int, error) {
	if len(r.spill) > 0 {
		n := copy(p, r.spill)
		r.spill = r.spill[n:]
		if len(r.spill) == 0 {
			spillBufs.Put(r.spillBuf)
			r.spill, r.spillBuf = nil, nil
			r.full = r.spillEnd
		}
		return n, nil
	}
	if len(r.pending) > 0 {
		n := copy(p, r.pending)
		r.pending = r.pending[n:]
		if len(r.pending) == 0 {
			r.pending = nil
		}
		return n, nil
	}
	if r.err != nil {
		return 0, r.err
	}
	// A read that filled its buffer was most likely cut short of what the
	// peer sent (a pipeline larger than the small idle buffer): look for
	// the rest first, without waiting, so the replies computed so far are
	// not written before it (one write per pipeline, as Redis).
	if r.full && r.raw != nil {
		r.full = false
		if n, err, ok := tryRead(r.raw, p); ok {
			r.full = n == len(p)
			return n, err
		}
	}
	if r.beforeRead != nil {
		if err := r.beforeRead(); err != nil {
			return 0, err
		}
	}
	if r.idle != nil {
		if d := r.idle.Load(); d > 0 {
			r.conn.SetReadDeadline(time.Now().Add(time.Duration(d)))
			r.armed = true
		} else {
			r.disarm()
		}
	}
	if r.raw != nil && len(p) < spillSize {
		// Read into a large buffer, so that a pipeline larger than p
		// takes one system call; what does not fit in p waits in spill.
		buf, n, err := waitRead(r.raw)
		if err != nil {
			return 0, err
		}
		c := copy(p, buf[:n])
		if c < n {
			r.spill, r.spillBuf, r.spillEnd = buf[c:n], buf, n == spillSize
			r.full = true
		} else {
			spillBufs.Put(buf)
			r.full = false
		}
		return c, nil
	}
	n, err := r.conn.Read(p)
	r.full = n == len(p) && len(p) > 0
	return n, err
}

// spillSize is the size of the buffers a client reads into when its own
// is small: as Redis's reads (PROTO_IOBUF_LEN).
const spillSize = 16 << 10

// spillBufs holds the buffers of connReader.Read, shared by all clients:
// a client holds one only from a read until its bytes are consumed.
var spillBufs = sync.Pool{New: func() any { return new([spillSize]byte) }}

// disarm clears the idle timeout's read deadline.
func (r *connReader) disarm() {
	if r.armed {
		r.conn.SetReadDeadline(time.Time{})
		r.armed = false
	}
}

// handOff stops the idle timeout and beforeRead for good: the connection
// is a replica's now, and the store manages its deadlines and writes.
func (r *connReader) handOff() {
	r.disarm()
	r.idle = nil
	r.beforeRead = nil
}

// pump reads the connection until a read deadline stops it (client.block
// sets one to end the block) or the connection ends, which it records in
// err before calling lost. It stops with errBlockedInput, closing the
// connection, once limit bytes are pending.
func (r *connReader) pump(limit int, lost func()) {
	for {
		if len(r.pending) >= limit {
			r.err = errBlockedInput
			r.conn.Close()
			lost()
			return
		}
		if cap(r.pending)-len(r.pending) < 512 {
			r.pending = slices.Grow(r.pending, min(max(4096, len(r.pending)), limit-len(r.pending)))
		}
		n, err := r.conn.Read(r.pending[len(r.pending):cap(r.pending)])
		r.pending = r.pending[:len(r.pending)+n]
		if err != nil {
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				r.err = err
				lost()
			}
			return
		}
	}
}

// errBlockedInput ends a client that sent more than the server buffers
// while it is blocked.
var errBlockedInput = errors.New("server: too much input while blocked")

// block runs wait, the waiting part of a blocking command, with a
// context that ends when the client disconnects or is killed, or the
// server closes. It is the one way a command blocks:
//
//   - The replies of the commands before are flushed first, as Redis
//     sends them at once.
//   - While wait runs, the pump owns the connection's read side: it keeps
//     reading (so a disconnect is seen even with commands pipelined) and
//     keeps every byte for the commands after, in order.
//   - When wait returns, the pump is stopped and waited for before the
//     client reads again. If the connection ended meanwhile, c.gone is
//     set and the client stops (Redis frees a blocked client that
//     disconnects, with what it had pipelined).
func (c *client) block(wait func(ctx context.Context)) {
	if c.cs.inExec { // Redis's CLIENT_DENY_BLOCKING: answer at once
		ctx, cancel := context.WithCancel(c.s.ctx)
		cancel()
		wait(ctx)
		return
	}
	if err := c.flush(); err != nil {
		c.gone = true
		return
	}
	c.cs.mark = 0 // the replies before are sent
	c.noteRunning()
	ctx, cancel := context.WithCancel(c.s.ctx)
	defer cancel()
	c.in.disarm() // Redis does not time out a blocked client for idleness
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.in.pump(c.s.blockedInputLimit, cancel)
	}()
	c.s.stats.blocked.Add(1)
	c.blocked.Store(true)
	wait(ctx)
	c.blocked.Store(false)
	c.s.stats.blocked.Add(-1)
	c.conn.SetReadDeadline(time.Unix(1, 0))
	<-done
	c.conn.SetReadDeadline(time.Time{})
	if c.in.err != nil {
		c.gone = true
		if errors.Is(c.in.err, errBlockedInput) {
			c.log().Info("closing client: too much input while blocked", "limit", c.s.blockedInputLimit)
		}
	}
}
