package replikv

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"sync/atomic"
	"time"

	"github.com/replikv/replikv/backlog"
	"github.com/replikv/replikv/resp"
)

// stream is the store's replication stream: the history id, the byte
// offset, the backlog ring of recent bytes and the live subscribers.
//
// Lock order: a shard's mutex, then stream.mu, then a subscriber's mutex.
// Every mutation of the keyspace happens with stream.mu held, together
// with the append of its command, so that a snapshot (which starts under
// stream.mu) sees each write either wholly before or wholly after its
// offset.
type stream struct {
	mu sync.Mutex

	replid  string          // 40 hex characters
	replid2 string          // the history this one continued from ("" when none)
	off2    int64           // Redis second_repl_offset: first offset not valid for replid2; -1 when none
	older   []pastID        // the histories before replid2, newest first (at most maxPastIDs)
	end     int64           // offset of the next byte (Redis master_repl_offset)
	ring    *backlog.Buffer // the shared stream buffer; its window is the backlog
	db      int             // database of the last SELECT in the stream, -1 before any
	buf     []byte
	subs    []*Subscription
	snap    *Snapshot // the snapshot in progress, if any
	// role is the store's Role (see replication.go): written only with
	// mu held (and Store.ctl), read under mu by writes and lock-free by
	// readers. A replica's stream is exactly what its primary sent; its
	// local writes (ReplicaWritable) are not propagated, as in Redis.
	role atomic.Int32
	// tx collects the commands of a transaction (Store.Atomic) so that
	// they reach the stream wrapped in MULTI/EXEC when there are several.
	tx      bool
	txBuf   []byte
	txCount int
	epoch   uint64 // last snapshot epoch handed out
	// moved, when not nil, is closed (and cleared) at the next change of
	// the position: an append or a new history (WaitOffset waits on it).
	moved chan struct{}
	// pause is set while a failover pauses writes (failover.go), closed
	// and cleared when it ends; API writes wait on it.
	pause chan struct{}
	// changes counts the writes made or applied so far (Redis's dirty
	// counter, for save points and rdb_changes_since_last_save).
	changes int64
	now     func() time.Time
	// releasing is set while a goroutine gives back the blocks dropped
	// subscribers held (releaseDroppedLocked); releaser counts it, for
	// Store.Close to wait on.
	releasing bool
	releaser  sync.WaitGroup
	// letGoPending is set while a goroutine of releaseLetGo is on its way.
	letGoPending atomic.Bool
	// relMu guards relDone, set by Store.Close before it waits for
	// releaser: goForget counts its goroutine only before.
	relMu   sync.Mutex
	relDone bool
}

func newStream(backlogSize int, now func() time.Time) *stream {
	st := &stream{
		replid: newReplID(),
		off2:   -1,
		ring:   backlog.NewBuffer(backlogSize),
		db:     -1,
		now:    now,
	}
	st.ring.SetLowest(st.lowestLocked)
	// The stream's bytes live outside the Go heap (on Linux): a large
	// stream held for lagging replicas (up to their output limit) then
	// does not double through the garbage collector's heap goal.
	// Subscriptions keep a Cursor at the slices they hand out (lentAt).
	st.ring.SetMapped(true)
	return st
}

// lowestLocked returns the lowest stream offset a subscriber may still
// read (see backlog.Buffer.SetLowest).
func (st *stream) lowestLocked() int64 {
	low := st.end
	for _, sub := range st.subs {
		low = min(low, sub.held.Load())
	}
	return low
}

