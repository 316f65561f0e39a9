package replikv

import (
	"bufio"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/replikv/replikv/resp"
	"golang.org/x/sync/semaphore"
)

// handshakeLimits bound what a peer may send before and after it syncs:
// only small commands (PING, AUTH, REPLCONF, PSYNC) are expected.
var handshakeLimits = resp.Limits{MaxBulkLen: 64 << 10, MaxArrayLen: 64, MaxInlineLen: 64 << 10}

// replicaConn is one replica connected to this store.
type replicaConn struct {
	id         int64
	conn       net.Conn
	addr       string // remote IP (or REPLCONF ip-address)
	port       int    // REPLCONF listening-port
	capaEOF    bool
	capaPSync2 bool

	replicaProgress

	mu      sync.Mutex
	state   string // "handshake", "wait_bgsave", "send_bulk", "online"
	ackOff  int64  // last REPLCONF ACK offset
	lastAck time.Time

	sub atomic.Pointer[Subscription] // its stream reader, once it has one

	// online and ackNano mirror state == "online" and lastAck for the
	// lock-free count of good replicas (minreplicas.go).
	online  atomic.Bool
	ackNano atomic.Int64

	ackOnce  sync.Once
	firstAck chan struct{} // closed at the first REPLCONF ACK after the sync
}

func (rc *replicaConn) setState(st string) {
	rc.mu.Lock()
	rc.state = st
	rc.online.Store(st == "online")
	rc.mu.Unlock()
}

// touchAckLocked records that the replica was heard from at t; rc.mu is
// held.
func (rc *replicaConn) touchAckLocked(t time.Time) {
	rc.lastAck = t
	rc.ackNano.Store(t.UnixNano())
}

// primaryState is the serving side of a Store.
type primaryState struct {
	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[net.Conn]struct{}
	replicas  map[int64]*replicaConn
	// listed is a copy of the replicas, replaced under mu at every change,
	// for readers that may not take mu (the write admission).
	listed   atomic.Pointer[[]*replicaConn]
	nextID   int64
	pingOnce sync.Once
	acked    chan struct{} // closed and replaced whenever a replica ACKs

	job       *syncJob                    // the latest full resync snapshot, while in use (fullsync.go)
	jobWake   chan struct{}               // closed and replaced when a job starts
	spools    atomic.Int64                // spool files open
	jobs      atomic.Int64                // snapshots started for full resyncs
	spoolHook atomic.Pointer[func(n int)] // tests: called before each spool write (to slow the snapshot)

	handshakes *semaphore.Weighted // connections of Serve in the handshake

	// psyncHook, when set (by tests), sees every PSYNC decision.
	psyncHook func(replid string, offset int64, h history, d psyncDecision)
	port      atomic.Int32 // announced listening port, from the first TCP listener

	syncFull       atomic.Int64
	syncPartialOK  atomic.Int64
	syncPartialErr atomic.Int64
}

