package replikv

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/replikv/replikv/rdb"
)

// A Snapshot is a point-in-time view of a Store, tagged with the stream
// offset it represents, that can be written out in the Redis RDB format
// while writers keep writing.
//
// No copy of the keyspace is made and the world is not stopped. The
// snapshot visits the shards one at a time; until it has visited a shard,
// the first write to each key of that shard records the key's previous
// state (a reference to the immutable item, not a copy of it), so the
// visit sees the shard as it was at the snapshot's offset. A writer waits
// at most for one shard visit, which only gathers references.
type Snapshot struct {
	s       *Store
	epoch   uint64
	replid  string
	offset  int64
	db      int // database the stream is in at offset (RDB repl-stream-db)
	keys    int // size hints for RESIZEDB
	expires int

	sink     byte          // see prefetch
	maxPause time.Duration // written by WriteTo's goroutine only
	visits   int           // shards visited so far, by WriteTo's goroutine

	used     atomic.Bool // WriteTo was called: a snapshot is written once
	closed   atomic.Bool // Close was called: no more shard visits
	aborted  atomic.Bool // the store's history was replaced meanwhile
	finished atomic.Bool // every shard was visited
}

// BeginSnapshot fixes a point-in-time view of the store at its current
// stream offset. Only one snapshot runs at a time: BeginSnapshot waits
// for the previous one to be closed, or for ctx. The caller must call
// WriteTo or Close, or writers keep preserving old states for it. A
// snapshot is written once: WriteTo after WriteTo or Close fails with
// ErrSnapshotClosed. After the store's Close it returns ErrClosed.
func (s *Store) BeginSnapshot(ctx context.Context) (*Snapshot, error) {
	sn, _, err := s.beginSnapshot(ctx, nil)
	return sn, err
}

// beginSnapshot starts a snapshot and, when lim is not nil, subscribes to
// the stream from the snapshot's offset in the same instant.
func (s *Store) beginSnapshot(ctx context.Context, lim *SubscribeLimits) (*Snapshot, *Subscription, error) {
	if err := s.acquireSnapshot(ctx, nil); err != nil {
		return nil, nil, err
	}
	sn, sub, err := s.startSnapshot(lim)
	if err != nil {
		<-s.snapMu
	}
	return sn, sub, err
}

// acquireSnapshot waits for the right to run a snapshot, calling tick
// (when not nil) every second meanwhile; an error from tick ends the wait.
func (s *Store) acquireSnapshot(ctx context.Context, tick func() error) error {
	if s.isClosed() { // a select below would pick at random among ready cases
		return ErrClosed
	}
	var tc <-chan time.Time
	if tick != nil {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		tc = t.C
	}
	for {
		select {
		case s.snapMu <- struct{}{}:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-s.done:
			return ErrClosed
		case <-tc:
			if err := tick(); err != nil {
				return err
			}
		}
	}
}

// startSnapshot fixes the snapshot point; the caller holds the snapshot
// right (acquireSnapshot) and gives it back when this fails. With lim, it also
// subscribes from that point.
func (s *Store) startSnapshot(lim *SubscribeLimits) (*Snapshot, *Subscription, error) {
	keys, expires := s.counts()
	st := s.st
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.loadRole() == RoleClosed {
		return nil, nil, ErrClosed
	}
	st.epoch++
	sn := &Snapshot{s: s, epoch: st.epoch, replid: st.replid, offset: st.end, db: st.db, keys: keys, expires: expires}
	if sn.db < 0 {
		sn.db = s.cfg.DB
	}
	if streams(st.loadRole()) {
		st.db = -1 // the next command selects its database again, as Redis does
	}
	st.snap = sn
	var sub *Subscription
	if lim != nil {
		sub = st.newSubscriptionLocked(st.end, *lim)
		st.subs = append(st.subs, sub)
	}
	return sn, sub, nil
}

// counts returns the number of keys and of keys with a deadline.
func (s *Store) counts() (keys, expires int) {
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.RLock()
		keys += sh.t.n
		expires += sh.t.ttl
		sh.mu.RUnlock()
	}
	return keys, expires
}

// ReplID returns the replication ID of the history the snapshot belongs to.
func (sn *Snapshot) ReplID() string { return sn.replid }

// Offset returns the stream offset the snapshot represents: it holds
// exactly the effect of the stream's bytes before this offset.
func (sn *Snapshot) Offset() int64 { return sn.offset }

// MaxPause returns the longest time the snapshot held one shard's lock
// (gathering references to its items): the longest a writer of that shard
// could have waited for it. Valid after WriteTo.
func (sn *Snapshot) MaxPause() time.Duration { return sn.maxPause }