// newReplID returns 40 random hex characters, like Redis's run ids.
func newReplID() string {
	var b [20]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("replikv: crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}

// loadRole returns the store's role.
func (st *stream) loadRole() Role { return Role(st.role.Load()) }

// appendLocked adds raw stream bytes: to the backlog, the offset and every
// subscriber.
func (st *stream) appendLocked(b []byte) {
	if len(b) == 0 {
		return
	}
	st.ring.Append(b)
	st.end += int64(len(b))
	if st.moved != nil {
		st.wakeLocked()
	}
	if len(st.subs) == 0 {
		return
	}
	dropped := false
	for _, sub := range st.subs {
		if !sub.checkLimitsLocked(st.end) {
			dropped = true
		}
	}
	if dropped {
		st.pruneLocked()
		st.releaseDroppedLocked()
	}
}

// releaseDroppedLocked gives back the stream's memory that only
// subscribers just forgotten, or one that just caught up (see
// Subscription.setHeld), still held (up to their hard limit each): on a
// goroutine of its own, a few blocks per hold of the lock, so that
// writers wait no more than for an append that releases blocks. Once the
// store is closed (no writer to spare), at once: Store.Close waits for
// the goroutine (waitReleasers), and none starts after the role closed.
func (st *stream) releaseDroppedLocked() {
	if st.releasing || !st.ring.Release(0) {
		return
	}
	if st.loadRole() == RoleClosed {
		for st.ring.Release(releaseStep) {
		}
		return
	}
	st.releasing = true
	st.releaser.Add(1)
	go func() {
		defer st.releaser.Done()
		for more := true; more; {
			st.mu.Lock()
			more = st.ring.Release(releaseStep)
			st.releasing = more
			st.mu.Unlock()
		}
	}()
}

// forgetLocked forgets sub, which its owner just closed, and gives back
// the blocks only it held, once it no longer uses them (finished).
func (st *stream) forgetLocked(sub *Subscription) {
	if sub.finished() {
		st.pruneLocked()
		st.releaseDroppedLocked()
	}
}

// goForget is forgetLocked for a caller that cannot wait for the stream
// lock (Subscription.Close found it held): see goLocked.
func (st *stream) goForget(sub *Subscription) {
	st.goLocked(func() { st.forgetLocked(sub) })
}

// goLocked runs f with the stream lock held, for a caller that must not
// wait for that lock: on a goroutine that Store.Close waits for; once the
// store is closed (no OnClose callback runs, no writer holds the lock for
// long any more), at once.
func (st *stream) goLocked(f func()) {
	st.relMu.Lock()
	if st.relDone {
		st.relMu.Unlock()
		st.mu.Lock()
		f()
		st.mu.Unlock()
		return
	}
	st.releaser.Add(1)
	st.relMu.Unlock()
	go func() {
		defer st.releaser.Done()
		st.mu.Lock()
		f()
		st.mu.Unlock()
	}()
}

// waitReleasers waits, for Store.Close, until the goroutines of
// releaseDroppedLocked and goForget end; none starts after.
func (st *stream) waitReleasers() {
	st.relMu.Lock()
	st.relDone = true
	st.relMu.Unlock()
	st.releaser.Wait()
}

// releaseLetGo is releaseDroppedLocked for a reader that holds no lock,
// through goLocked (one at a time): a replica's feeder never waits for
// the stream lock, which busy writers hold most of the time (waiting for
// it there slowed the feeders of two in-memory replicas enough that one
// fell 256 MiB behind and was dropped).
func (st *stream) releaseLetGo() {
	if st.letGoPending.Swap(true) {
		return // one is on its way
	}
	st.goLocked(func() {
		st.letGoPending.Store(false)
		st.releaseDroppedLocked()
	})
}

// releaseStep is the blocks releaseDroppedLocked gives back per hold of
// the stream lock (32 blocks of 16 KiB: some tens of microseconds).
const releaseStep = 32

// pruneLocked forgets closed subscribers.
func (st *stream) pruneLocked() {
	keep := st.subs[:0]
	for _, sub := range st.subs {
		if !sub.finished() {
			keep = append(keep, sub)
		}
	}
	clear(st.subs[len(keep):])
	st.subs = keep
}

// beginLocked starts the encoding of one command issued by this store for
// database db, preceded by a SELECT when the stream is in another database.
func (st *stream) beginLocked(db int) []byte {
	b := st.buf[:0]
	if st.db != db && streams(st.loadRole()) {
		b = resp.AppendArrayLen(b, 2)
		b = resp.AppendBulkString(b, "SELECT")
		b = resp.AppendBulkInt(b, int64(db))
		st.db = db
	}
	return b
}

func (st *stream) finishLocked(b []byte) {
	st.changes++
	if !streams(st.loadRole()) {
		return
	}
	if st.tx {
		st.txBuf = append(st.txBuf, b...)
		st.txCount++
		st.buf = b[:0]
		return
	}
	st.appendLocked(b)
	if cap(b) <= 64<<10 {
		st.buf = b[:0]
	} else {
		st.buf = nil // do not pin a buffer grown by one huge value
	}
}

// emitSetLocked appends SET key value [PXAT deadline].
func (st *stream) emitSetLocked(db int, key string, value []byte, deadline int64) {
	b := st.beginLocked(db)
	if deadline != 0 {
		b = resp.AppendArrayLen(b, 5)
	} else {
		b = resp.AppendArrayLen(b, 3)
	}
	b = resp.AppendBulkString(b, "SET")
	b = resp.AppendBulkString(b, key)
	b = resp.AppendBulk(b, value)
	if deadline != 0 {
		b = resp.AppendBulkString(b, "PXAT")
		b = resp.AppendBulkInt(b, deadline)
	}
	st.finishLocked(b)
}

// emitKeyLocked appends a command of the form NAME key.
func (st *stream) emitKeyLocked(db int, name, key string) {
	b := st.beginLocked(db)
	b = resp.AppendArrayLen(b, 2)
	b = resp.AppendBulkString(b, name)
	b = resp.AppendBulkString(b, key)
	st.finishLocked(b)
}

// emitAppendLocked appends APPEND key suffix.
func (st *stream) emitAppendLocked(db int, key string, suffix []byte) {
	b := st.beginLocked(db)
	b = resp.AppendArrayLen(b, 3)
	b = resp.AppendBulkString(b, "APPEND")
	b = resp.AppendBulkString(b, key)
	b = resp.AppendBulk(b, suffix)
	st.finishLocked(b)
}

// emitPexpireatLocked appends PEXPIREAT key deadline.
func (st *stream) emitPexpireatLocked(db int, key string, deadline int64) {
	b := st.beginLocked(db)
	b = resp.AppendArrayLen(b, 3)
	b = resp.AppendBulkString(b, "PEXPIREAT")
	b = resp.AppendBulkString(b, key)
	b = resp.AppendBulkInt(b, deadline)
	st.finishLocked(b)
}

// emitArgsLocked appends a command given as its whole argument list
// (name first), for the less common commands that have no encoder of
// their own.
func (st *stream) emitArgsLocked(db int, args ...[]byte) {
	b := st.beginLocked(db)
	b = resp.AppendArrayLen(b, len(args))
	for _, a := range args {
		b = resp.AppendBulk(b, a)
	}
	st.finishLocked(b)
}

// emitBareLocked appends a command without arguments (FLUSHALL, PING).
// PING is not tied to a database and emits no SELECT.
func (st *stream) emitBareLocked(db int, name string) {
	var b []byte
	if name == "PING" {
		b = st.buf[:0]
	} else {
		b = st.beginLocked(db)
	}
	b = resp.AppendArrayLen(b, 1)
	b = resp.AppendBulkString(b, name)
	st.finishLocked(b)
	if name == "PING" {
		st.changes-- // a keepalive, not a write
	}
}

// txEndLocked appends a transaction's commands: alone when there is one,
// between MULTI and EXEC when there are several (as Redis propagates).
func (st *stream) txEndLocked() {
	st.tx = false
	b, n := st.txBuf, st.txCount
	st.txBuf, st.txCount = nil, 0
	if n == 0 {
		return
	}
	if n > 1 {
		// Like Redis, the SELECT the first command needed goes before
		// MULTI (only the first can need one: the database is the same).
		sel := resp.AppendBulkInt(resp.AppendBulkString(resp.AppendArrayLen(nil, 2), "SELECT"), int64(st.db))
		if bytes.HasPrefix(b, sel) {
			st.appendLocked(sel)
			b = b[len(sel):]
		}
		st.appendLocked(resp.AppendCommandString(nil, "MULTI"))
	}
	st.appendLocked(b)
	if n > 1 {
		st.appendLocked(resp.AppendCommandString(nil, "EXEC"))
	}
}

// resetLocked starts a new history at (replid, offset): the backlog is
// emptied and every subscriber is closed with ErrHistoryChanged.
func (st *stream) resetLocked(replid string, offset int64, db int) {
	st.wakeLocked()
	st.replid = replid
	st.replid2 = ""
	st.off2 = -1
	st.older = nil
	// The old history's blocks no subscriber can touch go back at once;
	// the rest, the collector's (lowestLocked answers for the old history
	// until st.end and st.subs change).
	st.ring.ResetReleasing(offset, st.lowestLocked())
	st.end = offset
	st.db = db
	st.closeSubsLocked(ErrHistoryChanged)
	// The blocks of the old history are never reused (Reset dropped them
	// all), so subscribers still writing them out need not be counted; and
	// their offsets belong to the old history.
	clear(st.subs)
	st.subs = st.subs[:0]
}

// closeSubsLocked closes every subscriber with err. Those whose owner may
// still be using slices of the shared buffer (see Subscription.finished)
// stay listed, so that the blocks they read are not reused until the
// owner lets go: the buffer goes on, unlike after resetLocked.
func (st *stream) closeSubsLocked(err error) {
	for _, sub := range st.subs {
		sub.close(err)
	}
	st.pruneLocked()
}

// shiftLocked starts a new history that continues the current one (Redis
// shiftReplicationId, used on promotion): replid2 := replid, off2 :=
// offset+1, and a fresh replid.
func (st *stream) shiftLocked(newID string) {
	st.wakeLocked()
	if st.replid2 != "" {
		st.older = append([]pastID{{st.replid2, st.off2}}, st.older[:min(len(st.older), maxPastIDs-1)]...)
	}
	st.replid2 = st.replid
	st.off2 = st.end + 1
	st.replid = newID
}

// historyLocked returns the stream's history for the PSYNC decision and
// WaitOffset.
func (st *stream) historyLocked() history {
	first, end := st.ring.Range()
	return history{ReplID: st.replid, ReplID2: st.replid2, Off2: st.off2, Older: st.older, First: first, End: end}
}

// wakeLocked wakes WaitOffset's waiters (see moved).
func (st *stream) wakeLocked() {
	if st.moved != nil {
		close(st.moved)
		st.moved = nil
	}
}
