package replikv

import (
	"bufio"
	"bytes"
	"context"
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
	"github.com/replikv/replikv/transport"
)

// LinkStatus is the state of a replica's link to its primary.
type LinkStatus int32

// Link states. Info and INFO replication show "up" only for LinkUp.
const (
	LinkNone       LinkStatus = iota // not a replica
	LinkConnecting                   // dialing or in the handshake
	LinkSyncing                      // receiving a full resync snapshot
	LinkUp                           // streaming
	LinkDown                         // failed; a retry is scheduled
)

func (l LinkStatus) String() string {
	switch l {
	case LinkConnecting:
		return "connecting"
	case LinkSyncing:
		return "sync"
	case LinkUp:
		return "up"
	case LinkDown:
		return "down"
	}
	return "none"
}

// replicaState is the following side of a Store.
type replicaState struct {
	mu     sync.Mutex
	link   *link
	synced chan struct{} // closed while the link is up

	state      atomic.Int32 // LinkStatus
	lastIO     atomic.Int64 // unix nanos of the last byte from the primary
	downSince  atomic.Int64 // unix nanos the link went down, 0 while up
	hasHistory atomic.Bool  // loaded a snapshot or continued a history
	lastErr    atomic.Pointer[string]
	conn       atomic.Pointer[net.Conn] // the open link, if any

	syncFull    atomic.Int64 // full resyncs this replica received
	syncPartial atomic.Int64 // partial resyncs this replica received
	loadTotal   atomic.Int64 // announced snapshot size, -1 when unknown (EOF framing)
	load        loadProgress
	lastLoad    atomic.Pointer[LoadStats] // the last snapshot loaded from the primary
}

// link is one ReplicaOf session: a goroutine that connects and reconnects.
type link struct {
	d      transport.Dialer
	host   string
	port   int
	cancel context.CancelFunc
	done   chan struct{}
}

// ReplicaOf makes the store a replica of the primary reached through d
// (Redis REPLICAOF). It returns at once: the link connects, syncs and
// reconnects after failures in the background until Promote, another
// ReplicaOf, or Close. API writes are refused with ErrReadOnly from now on
// unless Config.ReplicaWritable. Use WaitSynced to wait for the first sync.
func (s *Store) ReplicaOf(d transport.Dialer) error {
	if d == nil {
		return fmt.Errorf("%w: nil dialer", ErrInvalidArgument)
	}
	if s.isClosed() {
		return ErrClosed
	}
	s.stopLink()
	s.st.mu.Lock()
	s.replica.Store(true)
	s.st.following = true
	s.st.mu.Unlock()

	ctx, cancel := context.WithCancel(context.Background())
	l := &link{d: d, cancel: cancel, done: make(chan struct{})}
	l.host, l.port = transport.HostPort(d)
	r := &s.rep
	r.mu.Lock()
	r.link = l
	r.synced = make(chan struct{})
	r.mu.Unlock()
	r.state.Store(int32(LinkConnecting))
	r.downSince.Store(time.Now().UnixNano())
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(l.done)
		s.runLink(ctx, l)
	}()
	return nil
}

// stopLink ends the current link, if any, and waits for its goroutine.
func (s *Store) stopLink() {
	r := &s.rep
	r.mu.Lock()
	l := r.link
	r.link = nil
	r.mu.Unlock()
	if l != nil {
		l.cancel()
		<-l.done
	}
}

// WaitSynced waits until the store is a replica whose link is up with its
// initial sync loaded, or until ctx is done. On a primary it returns nil
// at once.
func (s *Store) WaitSynced(ctx context.Context) error {
	r := &s.rep
	r.mu.Lock()
	ch := r.synced
	following := r.link != nil
	r.mu.Unlock()
	if !following {
		return nil
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.done:
		return ErrClosed
	}
}

// LinkStatus returns the state of the link to the primary (LinkNone on a
// primary).
func (s *Store) LinkStatus() LinkStatus { return LinkStatus(s.rep.state.Load()) }

// setLink records a link state change, waking WaitSynced on LinkUp.
func (s *Store) setLink(st LinkStatus) {
	r := &s.rep
	r.mu.Lock()
	defer r.mu.Unlock()
	prev := LinkStatus(r.state.Swap(int32(st)))
	switch {
	case st == LinkUp && prev != LinkUp:
		r.downSince.Store(0)
		close(r.synced)
	case st != LinkUp && prev == LinkUp:
		r.downSince.Store(time.Now().UnixNano())
		r.synced = make(chan struct{})
	}
}