// WriteTo writes the snapshot to w as an RDB file (version 9, with the
// repl-id and repl-offset aux fields) and closes the snapshot. It returns
// the number of bytes written. It fails with ErrHistoryChanged if the
// store loaded another history meanwhile.
func (sn *Snapshot) WriteTo(w io.Writer) (int64, error) {
	if !sn.used.CompareAndSwap(false, true) || sn.closed.Load() {
		return 0, fmt.Errorf("replikv: snapshot at offset %d: %w", sn.offset, ErrSnapshotClosed)
	}
	defer sn.Close()
	cw := &countingWriter{w: w}
	rw, err := rdb.NewWriter(cw, rdb.WriterOptions{
		ReplID:        sn.replid,
		ReplOffset:    sn.offset,
		ReplStreamDB:  sn.db,
		NoCompression: sn.s.cfg.SnapshotNoCompression,
	})
	if err != nil {
		return cw.n, err
	}
	selected := false
	var refs []slotRef
	for i := range sn.s.shards {
		refs, err = sn.collect(&sn.s.shards[i], refs[:0])
		if err != nil {
			return cw.n, err
		}
		if len(refs) > 0 && !selected {
			if err := rw.SelectDB(sn.s.cfg.DB, uint64(sn.keys), uint64(sn.expires)); err != nil {
				return cw.n, err
			}
			selected = true
		}
		sn.sink += prefetch(refs)
		for j := range refs {
			r := &refs[j]
			if err := rw.WriteString(r.s.key(), r.s.value(), r.deadline); err != nil {
				return cw.n, err
			}
		}
		clear(refs) // do not keep items alive
	}
	if err := rw.Close(); err != nil {
		return cw.n, err
	}
	sn.finished.Store(true)
	return cw.n, nil
}

// yieldEvery is how many shard visits a snapshot makes between yields.
const yieldEvery = 16

// collect gathers references to the shard's items as they were at the
// snapshot's offset and marks the shard visited.
func (sn *Snapshot) collect(sh *shard, out []slotRef) ([]slotRef, error) {
	// Start visits on a fresh time slice now and then: a goroutine
	// preempted while it holds the shard's lock would stall that shard's
	// writers for a slice. Not before every visit: on a busy machine each
	// yield waits for a turn, and 1024 of them made a snapshot take
	// seconds (replicas timed out waiting for its first bytes).
	if sn.visits++; sn.visits%yieldEvery == 1 {
		runtime.Gosched()
	}
	sh.mu.Lock()
	start := time.Now()
	defer func() {
		sn.maxPause = max(sn.maxPause, time.Since(start))
		sh.mu.Unlock()
	}()
	// Checked under the shard's lock: once Close has started, it (or the
	// next snapshot) owns the shards' copy-on-write state.
	if sn.closed.Load() {
		return out, fmt.Errorf("replikv: snapshot at offset %d: %w", sn.offset, ErrSnapshotClosed)
	}
	if sn.aborted.Load() {
		return out, fmt.Errorf("snapshot at offset %d: %w", sn.offset, ErrHistoryChanged)
	}
	base := &sh.t
	if sh.frozenEpoch == sn.epoch && sh.frozen != nil {
		base = sh.frozen
	}
	var pres map[string]slotRef
	if sh.presEpoch == sn.epoch {
		pres = sh.pres
	}
	base.each(func(sl *slot) bool {
		if pres != nil {
			if _, changed := pres[sl.key()]; changed {
				return true
			}
		}
		out = append(out, slotRef{s: *sl, deadline: sl.deadline()})
		return true
	})
	for _, r := range pres {
		if r.s.p != nil {
			out = append(out, r)
		}
	}
	sn.release(sh)
	return out, nil
}

// release marks sh visited by this snapshot and frees what writers
// preserved for it, never a later snapshot's state; sh is locked.
func (sn *Snapshot) release(sh *shard) {
	sh.doneEpoch = max(sh.doneEpoch, sn.epoch)
	if sh.presEpoch == sn.epoch {
		sh.pres = nil
	}
	if sh.frozenEpoch == sn.epoch {
		sh.frozen = nil
	}
}

// Close ends the snapshot without writing (the rest of) it, releasing what
// writers preserved for it and letting the next snapshot begin. It is
// idempotent, safe after WriteTo and concurrently with it (WriteTo then
// fails with ErrSnapshotClosed).
func (sn *Snapshot) Close() error {
	if !sn.closed.CompareAndSwap(false, true) {
		return nil
	}
	s := sn.s
	s.st.mu.Lock()
	if s.st.snap == sn {
		s.st.snap = nil
	}
	s.st.mu.Unlock()
	if !sn.finished.Load() {
		for i := range s.shards {
			sh := &s.shards[i]
			sh.mu.Lock()
			sn.release(sh)
			sh.mu.Unlock()
		}
	}
	<-s.snapMu
	return nil
}

// abortSnapshotLocked cancels the running snapshot; the caller holds every
// lock (lockAll).
func (s *Store) abortSnapshotLocked() {
	sn := s.st.snap
	if sn == nil {
		return
	}
	sn.aborted.Store(true)
	s.st.snap = nil
	for i := range s.shards {
		sh := &s.shards[i]
		sh.pres, sh.frozen = nil, nil
	}
}

// prefetch reads a byte at each end of every item, so that the cache
// misses of a shard's items overlap instead of stalling the encoder one
// after another (items are scattered over the heap). The sum keeps the
// loads from being optimised away.
func prefetch(refs []slotRef) byte {
	var sum byte
	for j := range refs {
		s := &refs[j].s
		n := uintptr(s.klen) + uintptr(s.vlen&vlenMask)
		if n > 0 {
			sum += *(*byte)(s.p) + *(*byte)(unsafe.Add(s.p, n-1))
		}
	}
	return sum
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
