package replikv

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// A syncJob is one snapshot produced for full resynchronisations. It is
// encoded once, into a spool file, and every replica attached to it reads
// that file from its first byte at its own pace, following the file while
// it grows. So a slow or stalled replica holds back neither the producer
// nor the other replicas (the producer finishes at disk speed and frees
// the snapshot right for the next job), and "$len" framing gets its
// length without a copy of the keyspace in memory: it waits for the file
// to be complete.
//
// Replicas asking for a full resync while a job exists attach to it when
// the backlog still holds the stream from the job's offset (Redis attaches
// them to a running BGSAVE); otherwise a new job starts as soon as the
// current one is produced.
type syncJob struct {
	replid string
	offset int64
	f      *os.File
	path   string // still to remove at the end ("" when already unlinked)

	mu      sync.Mutex
	changed chan struct{} // closed and replaced when size, done or err change
	size    int64         // bytes spooled so far
	done    bool          // the file is complete
	err     error         // production failed
	refs    int           // the producer and each attached replica
}

// errNoReaders ends the production of a job every replica has left.
var errNoReaders = errors.New("every replica of the full resync left")

// signalLocked wakes the readers waiting for more bytes or the end.
func (j *syncJob) signalLocked() {
	close(j.changed)
	j.changed = make(chan struct{})
}

// state returns the job's progress and a channel closed at its next change.
func (j *syncJob) state() (size int64, done bool, err error, changed <-chan struct{}) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.size, j.done, j.err, j.changed
}

// spoolWriter is what the snapshot encoder writes to: the job's file,
// with the size published to the readers after each write.
type spoolWriter struct {
	s *Store
	j *syncJob
}

func (w spoolWriter) Write(b []byte) (int, error) {
	if w.s.isClosed() {
		return 0, ErrClosed
	}
	if hook := w.s.prim.spoolHook.Load(); hook != nil {
		(*hook)(len(b))
	}
	j := w.j
	j.mu.Lock()
	if j.refs <= 1 { // only the producer is left
		j.err = errNoReaders
		j.signalLocked()
		j.mu.Unlock()
		return 0, errNoReaders
	}
	j.mu.Unlock()
	n, err := j.f.Write(b)
	j.mu.Lock()
	j.size += int64(n)
	j.signalLocked()
	j.mu.Unlock()
	if err != nil {
		return n, fmt.Errorf("spool file for the full resync at offset %d: %w", j.offset, err)
	}
	return n, nil
}

// keepalivePeriod is how often a waiting replica gets a newline: every
// second as Redis does, or more often when ReplTimeout is shorter than
// four seconds, so that a replica with the same timeout never starves.
func (s *Store) keepalivePeriod() time.Duration {
	return max(time.Millisecond, min(time.Second, s.conf().ReplTimeout/4))
}

// joinSync finds or starts the job a replica's full resync reads, and
// subscribes the replica to the stream from the job's offset in the same
// instant. While it waits for the right to start a snapshot (another job
// being produced, or a snapshot of the API), keepalive runs every
// keepalivePeriod; its error ends the wait.
func (s *Store) joinSync(lim SubscribeLimits, keepalive func() error) (*syncJob, *Subscription, error) {
	p := &s.prim
	t := time.NewTicker(s.keepalivePeriod())
	defer t.Stop()
	for {
		p.mu.Lock()
		wake := p.jobWake
		p.mu.Unlock()
		if j, sub := s.attachSync(lim); j != nil {
			return j, sub, nil
		}
		select {
		case s.snapMu <- struct{}{}:
		case <-wake: // a new job: try to attach to it
			continue
		case <-s.done:
			return nil, nil, ErrClosed
		case <-t.C:
			if err := keepalive(); err != nil {
				return nil, nil, err
			}
			continue
		}
		// Holding the snapshot right: a job produced meanwhile may do.
		if j, sub := s.attachSync(lim); j != nil {
			<-s.snapMu
			return j, sub, nil
		}
		j, sub, err := s.startSync(lim)
		if err != nil {
			<-s.snapMu
			return nil, nil, err
		}
		return j, sub, nil
	}
}

// attachSync attaches to the current job when it has not failed, belongs
// to the current history and the backlog still holds the stream from its
// offset; it returns nil otherwise.
func (s *Store) attachSync(lim SubscribeLimits) (*syncJob, *Subscription) {
	p := &s.prim
	p.mu.Lock()
	defer p.mu.Unlock()
	j := p.job
	if j == nil {
		return nil, nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err != nil {
		return nil, nil
	}
	st := s.st
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.replid != j.replid {
		return nil, nil
	}
	sub, err := st.subscribeLocked(j.offset, lim)
	if err != nil {
		return nil, nil // the backlog no longer covers the job's offset
	}
	j.refs++
	return j, sub
}

// startSync starts a new job; the caller holds the snapshot right, which
// the producer gives back when the snapshot is written.
func (s *Store) startSync(lim SubscribeLimits) (*syncJob, *Subscription, error) {
	dir := s.cfg.SpoolDir
	if dir == "" {
		dir = os.TempDir()
	}
	f, err := os.CreateTemp(dir, "replikv-fullsync-*.rdb")
	if err != nil {
		return nil, nil, fmt.Errorf("spool file for a full resync: %w", err)
	}
	path := f.Name()
	if os.Remove(path) == nil {
		path = "" // unlinked while open: nothing is left behind even after a crash
	}
	sn, sub, err := s.startSnapshot(&lim)
	if err != nil { // closed meanwhile
		f.Close()
		if path != "" {
			os.Remove(path)
		}
		return nil, nil, err
	}
	j := &syncJob{replid: sn.ReplID(), offset: sn.Offset(), f: f, path: path, changed: make(chan struct{}), refs: 2}
	p := &s.prim
	p.mu.Lock()
	p.job = j
	close(p.jobWake)
	p.jobWake = make(chan struct{})
	p.mu.Unlock()
	p.spools.Add(1)
	p.jobs.Add(1)
	s.wg.Add(1)
	go s.produce(j, sn)
	return j, sub, nil
}

// produce writes the snapshot into the job's file.
func (s *Store) produce(j *syncJob, sn *Snapshot) {
	defer s.wg.Done()
	bw := bufio.NewWriterSize(spoolWriter{s, j}, 64<<10)
	_, err := sn.WriteTo(bw) // closes sn: the next snapshot may start
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		s.cfg.Logger.Info("full resync snapshot not produced", "offset", j.offset, "err", err)
	}
	j.mu.Lock()
	if err != nil && j.err == nil {
		j.err = err
	}
	j.done = err == nil
	j.signalLocked()
	j.mu.Unlock()
	if err != nil {
		s.prim.mu.Lock()
		if s.prim.job == j {
			s.prim.job = nil
		}
		s.prim.mu.Unlock()
	}
	s.releaseSync(j)
}

