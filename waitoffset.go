package replikv

import (
	"context"
	"fmt"
)

// This file is read-your-writes: a write reports the stream position it
// produced (Pos), Wait waits for replicas to acknowledge it, and
// WaitOffset waits on a replica until it has applied it.
//
// Why positions are returned, not looked up: Position() right after a
// write may already include other writers' bytes (too late: Wait waits
// longer than needed) and, across a role change, another history. Go has
// no per-goroutine state to keep "this caller's last write" in, as Redis
// keeps it per connection, so the write itself hands it over: SetPos and
// AtomicKeysPos read the position under the lock that orders the stream,
// in the same critical section as the write. They allocate nothing more
// than the write does.

// Pos is a point of a replication history: the replication ID and the
// stream offset right after a write. The zero Pos is before everything.
type Pos struct {
	ReplID string
	Offset int64
}

// String returns "<replid>:<offset>".
func (p Pos) String() string { return fmt.Sprintf("%s:%d", p.ReplID, p.Offset) }

// SetPos is SetWithOptions that also returns the stream position right
// after the write (after the position before it when NX or XX prevented
// it): pass it to Wait, or to a reader that calls WaitOffset on a
// replica.
func (s *Store) SetPos(key string, value []byte, opt SetOptions) (SetResult, Pos, error) {
	var pos Pos
	res, err := s.set(key, value, opt, &pos)
	return res, pos, err
}

// AtomicKeysPos is AtomicKeys that also returns the stream position
// right after the transaction's commands: any write (Delete, IncrBy,
// Expire …, through tx) can report its position this way.
func (s *Store) AtomicKeysPos(keys []string, fn func(tx *Tx) error) (Pos, error) {
	var pos Pos
	err := s.atomicKeys(keys, fn, &pos)
	return pos, err
}

// historyHas decides whether a store whose history is h (at h.End) has
// applied position p: yes, not yet (wait), or never (its history went
// another way at that offset). A history it does not know may be one it
// has not learnt yet (its primary was promoted): not yet.
func historyHas(h history, p Pos) (applied, never bool) {
	if p.ReplID == h.ReplID {
		return h.End >= p.Offset, false
	}
	if end, ok := h.prevEnd(p.ReplID); ok {
		// Offsets up to end-1 are shared with that earlier history.
		if p.Offset <= end-1 {
			return true, false
		}
		return false, true
	}
	return false, false
}

// WaitOffset waits until this store has applied the stream up to offset
// of the history replid, or of a history that continues it (as PSYNC
// accepts: the previous replication ID up to where it was left), and
// returns nil; or until ctx is done (ctx's error). A replica uses it to
// read its own writes: the writer passes the Pos its write returned. It
// returns ErrHistoryDiverged when this store continued replid's history
// from a point before offset (a failover lost that write), or was in that
// history and left it for an unrelated one before offset (a full resync
// from another primary); and ErrClosed after Close. A store that has not
// reached replid's history yet (a replica still syncing) is waited for.
func (s *Store) WaitOffset(ctx context.Context, replid string, offset int64) error {
	p := Pos{ReplID: replid, Offset: offset}
	inside := false // the store was seen in replid's history (or one continuing it)
	for {
		st := s.st
		st.mu.Lock()
		h := st.historyLocked()
		applied, never := historyHas(h, p)
		known := h.knows(replid)
		if !known && inside {
			never = true // it left that history without continuing it (a full resync elsewhere)
		}
		inside = inside || known
		cur := Pos{st.replid, st.end}
		var moved chan struct{}
		if !applied && !never {
			if st.moved == nil {
				st.moved = make(chan struct{})
			}
			moved = st.moved
		}
		st.mu.Unlock()
		switch {
		case applied:
			return nil
		case never:
			return fmt.Errorf("%w: waiting for %v, this store is at %v", ErrHistoryDiverged, p, cur)
		}
		select {
		case <-moved:
		case <-ctx.Done():
			return fmt.Errorf("waiting for %v, this store is at %v: %w", p, cur, ctx.Err())
		case <-s.done:
			return ErrClosed
		}
	}
}

// Wait waits until n replicas have acknowledged the stream up to the
// caller's write at pos (Redis WAIT, for the caller's own write rather
// than the whole stream), asking them with REPLCONF GETACK, and returns
// how many have. When ctx ends first it returns the count so far and
// ctx's error. pos from another history than this store's (or the one
// it continued, up to where it was left) gives ErrHistoryDiverged.
func (s *Store) Wait(ctx context.Context, n int, pos Pos) (int, error) {
	st := s.st
	st.mu.Lock()
	h := st.historyLocked()
	_, never := historyHas(h, pos)
	known := pos.ReplID == "" || h.knows(pos.ReplID)
	st.mu.Unlock()
	if never || !known {
		return 0, fmt.Errorf("%w: %v", ErrHistoryDiverged, pos)
	}
	got := s.WaitReplicas(ctx, n, pos.Offset)
	if got >= n {
		return got, nil
	}
	if err := ctx.Err(); err != nil {
		return got, fmt.Errorf("%d of %d replicas acknowledged offset %d: %w", got, n, pos.Offset, err)
	}
	return got, ErrClosed
}
