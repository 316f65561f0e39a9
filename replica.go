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
	"time"

	"github.com/replikv/replikv/resp"
)

// linkConn is the replica's side of one connection to the primary.
type linkConn struct {
	s    *Store
	conn net.Conn
	rd   *resp.Reader
	wmu  sync.Mutex // the apply loop and the ACK ticker both write
	w    *bufio.Writer
	fo   *failover // send PSYNC … FAILOVER and report the answer to it
	// drop is the history the full resync in progress drops (dropped.go).
	drop *DroppedHistory
}

func (lc *linkConn) send(args ...string) error {
	lc.wmu.Lock()
	defer lc.wmu.Unlock()
	lc.w.Write(resp.AppendCommandString(nil, args...))
	return lc.w.Flush()
}

// sendAll sends several commands in one write.
func (lc *linkConn) sendAll(cmds [][]string) error {
	lc.wmu.Lock()
	defer lc.wmu.Unlock()
	var b []byte
	for _, args := range cmds {
		b = resp.AppendCommandString(b, args...)
	}
	lc.w.Write(b)
	return lc.w.Flush()
}

func (lc *linkConn) sendACK(off int64) error {
	return lc.send("REPLCONF", "ACK", strconv.FormatInt(off, 10))
}

// readLine reads one reply line, skipping the primary's keepalive newlines,
// within ReplTimeout.
func (lc *linkConn) readLine() (string, error) {
	for {
		line, err := lc.rd.ReadLine() // within ReplTimeout: see linkReader
		if err != nil {
			return "", err
		}
		if len(line) > 0 {
			return string(line), nil
		}
	}
}

// linkEnd tells how far a link got before it ended.
type linkEnd int

const (
	linkFailed   linkEnd = iota // it never completed a sync
	linkWasUp                   // it synced, then carried no stream
	linkStreamed                // it synced and carried stream bytes
)

// linkOnce runs one connection: handshake, sync, then the stream until it
// fails, and tells how far it got.
func (s *Store) linkOnce(ctx context.Context, l *link, log interface {
	Info(string, ...any)
	Warn(string, ...any)
}) (end linkEnd, err error) {
	s.setLink(LinkConnecting)
	dctx, cancel := context.WithTimeout(ctx, s.conf().ReplTimeout)
	conn, err := l.d.Dial(dctx)
	cancel()
	if err != nil {
		return linkFailed, fmt.Errorf("dial: %w", err)
	}
	defer conn.Close()
	defer s.linkConnOpen(conn)()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	lc := &linkConn{
		s:    s,
		conn: conn,
		rd:   resp.NewReader(linkReader{conn, s}, s.streamLimits()),
		w:    bufio.NewWriterSize(timeoutWriter{conn, s}, 16<<10),
		fo:   l.fo,
	}
	replid, offset, full, err := s.handshake(lc)
	if err != nil {
		return linkFailed, err
	}
	if full {
		s.setLink(LinkSyncing)
		eof, err := s.receiveSnapshot(ctx, lc, replid, offset)
		if err != nil {
			return linkFailed, err
		}
		s.rep.syncFull.Add(1)
		s.rep.forceFull.Store(false)
		if lc.drop != nil {
			s.noteDropped(lc.drop, log)
		}
		s.rep.dropped.demoted.Store(false)
		log.Info("full resync loaded", "replid", replid, "offset", offset)
		if eof { // a Redis primary streams nothing until this ACK
			if err := lc.sendACK(offset); err != nil {
				return linkFailed, err
			}
		}
	} else {
		s.rep.syncPartial.Add(1)
		s.rep.dropped.demoted.Store(false)
		log.Info("partial resync accepted", "replid", replid, "offset", offset)
	}
	s.rep.hasHistory.Store(true)
	s.setLink(LinkUp)
	_, from := s.Position()
	err = s.streamFrom(ctx, lc)
	if _, to := s.Position(); to != from {
		return linkStreamed, err
	}
	return linkWasUp, err
}