// Serve accepts replicas on l until l or the store is closed, and returns
// then (ErrClosed after Close). It works on a primary and on a replica (a
// chained replica serves the very bytes it receives). Each connection
// goes through the Redis handshake (PING, AUTH when Config.Password is
// set, REPLCONF, then PSYNC or SYNC) and is then fed the stream by its own
// goroutine. Serve may be called for several listeners.
func (s *Store) Serve(l net.Listener) error {
	p := &s.prim
	p.mu.Lock()
	select {
	case <-s.done:
		p.mu.Unlock()
		l.Close() // as Close does to the listeners it finds serving
		return ErrClosed
	default:
	}
	if p.listeners == nil {
		p.init()
	}
	if p.handshakes == nil {
		p.handshakes = semaphore.NewWeighted(int64(s.cfg.MaxHandshakes))
	}
	p.listeners[l] = struct{}{}
	s.startPinging() // under p.mu, before Close can reach wg.Wait
	p.mu.Unlock()
	if a, ok := l.Addr().(*net.TCPAddr); ok {
		p.port.CompareAndSwap(0, int32(a.Port))
	}
	defer func() {
		p.mu.Lock()
		delete(p.listeners, l)
		p.mu.Unlock()
		// Returning for Close, Serve closes l itself: Close may not have
		// reached the listeners yet when Serve saw the store closing (after
		// an Accept), and after the delete above it would not find l.
		if s.isClosed() {
			l.Close()
		}
	}()
	var delay time.Duration
	for {
		c, err := l.Accept()
		if err != nil {
			select {
			case <-s.done:
				l.Close() // closed by Close already, unless it raced this Accept's error
				return ErrClosed
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			// A transient failure (e.g. too many open files): back off.
			delay = min(max(5*time.Millisecond, 2*delay), time.Second)
			s.cfg.Logger.Warn("accept failed", "err", err, "retry_in", delay)
			select {
			case <-time.After(delay):
				continue
			case <-s.done:
				return ErrClosed
			}
		}
		delay = 0
		p.mu.Lock()
		select {
		case <-s.done:
			p.mu.Unlock()
			c.Close()
			return ErrClosed
		default:
		}
		p.conns[c] = struct{}{}
		s.wg.Add(1)
		p.mu.Unlock()
		go func() {
			defer s.wg.Done()
			s.serveConn(c)
			p.mu.Lock()
			delete(p.conns, c)
			p.mu.Unlock()
		}()
	}
}

// AnnouncePort sets the listening port this store announces to its
// primary with REPLCONF listening-port (shown in the primary's INFO), when
// Config.ListeningPort is not set and Serve got no TCP listener first: for
// a RESP front that accepts connections itself, as package server does.
// The first port announced stays.
func (s *Store) AnnouncePort(port int) {
	if port > 0 && port <= 65535 {
		s.prim.port.CompareAndSwap(0, int32(port))
	}
}

func (p *primaryState) init() {
	p.listeners = map[net.Listener]struct{}{}
	p.conns = map[net.Conn]struct{}{}
	p.replicas = map[int64]*replicaConn{}
	p.acked = make(chan struct{})
	p.jobWake = make(chan struct{})
}

// closeServing closes every listener and connection (on Close).
func (s *Store) closeServing() {
	p := &s.prim
	p.mu.Lock()
	defer p.mu.Unlock()
	for l := range p.listeners {
		l.Close()
	}
	for c := range p.conns {
		c.Close()
	}
}

// startPinging starts the ping loop once, from whichever way of serving
// replicas comes first (Serve or ServeReplicaConn).
func (s *Store) startPinging() {
	s.prim.pingOnce.Do(func() {
		s.wg.Add(1)
		go s.pingLoop()
	})
}

// pingLoop sends PING down the stream every PingPeriod while this store is
// a primary with replicas, so they can tell a quiet primary from a dead one.
// The period is read again after each PING (Reconfigure may change it).
func (s *Store) pingLoop() {
	defer s.wg.Done()
	t := time.NewTimer(s.conf().PingPeriod)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		t.Reset(s.conf().PingPeriod)
		s.prim.mu.Lock()
		n := len(s.prim.replicas)
		s.prim.mu.Unlock()
		if n == 0 || s.pers.quiet.Load() { // quiet: saving on close (persist_save.go)
			continue
		}
		s.st.mu.Lock()
		if s.st.pause == nil { // a failover waits for a fixed final offset
			s.st.emitBareLocked(s.cfg.DB, "PING") // dropped unless this store streams (primary)
		}
		s.st.mu.Unlock()
	}
}

// timeoutWriter gives every write a deadline, so that a peer that stops
// reading is dropped after ReplTimeout instead of blocking forever.
// The timeout is read at each write, so that Reconfigure reaches open
// connections.
type timeoutWriter struct {
	c net.Conn
	s *Store
}

