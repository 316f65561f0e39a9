package server

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/replikv/replikv"
	"github.com/replikv/replikv/resp"
)

// client is one connection and its state.
type client struct {
	s       *Server
	id      int64
	conn    net.Conn
	in      *connReader
	rd      *resp.Reader
	w       *resp.Writer
	r       reply
	created time.Time

	authed  bool
	multi   *multiState // non-nil between MULTI and EXEC/DISCARD
	woff    int64       // stream offset after this client's last write, for WAIT
	handoff [][]byte    // set by REPLCONF/PSYNC/SYNC: hand the connection to the store
	quit    bool        // set by QUIT

	killed atomic.Bool // closed by CLIENT KILL

	mu      sync.Mutex // guards what CLIENT LIST reads from other goroutines
	name    string
	lastCmd string
	lastAt  time.Time
	inMulti int // queued commands, -1 outside MULTI
}

func newClient(s *Server, conn net.Conn) *client {
	c := &client{
		s:       s,
		id:      s.nextID.Add(1),
		conn:    conn,
		in:      &connReader{conn: conn},
		w:       resp.NewWriter(conn),
		created: time.Now(),
		lastAt:  time.Now(),
		lastCmd: "NULL",
		inMulti: -1,
	}
	c.rd = resp.NewReader(c.in, s.cfg.Limits)
	c.authed = s.store.Config().Password == ""
	return c
}

// serve runs the connection: read a command, execute it, and write the
// replies once nothing more is pipelined.
func (c *client) serve() {
	handed := false
	defer func() {
		if !handed {
			c.conn.Close()
		}
		c.s.forget(c)
	}()
	log := c.s.log.With("client", c.id, "addr", c.conn.RemoteAddr().String())
	for {
		cmd, err := c.rd.ReadCommand()
		if err != nil {
			if errors.Is(err, resp.ErrProtocol) || errors.Is(err, resp.ErrTooLarge) {
				log.Info("closing client after bad input", "err", err)
				c.w.Write(c.r.b)
				c.w.WriteError("ERR Protocol error: " + protocolDetail(err))
				c.w.Flush()
			} else if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				log.Debug("client connection failed", "err", err)
			}
			return
		}
		if !cmd.Empty {
			c.process(cmd.Args)
		}
		if c.handoff != nil || c.quit || len(c.r.b) >= 64<<10 || c.rd.Buffered() == 0 {
			c.w.Write(c.r.b)
			c.r.b = c.r.b[:0]
			if cap(c.r.b) > 1<<20 {
				c.r.b = nil // do not keep a large reply's buffer for an idle client
			}
			c.s.stats.errorReplies.Add(c.r.errs)
			c.r.errs = 0
		}
		if c.handoff != nil || c.quit || c.rd.Buffered() == 0 {
			if err := c.w.Flush(); err != nil {
				return
			}
		}
		if c.quit {
			return
		}
		if c.handoff != nil {
			if !c.s.handOff(c) {
				return
			}
			handed = true
			log.Info("client is a replica; handing it to the store")
			c.s.store.ServeReplicaConn(c.conn, c.rd, c.handoff)
			return
		}
	}
}

// protocolDetail is the part of a resp error Redis-style clients see.
func protocolDetail(err error) string {
	var re *resp.Error
	if errors.As(err, &re) {
		return re.Msg
	}
	return err.Error()
}

// process checks and executes (or, inside MULTI, queues) one command.
func (c *client) process(args [][]byte) {
	cmd, e := lookup(args)
	if e != "" {
		c.reject(e)
		return
	}
	c.mu.Lock()
	c.lastCmd, c.lastAt = cmd.name, time.Now()
	c.mu.Unlock()
	if !c.authed && cmd.flags&fNoAuth == 0 && c.s.store.Config().Password != "" {
		c.reject(errNoAuth)
		return
	}
	if c.multi != nil && cmd.flags&fImmediate == 0 {
		c.queue(cmd, args)
		return
	}
	if e := c.s.precheck(cmd); e != "" {
		c.r.err(e)
		return
	}
	c.run(cmd, args, c.s.store, false)
	if cmd.flags&fWrite != 0 {
		_, c.woff = c.s.store.Position()
	}
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
	cmd.run(&x)
	c.s.stats.commands.Add(1)
}

// precheck returns the error Redis gives before running cmd on this
// store: READONLY for a write on a read-only replica, MASTERDOWN for a
// keyspace command on a replica whose link is down when it may not serve
// stale data.
func (s *Server) precheck(cmd *command) string {
	if cmd.flags&(fWrite|fData) == 0 {
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

// connReader reads the connection for the resp.Reader, after any bytes a
// disconnect watcher read first (see watchDisconnect).
type connReader struct {
	conn    net.Conn
	pending []byte
}

func (r *connReader) Read(p []byte) (int, error) {
	if len(r.pending) > 0 {
		n := copy(p, r.pending)
		r.pending = r.pending[n:]
		return n, nil
	}
	return r.conn.Read(p)
}

// watchDisconnect watches the connection while the client is blocked (in
// WAIT) and calls lost if the client goes away. Bytes that arrive meanwhile
// (pipelined commands) are kept for the reader. The returned function
// stops the watch and waits for it; call it before reading again.
func (c *client) watchDisconnect(lost func()) (stop func()) {
	if c.rd.Buffered() > 0 {
		return func() {} // more commands are already buffered: the client is there
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		n, err := c.conn.Read(buf)
		c.in.pending = buf[:n]
		var ne net.Error
		if err != nil && !(errors.As(err, &ne) && ne.Timeout()) {
			lost()
		}
	}()
	return func() {
		c.conn.SetReadDeadline(time.Unix(1, 0))
		<-done
		c.conn.SetReadDeadline(time.Time{})
	}
}