// Promote stops following the primary and makes the store a primary that
// continues the same history (Redis REPLICAOF NO ONE, with PSYNC2): the data
// and the backlog are kept, the current replication ID becomes the
// secondary one (valid up to the current offset), and a new ID starts.
// Replicas of this store, and siblings that re-point to it, continue with
// a partial resync. Promote on a primary does nothing.
func (s *Store) Promote() error {
	if s.isClosed() {
		return ErrClosed
	}
	s.stopLink()
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	if !s.replica.Load() {
		return nil
	}
	s.st.shiftLocked(newReplID())
	s.st.db = -1 // our first write selects its database
	s.st.following = false
	// Sub-replicas reconnect and learn the new ID with +CONTINUE.
	s.st.closeSubsLocked(ErrHistoryChanged)
	s.replica.Store(false)
	s.setLink(LinkNone)
	s.cfg.Logger.Info("promoted to primary", "replid", s.st.replid, "replid2", s.st.replid2, "offset", s.st.end)
	return nil
}

// runLink connects to the primary again and again until ctx ends. After
// a link that was up it reconnects at once, as Redis does: every
// millisecond of waiting is stream the backlog must hold for a partial
// resync. Only failed attempts back off, exponentially from ReconnectMin
// to ReconnectMax.
func (s *Store) runLink(ctx context.Context, l *link) {
	backoff := time.Duration(0)
	log := s.cfg.Logger.With("primary", fmt.Sprint(l.d))
	for {
		reachedUp, err := s.linkOnce(ctx, l, log)
		if ctx.Err() != nil {
			return
		}
		msg := err.Error()
		s.rep.lastErr.Store(&msg)
		s.setLink(LinkDown)
		backoff = nextBackoff(backoff, reachedUp, s.cfg.ReconnectMin, s.cfg.ReconnectMax)
		log.Warn("replication link failed", "err", err, "retry_in", backoff)
		if backoff == 0 {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
	}
}

// nextBackoff is the wait before the next connection attempt: none after
// a link that was up, then ReconnectMin, doubling up to ReconnectMax while
// attempts keep failing.
func nextBackoff(prev time.Duration, reachedUp bool, lo, hi time.Duration) time.Duration {
	if reachedUp {
		return 0
	}
	if prev == 0 {
		return lo
	}
	return min(2*prev, hi)
}

// linkConn is the replica's side of one connection to the primary.
type linkConn struct {
	s    *Store
	conn net.Conn
	rd   *resp.Reader
	wmu  sync.Mutex // the apply loop and the ACK ticker both write
	w    *bufio.Writer
}

func (lc *linkConn) send(args ...string) error {
	lc.wmu.Lock()
	defer lc.wmu.Unlock()
	lc.w.Write(resp.AppendCommandString(nil, args...))
	return lc.w.Flush()
}

func (lc *linkConn) sendACK(off int64) error {
	return lc.send("REPLCONF", "ACK", strconv.FormatInt(off, 10))
}

// readLine reads one reply line, skipping the primary's keepalive newlines,
// within ReplTimeout.
func (lc *linkConn) readLine() (string, error) {
	for {
		lc.conn.SetReadDeadline(time.Now().Add(lc.s.conf().ReplTimeout))
		line, err := lc.rd.ReadLine()
		if err != nil {
			return "", err
		}
		lc.s.rep.lastIO.Store(time.Now().UnixNano())
		if len(line) > 0 {
			return string(line), nil
		}
	}
}

// linkOnce runs one connection: handshake, sync, then the stream until it
// fails. reachedUp tells whether the sync completed.
func (s *Store) linkOnce(ctx context.Context, l *link, log interface {
	Info(string, ...any)
	Warn(string, ...any)
}) (reachedUp bool, err error) {
	s.setLink(LinkConnecting)
	dctx, cancel := context.WithTimeout(ctx, s.conf().ReplTimeout)
	conn, err := l.d.Dial(dctx)
	cancel()
	if err != nil {
		return false, fmt.Errorf("dial: %w", err)
	}
	defer conn.Close()
	defer s.linkConnOpen(conn)()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	lc := &linkConn{
		s:    s,
		conn: conn,
		rd:   resp.NewReader(conn, resp.Limits{MaxBulkLen: s.cfg.MaxBulkLen}),
		w:    bufio.NewWriterSize(timeoutWriter{conn, s.conf().ReplTimeout}, 16<<10),
	}
	replid, offset, full, err := s.handshake(lc)
	if err != nil {
		return false, err
	}
	if full {
		s.setLink(LinkSyncing)
		eof, err := s.receiveSnapshot(ctx, lc, replid, offset)
		if err != nil {
			return false, err
		}
		s.rep.syncFull.Add(1)
		log.Info("full resync loaded", "replid", replid, "offset", offset)
		if eof { // a Redis primary streams nothing until this ACK
			if err := lc.sendACK(offset); err != nil {
				return false, err
			}
		}
	} else {
		s.rep.syncPartial.Add(1)
		log.Info("partial resync accepted", "replid", replid, "offset", offset)
	}
	s.rep.hasHistory.Store(true)
	s.setLink(LinkUp)
	return true, s.streamFrom(ctx, lc)
}

// handshake sends PING, AUTH, REPLCONF and PSYNC, and parses the answer.
// For a full resync it returns the announced history; for a partial one
// the current position after adopting the primary's new ID, if any.
func (s *Store) handshake(lc *linkConn) (replid string, offset int64, full bool, err error) {
	if err := lc.send("PING"); err != nil {
		return "", 0, false, err
	}
	line, err := lc.readLine()
	if err != nil {
		return "", 0, false, fmt.Errorf("PING: %w", err)
	}
	// -NOAUTH means the primary is there and wants AUTH.
	if line[0] == '-' && !strings.HasPrefix(line, "-NOAUTH") {
		return "", 0, false, fmt.Errorf("PING: primary replied %q", line)
	}
	if s.conf().MasterAuth != "" {
		args := []string{"AUTH", s.conf().MasterAuth}
		if s.conf().MasterUser != "" {
			args = []string{"AUTH", s.conf().MasterUser, s.conf().MasterAuth}
		}
		if err := lc.send(args...); err != nil {
			return "", 0, false, err
		}
		if line, err = lc.readLine(); err != nil {
			return "", 0, false, fmt.Errorf("AUTH: %w", err)
		}
		if line != "+OK" {
			return "", 0, false, fmt.Errorf("%w: AUTH: primary replied %q", ErrNoAuth, line)
		}
	} else if strings.HasPrefix(line, "-NOAUTH") {
		return "", 0, false, fmt.Errorf("%w: %s (set Config.MasterAuth)", ErrNoAuth, line[1:])
	}
	port := s.cfg.ListeningPort
	if port == 0 {
		port = int(s.prim.port.Load())
	}
	for _, args := range [][]string{
		{"REPLCONF", "listening-port", strconv.Itoa(port)},
		{"REPLCONF", "capa", "eof", "capa", "psync2"},
	} {
		if err := lc.send(args...); err != nil {
			return "", 0, false, err
		}
		if line, err = lc.readLine(); err != nil {
			return "", 0, false, fmt.Errorf("REPLCONF: %w", err)
		}
		if strings.HasPrefix(line, "-NOAUTH") {
			return "", 0, false, fmt.Errorf("%w: REPLCONF: %s", ErrNoAuth, line[1:])
		}
		// Other errors are not fatal, as in Redis.
	}

	s.st.mu.Lock()
	myID, myOff := s.st.replid, s.st.end
	s.st.mu.Unlock()
	psyncID, psyncOff := "?", "-1"
	if s.rep.hasHistory.Load() || myOff > 0 {
		psyncID, psyncOff = myID, strconv.FormatInt(myOff+1, 10)
	}
	if err := lc.send("PSYNC", psyncID, psyncOff); err != nil {
		return "", 0, false, err
	}
	if line, err = lc.readLine(); err != nil {
		return "", 0, false, fmt.Errorf("PSYNC: %w", err)
	}
	switch {
	case strings.HasPrefix(line, "+FULLRESYNC"):
		id, off, err := parseFullResync(line[1:])
		if err != nil {
			return "", 0, false, fmt.Errorf("PSYNC: %w", err)
		}
		return id, off, true, nil
	case line == "+CONTINUE" || strings.HasPrefix(line, "+CONTINUE "):
		newID := strings.TrimSpace(strings.TrimPrefix(line, "+CONTINUE"))
		s.st.mu.Lock()
		defer s.st.mu.Unlock()
		if newID != "" && newID != s.st.replid {
			if len(newID) != 40 {
				return "", 0, false, fmt.Errorf("PSYNC: malformed reply %q", line)
			}
			// The primary's history continues under a new ID (it was
			// promoted or restarted): shift ours the same way, and let our
			// own replicas learn it by reconnecting.
			s.st.shiftLocked(newID)
			s.st.closeSubsLocked(ErrHistoryChanged)
		}
		return s.st.replid, s.st.end, false, nil
	}
	return "", 0, false, fmt.Errorf("PSYNC: primary replied %q", line)
}

// receiveSnapshot reads the "$<len>" or "$EOF:<mark>" framed snapshot and
// loads it beside the live data. It reports whether EOF framing was used.
func (s *Store) receiveSnapshot(ctx context.Context, lc *linkConn, replid string, offset int64) (bool, error) {
	header, err := lc.readLine()
	if err != nil {
		return false, fmt.Errorf("snapshot header: %w", err)
	}
	if header[0] != '$' {
		return false, fmt.Errorf("snapshot header: expected '$', got %q", truncate(header, 64))
	}
	// A stalled transfer is caught by the read deadline, renewed per read.
	src := &deadlineReader{r: lc.rd, conn: lc.conn, d: s.conf().ReplTimeout, lastIO: &s.rep.lastIO}
	opt := LoadOptions{SkipNonString: true, ReplID: replid, Offset: offset}
	if strings.HasPrefix(header, "$EOF:") {
		mark := header[5:]
		if len(mark) != 40 {
			return false, fmt.Errorf("snapshot header: EOF mark of %d bytes, want 40", len(mark))
		}
		s.rep.loadTotal.Store(-1)
		er := newEOFReader(src, []byte(mark))
		stats, err := s.loadSnapshot(ctx, er, opt, &s.rep.load, er.finish)
		if err != nil {
			return true, err
		}
		s.logLoad(stats)
		if left := er.Leftover(); len(left) > 0 {
			lc.rd = resp.NewReader(io.MultiReader(bytes.NewReader(left), lc.rd), resp.Limits{MaxBulkLen: s.cfg.MaxBulkLen})
		}
		return true, nil
	}
	n, err := strconv.ParseInt(header[1:], 10, 64)
	if err != nil || n < 0 {
		return false, fmt.Errorf("snapshot header: bad length %q", truncate(header, 64))
	}
	s.rep.loadTotal.Store(n)
	lr := newLengthReader(src, n)
	stats, err := s.loadSnapshot(ctx, lr, opt, &s.rep.load, lr.finish)
	if err != nil {
		return false, err
	}
	s.logLoad(stats)
	return false, nil
}

func (s *Store) logLoad(st LoadStats) {
	// Report Redis's type names (list, hash, …), not their encodings.
	byType := map[string]int{}
	for name, n := range st.Skipped.ByType {
		base, _, _ := strings.Cut(name, "-")
		byType[base] += n
	}
	st.Skipped.ByType = byType
	s.rep.lastLoad.Store(&st)
	if st.OtherDBKeys > 0 || st.Skipped.Keys > 0 {
		s.cfg.Logger.Warn("snapshot held data this store does not keep",
			"other_db_keys", st.OtherDBKeys, "skipped_non_string", st.Skipped.Keys, "by_type", st.Skipped.ByType)
	}
}

// deadlineReader renews the connection's read deadline before each read.
type deadlineReader struct {
	r      io.Reader
	conn   net.Conn
	d      time.Duration
	lastIO *atomic.Int64
}

func (d *deadlineReader) Read(p []byte) (int, error) {
	d.conn.SetReadDeadline(time.Now().Add(d.d))
	n, err := d.r.Read(p)
	if n > 0 {
		d.lastIO.Store(time.Now().UnixNano())
	}
	return n, err
}

// streamFrom applies the primary's command stream, answers GETACK and
// sends an ACK every AckPeriod, until the connection fails.
func (s *Store) streamFrom(ctx context.Context, lc *linkConn) error {
	// A transaction cut by the last link's end was not applied nor counted:
	// the primary resends it from its MULTI.
	s.multi = multiState{}
	ackCtx, stopAcks := context.WithCancel(ctx)
	defer stopAcks()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(s.cfg.AckPeriod)
		defer t.Stop()
		for {
			select {
			case <-ackCtx.Done():
				return
			case <-t.C:
			}
			_, off := s.Position()
			if lc.sendACK(off) != nil {
				lc.conn.Close()
				return
			}
		}
	}()
	for {
		lc.conn.SetReadDeadline(time.Now().Add(s.conf().ReplTimeout))
		cmd, err := lc.rd.ReadCommand()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return fmt.Errorf("primary silent for %v: %w", s.conf().ReplTimeout, err)
			}
			return err
		}
		s.rep.lastIO.Store(time.Now().UnixNano())
		if cmd.Inline && !cmd.Empty {
			// Replies or inline text in the stream mean the two sides are
			// out of step; Redis drops the link too.
			return fmt.Errorf("primary sent %q outside a command: protocol desync", truncate(string(cmd.Raw), 64))
		}
		if len(cmd.Args) == 3 && equalFold(cmd.Args[0], "REPLCONF") && equalFold(cmd.Args[1], "GETACK") {
			_, off := s.Position() // the offset before this command
			if err := lc.sendACK(off); err != nil {
				return err
			}
		}
		if err := s.applyCommand(cmd.Raw, cmd.Args); err != nil {
			s.cfg.Logger.Debug("stream command not applied", "err", err)
		}
	}
}