func (w timeoutWriter) Write(p []byte) (int, error) {
	w.c.SetWriteDeadline(time.Now().Add(w.s.conf().ReplTimeout))
	return w.c.Write(p)
}

// serveConn runs the handshake of one connection and, on PSYNC or SYNC,
// feeds it the stream until it fails. At most MaxHandshakes connections
// are in the handshake at once; others wait, unread, up to ReplTimeout.
// The handshake reads and replies through small buffers: an
// unauthenticated peer costs little.
func (s *Store) serveConn(c net.Conn) {
	sem := s.prim.handshakes
	if !sem.TryAcquire(1) {
		ctx, cancel := context.WithTimeout(context.Background(), s.conf().ReplTimeout)
		go func() {
			select {
			case <-s.done:
				cancel()
			case <-ctx.Done():
			}
		}()
		err := sem.Acquire(ctx, 1)
		cancel()
		if err != nil {
			s.cfg.Logger.Info("replica connection closed: too many connections in the handshake",
				"peer", c.RemoteAddr().String(), "max", s.cfg.MaxHandshakes)
			c.Close()
			return
		}
	}
	var once sync.Once
	release := func() { once.Do(func() { sem.Release(1) }) }
	defer release()
	s.handleConn(c, resp.NewReaderSize(c, handshakeLimits, handshakeBufSize), s.conf().Password == "", nil, release)
}

// handshakeBufSize is the size of the reader and writer buffers of a
// connection in the handshake: its commands and replies are short.
const handshakeBufSize = 512

// ServeReplicaConn takes over a connection that a RESP server (such as
// package server) accepted and authenticated when the client turned out
// to be a replica: first is the command that showed it (REPLCONF, PSYNC or
// SYNC) and rd the server's reader, with whatever it has buffered. It runs
// the rest of the handshake, then feeds the replica until it or the store
// goes away, and closes c. Close closes c too, and waits for this call to
// return.
func (s *Store) ServeReplicaConn(c net.Conn, rd *resp.Reader, first [][]byte) {
	p := &s.prim
	p.mu.Lock()
	if s.isClosed() { // under p.mu: Close closes p.conns after marking the store closed
		p.mu.Unlock()
		c.Close()
		return
	}
	if p.conns == nil {
		p.init()
	}
	p.conns[c] = struct{}{}
	// Counted in the store's goroutines, under p.mu (which Close takes
	// before it waits): what this one starts (the ping loop, a snapshot)
	// is then never added to a finished count.
	s.wg.Add(1)
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.conns, c)
		p.mu.Unlock()
		s.wg.Done()
	}()
	s.startPinging()
	s.handleConn(c, rd, true, first, func() {})
}