// handshake sends PING, AUTH, REPLCONF and PSYNC, and parses the answer.
// For a full resync it returns the announced history; for a partial one
// the current position after adopting the primary's new ID, if any.
//
// PING, AUTH and the REPLCONFs go in one write, and their replies are read
// in turn after it (Redis's own replicas pipeline AUTH and the REPLCONFs
// the same way): a reconnection costs two round trips to a busy primary,
// not five. PSYNC waits for their replies: a Redis primary refuses PSYNC
// while replies to the client are still pending.
func (s *Store) handshake(lc *linkConn) (replid string, offset int64, full bool, err error) {
	auth := s.conf().MasterAuth != ""
	cmds := [][]string{{"PING"}}
	if auth {
		args := []string{"AUTH", s.conf().MasterAuth}
		if s.conf().MasterUser != "" {
			args = []string{"AUTH", s.conf().MasterUser, s.conf().MasterAuth}
		}
		cmds = append(cmds, args)
	}
	port := s.cfg.ListeningPort
	if port == 0 {
		port = int(s.prim.port.Load())
	}
	cmds = append(cmds, []string{"REPLCONF", "listening-port", strconv.Itoa(port)})
	if s.cfg.AnnounceIP != "" {
		cmds = append(cmds, []string{"REPLCONF", "ip-address", s.cfg.AnnounceIP})
	}
	cmds = append(cmds, []string{"REPLCONF", "capa", "eof", "capa", "psync2"})
	if err := lc.sendAll(cmds); err != nil {
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
	if auth {
		if line, err = lc.readLine(); err != nil {
			return "", 0, false, fmt.Errorf("AUTH: %w", err)
		}
		if line != "+OK" {
			return "", 0, false, fmt.Errorf("%w: AUTH: primary replied %q", ErrNoAuth, line)
		}
	} else if strings.HasPrefix(line, "-NOAUTH") {
		return "", 0, false, fmt.Errorf("%w: %s (set Config.MasterAuth)", ErrNoAuth, line[1:])
	}
	replconfs := len(cmds) - 1 // after PING
	if auth {
		replconfs--
	}
	for range replconfs {
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
	if (s.rep.hasHistory.Load() || myOff > 0) && !s.rep.forceFull.Load() {
		psyncID, psyncOff = myID, strconv.FormatInt(myOff+1, 10)
	}
	var peer *peerHistory
	if psyncID != "?" && s.rep.dropped.demoted.Load() && s.prim.syncFull.Load()+s.prim.syncPartialOK.Load() > 0 {
		// A demoted primary that served replicas may hold writes the new
		// primary (one of them, perhaps) never had: ask where its history
		// stands, to tell what a full resync drops.
		if peer, err = s.probePeerHistory(lc); err != nil {
			return "", 0, false, err
		}
	}
	psync := []string{"PSYNC", psyncID, psyncOff}
	fo := lc.fo
	if fo != nil && (FailoverState(fo.state.Load()) != FailoverInProgress || !fo.claimSend()) {
		fo = nil // the failover ended or timed out: an ordinary reconnection
	}
	if fo != nil {
		psync = append(psync, "FAILOVER")
	}
	if err := lc.send(psync...); err != nil {
		return "", 0, false, err
	}
	if line, err = lc.readLine(); err != nil {
		return "", 0, false, fmt.Errorf("PSYNC: %w", err)
	}
	if fo != nil {
		fo.reportHandover(line)
	}
	switch {
	case strings.HasPrefix(line, "+FULLRESYNC"):
		id, off, err := parseFullResync(line[1:])
		if err != nil {
			return "", 0, false, fmt.Errorf("PSYNC: %w", err)
		}
		if psyncID != "?" && s.rep.dropped.demoted.Load() {
			lc.drop = judgeDropped(myID, myOff, id, off, peer)
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

// forgetHistory makes the next handshake ask "PSYNC ? -1", and moves
// this store's own stream to a new, throwaway history at the same offset:
// its replicas (which received the command too) and anything served
// before the full resync cannot continue the primary's history from data
// that may differ from it. The full resync then replaces the history.
func (s *Store) forgetHistory() {
	s.rep.forceFull.Store(true)
	s.st.mu.Lock()
	s.st.resetLocked(newReplID(), s.st.end, s.st.db)
	s.st.mu.Unlock()
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
	// A stalled transfer is caught by the read deadline, renewed per read
	// (linkReader).
	opt := LoadOptions{SkipNonString: true, ReplID: replid, Offset: offset}
	if strings.HasPrefix(header, "$EOF:") {
		mark := header[5:]
		if len(mark) != 40 {
			return false, fmt.Errorf("snapshot header: EOF mark of %d bytes, want 40", len(mark))
		}
		s.rep.loadTotal.Store(-1)
		er := newEOFReader(lc.rd, []byte(mark))
		stats, err := s.loadSnapshot(ctx, er, opt, &s.rep.load, er.finish, false)
		if err != nil {
			return true, err
		}
		s.logLoad(stats)
		if left := er.Leftover(); len(left) > 0 {
			lc.rd = resp.NewReader(io.MultiReader(bytes.NewReader(left), lc.rd), s.streamLimits())
		}
		return true, nil
	}
	n, err := strconv.ParseInt(header[1:], 10, 64)
	if err != nil || n < 0 {
		return false, fmt.Errorf("snapshot header: bad length %q", truncate(header, 64))
	}
	s.rep.loadTotal.Store(n)
	lr := newLengthReader(lc.rd, n)
	stats, err := s.loadSnapshot(ctx, lr, opt, &s.rep.load, lr.finish, false)
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

// linkReader is what a link's resp.Reader reads from: each read from the
// connection renews its deadline to ReplTimeout and, when bytes came,
// records the time of the primary's last byte. Doing this per read rather
// than per command keeps the clock and the deadline timer out of the apply
// loop (the reader takes many commands per read), while a primary that
// falls silent in the middle of a command is still caught.
type linkReader struct {
	conn net.Conn
	s    *Store
}

func (r linkReader) Read(p []byte) (int, error) {
	r.conn.SetReadDeadline(time.Now().Add(r.s.conf().ReplTimeout))
	n, err := r.conn.Read(p)
	if n > 0 {
		r.s.rep.lastIO.Store(time.Now().UnixNano())
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
		t := time.NewTicker(s.conf().AckPeriod)
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
		cmd, err := lc.rd.ReadCommand() // within ReplTimeout: see linkReader
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return fmt.Errorf("primary silent for %v: %w", s.conf().ReplTimeout, err)
			}
			return err
		}
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
			if errors.Is(err, errNeedFullResync) {
				// Our data may differ from the primary's from here on:
				// drop the link and start again from a snapshot.
				s.forgetHistory()
				s.cfg.Logger.Warn("full resync needed: the primary sent a command whose effect is unknowable here", "err", err)
				return err
			}
			s.cfg.Logger.Debug("stream command not applied", "err", err)
		}
	}
}