// releaseSync drops one reference to j; the last one closes and removes
// its file.
func (s *Store) releaseSync(j *syncJob) {
	p := &s.prim
	p.mu.Lock()
	j.mu.Lock()
	j.refs--
	last := j.refs == 0
	j.mu.Unlock()
	if last && p.job == j {
		p.job = nil
	}
	p.mu.Unlock()
	if last {
		j.f.Close()
		if j.path != "" {
			os.Remove(j.path)
		}
		p.spools.Add(-1)
	}
}

// sendSync sends the job to the replica, framed "$EOF:" when eof is set
// (streaming the file while it is produced) or "$<len>" (after it is
// complete, with keepalive newlines meanwhile). rc's progress counters
// follow the transfer.
func (s *Store) sendSync(rc *replicaConn, w *bufio.Writer, j *syncJob, eof bool, keepalive func() error) error {
	if eof {
		rc.setState("send_bulk")
		var raw [20]byte
		rand.Read(raw[:])
		mark := hex.EncodeToString(raw[:])
		w.WriteString("$EOF:" + mark + "\r\n")
		if err := w.Flush(); err != nil { // the replica learns the transfer has begun
			return err
		}
		if err := s.copySync(rc, w, j); err != nil {
			return err
		}
		w.WriteString(mark)
		return w.Flush()
	}
	size, _, err := s.awaitJob(j, func(_ int64, done bool) bool { return done }, keepalive)
	if err != nil {
		return err
	}
	rc.syncTotal.Store(size)
	rc.setState("send_bulk")
	w.WriteString("$" + strconv.FormatInt(size, 10) + "\r\n")
	if err := s.copySync(rc, w, j); err != nil {
		return err
	}
	return w.Flush()
}

// awaitJob waits until ready(size, done) holds for the job, or it fails,
// calling tick (when not nil) every keepalivePeriod meanwhile; an error
// from tick ends the wait.
func (s *Store) awaitJob(j *syncJob, ready func(size int64, done bool) bool, tick func() error) (int64, bool, error) {
	var tc <-chan time.Time
	if tick != nil {
		t := time.NewTicker(s.keepalivePeriod())
		defer t.Stop()
		tc = t.C
	}
	for {
		size, done, err, changed := j.state()
		if err != nil {
			return size, done, fmt.Errorf("producing the snapshot: %w", err)
		}
		if ready(size, done) {
			return size, done, nil
		}
		select {
		case <-changed:
		case <-tc:
			if err := tick(); err != nil {
				return size, done, err
			}
		case <-s.done:
			return size, done, ErrClosed
		}
	}
}

// copySync writes the job's file to w from its first byte, following it
// while it grows, until it is complete. Every write has the connection's
// deadline: a replica that takes nothing for ReplTimeout fails it.
func (s *Store) copySync(rc *replicaConn, w *bufio.Writer, j *syncJob) error {
	buf := make([]byte, 32<<10)
	var off int64
	for {
		size, done, err := s.awaitJob(j, func(size int64, done bool) bool { return done || size > off }, nil)
		if err != nil {
			return err
		}
		if done {
			rc.syncTotal.Store(size)
		}
		for off < size {
			n, rerr := j.f.ReadAt(buf[:min(int64(len(buf)), size-off)], off)
			if n > 0 {
				if _, err := w.Write(buf[:n]); err != nil {
					return err
				}
				off += int64(n)
				rc.syncSent.Store(off)
			}
			if rerr != nil && (!errors.Is(rerr, io.EOF) || n == 0) {
				return fmt.Errorf("reading the spool file at %d: %w", off, rerr)
			}
		}
		if done {
			return nil
		}
		if err := w.Flush(); err != nil { // what is there goes out while more is produced
			return err
		}
	}
}

// syncJobInfo reports the job being produced, if any: its offset, the
// bytes spooled and the replicas attached.
func (s *Store) syncJobInfo() (producing bool, offset, size int64, replicas int) {
	p := &s.prim
	p.mu.Lock()
	defer p.mu.Unlock()
	j := p.job
	if j == nil {
		return false, 0, 0, 0
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	replicas = j.refs
	if !j.done && j.err == nil {
		replicas-- // the producer
	}
	return !j.done && j.err == nil, j.offset, j.size, replicas
}

// replicaProgress is the primary's view of one replica's full resync.
type replicaProgress struct {
	syncSent  atomic.Int64 // snapshot bytes sent
	syncTotal atomic.Int64 // snapshot size, -1 while unknown
}