// handleConn runs the handshake; endHandshake is called when it ends with
// PSYNC or SYNC.
func (s *Store) handleConn(c net.Conn, rd *resp.Reader, authed bool, first [][]byte, endHandshake func()) {
	defer c.Close()
	log := s.cfg.Logger.With("peer", c.RemoteAddr().String())
	tw := timeoutWriter{c, s}
	w := bufio.NewWriterSize(tw, handshakeBufSize)
	rc := &replicaConn{conn: c, state: "handshake", firstAck: make(chan struct{})}
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		rc.addr = a.IP.String()
	} else {
		rc.addr = c.RemoteAddr().String()
	}
	for {
		var cmd resp.Command
		if first != nil {
			cmd.Args, first = first, nil
		} else {
			c.SetReadDeadline(time.Now().Add(s.conf().ReplTimeout))
			// Before AUTH, Redis's limits for unauthenticated clients (10
			// arguments of 16 KiB), refused at the header with its errors.
			rd.SetUnauthenticated(!authed)
			var err error
			cmd, err = rd.ReadCommand()
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
					log.Info("replica connection closed during handshake", "err", err)
				}
				if reply, bad := resp.ErrorReply(err); bad {
					w.WriteString("-" + reply + "\r\n")
					w.Flush()
				}
				return
			}
		}
		if cmd.Empty {
			continue
		}
		name := strings.ToUpper(string(cmd.Args[0]))
		var reply string
		switch {
		case name == "AUTH":
			reply = s.checkAuth(cmd.Args)
			if reply == "+OK" {
				authed = true
			}
		case name == "QUIT":
			w.WriteString("+OK\r\n")
			w.Flush()
			return
		case !authed:
			reply = "-NOAUTH Authentication required."
		case name == "PING":
			reply = "+PONG"
		case name == "REPLCONF":
			reply = replconf(rc, cmd.Args)
		case name == "INFO":
			// What a demoted primary asks before PSYNC (dropped.go).
			text := s.replInfoText()
			reply = "$" + strconv.Itoa(len(text)) + "\r\n" + text
		case name == "PSYNC" || name == "SYNC":
			req, err := parsePSync(cmd.Args)
			if err != nil {
				reply = "-ERR " + err.Error()
				break
			}
			endHandshake()
			// From here on the stream and snapshots go through a large buffer.
			if err := s.syncReplica(rc, rd, bufio.NewWriterSize(tw, 32<<10), req, log); err != nil {
				log.Info("replica dropped", "err", err)
			}
			return
		default:
			reply = fmt.Sprintf("-ERR unknown command '%s', with args beginning with: ", sanitize(truncate(string(cmd.Args[0]), 128)))
		}
		if reply == "" {
			continue // REPLCONF ACK/GETACK: no reply
		}
		w.WriteString(reply)
		w.WriteString("\r\n")
		if err := w.Flush(); err != nil {
			return
		}
	}
}

// checkAuth answers AUTH <password> or AUTH <user> <password>.
func (s *Store) checkAuth(args [][]byte) string {
	if len(args) < 2 || len(args) > 3 {
		return "-ERR wrong number of arguments for 'auth' command"
	}
	if s.conf().Password == "" {
		return "-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
	}
	user, pass := "default", args[len(args)-1]
	if len(args) == 3 {
		user = string(args[1])
	}
	okPass := subtle.ConstantTimeCompare(pass, []byte(s.conf().Password)) == 1
	if user != "default" || !okPass {
		return "-WRONGPASS invalid username-password pair or user is disabled."
	}
	return "+OK"
}

// replconf handles REPLCONF options during the handshake; it returns ""
// for ACK and GETACK, which get no reply.
func replconf(rc *replicaConn, args [][]byte) string {
	if len(args) < 2 {
		return "-ERR wrong number of arguments for 'replconf' command"
	}
	if len(args)%2 == 0 {
		if equalFold(args[1], "ACK") || equalFold(args[1], "GETACK") {
			return ""
		}
		return "-ERR syntax error"
	}
	for i := 1; i < len(args); i += 2 {
		opt, val := args[i], args[i+1]
		switch {
		case equalFold(opt, "listening-port"):
			p, err := strconv.Atoi(string(val))
			if err != nil || p < 0 || p > 65535 {
				return "-ERR value is not an integer or out of range"
			}
			rc.port = p
		case equalFold(opt, "ip-address"):
			rc.addr = truncate(string(val), 64)
		case equalFold(opt, "capa"):
			if equalFold(val, "eof") {
				rc.capaEOF = true
			} else if equalFold(val, "psync2") {
				rc.capaPSync2 = true
			}
		case equalFold(opt, "ack"), equalFold(opt, "getack"):
			return ""
		case equalFold(opt, "rdb-only"), equalFold(opt, "rdb-filter-only"):
		default:
			return "-ERR Unrecognized REPLCONF option: " + sanitize(truncate(string(opt), 128))
		}
	}
	return "+OK"
}

// syncReplica answers PSYNC or SYNC: a partial resync from the backlog
// when possible, else a full one with a snapshot shared with the other
// replicas syncing at the time (see syncJob); then it feeds the stream
// until the replica or the store goes away. The replica is listed (Info)
// from here on, in state wait_bgsave, send_bulk, then online.
func (s *Store) syncReplica(rc *replicaConn, rd *resp.Reader, w *bufio.Writer, req psyncRequest, log interface {
	Info(string, ...any)
}) error {
	if req.Failover {
		if reply := s.takeOver(req.ReplID, req.Offset, rc.conn.RemoteAddr().String()); reply != "" {
			w.WriteString(reply + "\r\n")
			return w.Flush()
		}
	}
	if s.FailoverState() != NoFailover {
		w.WriteString("-NOMASTERLINK Can't SYNC while failing over\r\n")
		return w.Flush()
	}
	if s.Role() == RoleReplica && s.LinkStatus() != LinkUp {
		w.WriteString("-NOMASTERLINK Can't SYNC while not connected with my master\r\n")
		return w.Flush()
	}
	lim := s.conf().ReplicaOutputLimits
	var sub *Subscription
	var dec psyncDecision
	st := s.st
	st.mu.Lock()
	if !req.Legacy {
		h := st.historyLocked()
		dec = decidePSync(req.ReplID, req.Offset, h)
		if hook := s.prim.psyncHook; hook != nil {
			hook(req.ReplID, req.Offset, h, dec)
		}
	}
	replid := st.replid
	if dec.Continue {
		var err error
		if sub, err = st.subscribeLocked(dec.From, lim); err != nil {
			st.mu.Unlock()
			return err // cannot happen: the decision checked the backlog
		}
	}
	st.mu.Unlock()
	defer s.listReplica(rc)()

	if dec.Continue {
		s.prim.syncPartialOK.Add(1)
		log.Info("partial resynchronization accepted", "from", dec.From, "replid", replid)
		if rc.capaPSync2 {
			w.WriteString("+CONTINUE " + replid + "\r\n")
		} else {
			w.WriteString("+CONTINUE\r\n")
		}
		if err := w.Flush(); err != nil {
			sub.Close()
			return err
		}
		return s.feed(rc, rd, w, sub, false)
	}

	if req.ReplID != "?" {
		s.prim.syncPartialErr.Add(1)
		log.Info("partial resynchronization refused", "reason", dec.Reason)
	}
	if why := s.refuseFullSync(req, replid); why != "" { // persist.go
		log.Info("full resynchronization refused", "reason", why)
		w.WriteString("-" + why + "\r\n")
		return w.Flush()
	}
	s.prim.syncFull.Add(1)
	rc.syncTotal.Store(-1)
	rc.setState("wait_bgsave")
	keepalive := func() error { // while waiting, a newline every second
		w.WriteByte('\n')
		return w.Flush()
	}
	job, sub, err := s.joinSync(lim, keepalive)
	if err != nil {
		return fmt.Errorf("waiting for a snapshot: %w", err)
	}
	rc.sub.Store(sub)
	if !req.Legacy {
		fmt.Fprintf(w, "+FULLRESYNC %s %d\r\n", job.replid, job.offset)
	}
	eof := rc.capaEOF && !req.Legacy
	err = s.sendSync(rc, w, job, eof, keepalive)
	s.releaseSync(job)
	if err != nil {
		sub.Close()
		return fmt.Errorf("sending the snapshot at offset %d: %w", job.offset, err)
	}
	log.Info("full resynchronization sent", "offset", job.offset, "bytes", rc.syncSent.Load())
	// A Redis replica looks for the EOF mark only at the end of a read: the
	// stream waits for its first ACK, sent once the snapshot is loaded.
	return s.feed(rc, rd, w, sub, eof)
}

// listReplica shows rc in Info until the returned function is called.
func (s *Store) listReplica(rc *replicaConn) func() {
	p := &s.prim
	p.mu.Lock()
	p.nextID++
	rc.id = p.nextID
	rc.mu.Lock()
	rc.touchAckLocked(time.Now())
	rc.mu.Unlock()
	p.replicas[rc.id] = rc
	p.relistLocked()
	p.mu.Unlock()
	return func() {
		p.mu.Lock()
		delete(p.replicas, rc.id)
		p.relistLocked()
		p.mu.Unlock()
	}
}

// feed sends the stream from sub to the replica and reads its ACKs, until
// either side fails or the store closes. With waitAck, nothing is sent
// before the replica's first REPLCONF ACK, which must come within
// ReplTimeout.
func (s *Store) feed(rc *replicaConn, rd *resp.Reader, w *bufio.Writer, sub *Subscription, waitAck bool) error {
	defer sub.Close()
	rc.sub.Store(sub)
	// A replica that falls behind its output limit is dropped at once, even
	// while this goroutine is blocked writing to it.
	sub.OnClose(func() { rc.conn.Close() })
	rc.mu.Lock()
	rc.touchAckLocked(time.Now())
	rc.mu.Unlock()
	rc.setState("online")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	readErr := make(chan error, 1)
	go func() {
		readErr <- s.readAcks(rc, rd)
		cancel()
	}()
	var parts net.Buffers
	var err error
	if waitAck {
		t := time.NewTimer(s.conf().ReplTimeout)
		select {
		case <-rc.firstAck:
		case <-ctx.Done():
			err = ctx.Err()
		case <-t.C:
			err = fmt.Errorf("no REPLCONF ACK within %v after the snapshot", s.conf().ReplTimeout)
		}
		t.Stop()
	}
	if err == nil {
		err = w.Flush()
	}
	for err == nil {
		// The bytes go from the shared stream buffer to the socket with no
		// copy: one vectored write per burst.
		parts, _, err = sub.nextParts(ctx, parts, feedBurst, true)
		if err != nil {
			break
		}
		rc.conn.SetWriteDeadline(time.Now().Add(s.conf().ReplTimeout))
		all := parts
		_, err = all.WriteTo(rc.conn)
		clear(parts)
	}
	rc.conn.Close() // stops readAcks
	if rerr := <-readErr; errors.Is(err, context.Canceled) && rerr != nil {
		err = rerr
	}
	// A subscription closed by the stream (a lagging replica, a new
	// history) closes the connection under the write: say why, not only
	// that the write failed.
	if serr := sub.Err(); serr != nil && !errors.Is(serr, ErrClosed) && !errors.Is(err, serr) {
		err = fmt.Errorf("%w (then: %v)", serr, err)
	}
	return err
}

// feedBurst bounds the bytes of one write to a replica. Each write has
// ReplTimeout to complete: a replica is dropped when a write of this size
// makes no progress for that long (not when a large backlog takes longer
// than that in all).
const feedBurst = 256 << 10

// readAcks reads what a streaming replica sends: REPLCONF ACK <offset>
// (recorded, never answered) and newlines. A replica silent for longer
// than ReplTimeout is dropped.
func (s *Store) readAcks(rc *replicaConn, rd *resp.Reader) error {
	for {
		rc.conn.SetReadDeadline(time.Now().Add(s.conf().ReplTimeout))
		cmd, err := rd.ReadCommand()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return fmt.Errorf("replica timed out: silent for %v", s.conf().ReplTimeout)
			}
			return err
		}
		rc.mu.Lock()
		rc.touchAckLocked(time.Now())
		advanced := false
		if len(cmd.Args) >= 3 && equalFold(cmd.Args[0], "REPLCONF") && equalFold(cmd.Args[1], "ACK") {
			if off, err := strconv.ParseInt(string(cmd.Args[2]), 10, 64); err == nil && off > rc.ackOff {
				rc.ackOff = off
				advanced = true
			}
			rc.ackOnce.Do(func() { close(rc.firstAck) })
		}
		rc.mu.Unlock()
		if advanced {
			s.prim.mu.Lock()
			close(s.prim.acked)
			s.prim.acked = make(chan struct{})
			s.prim.mu.Unlock()
		}
	}
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, s)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
