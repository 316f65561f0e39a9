package replikv

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Tx is a view of the store inside Atomic: its operations see and change
// the store with every other reader and writer held off, and their stream
// commands are propagated together (wrapped in MULTI/EXEC when there are
// several, as Redis does for transactions). A Tx is valid only inside the
// function passed to Atomic.
type Tx struct {
	s      *Store
	done   bool
	shards []int // the shards AtomicKeys locked (sorted); nil: all of them
	oom    error // ErrOOM from before the locks: writes that may grow fail
}

// grow admits a write that may grow the data: ErrOOM when the store was
// above Config.MaxMemory, and could not evict, as the transaction began.
func (tx *Tx) grow() error {
	if tx.done {
		return errTxDone
	}
	return tx.oom
}

// AdmitGrowth lets the rest of the transaction's writes grow the data
// even though the store was above Config.MaxMemory, and could not evict,
// as the transaction began: for a caller that decided admission itself
// before (a server's EXEC, which Redis checks once for the whole
// transaction, never per queued command).
func (tx *Tx) AdmitGrowth() { tx.oom = nil }

// errTxDone guards against a Tx used after its Atomic returned.
var errTxDone = errors.New("replikv: transaction used after Atomic returned")

// Atomic runs fn with the whole store locked, like Redis MULTI/EXEC: no
// other operation interleaves with fn's. Like Redis, there is no rollback:
// changes made before fn returns an error stay (and are propagated).
// fn must not call the Store's own methods (it would deadlock); it uses tx.
// Before locking, it evicts as any write does (Config.MaxMemory); when
// memory stays above the limit, tx's writes that may grow the data fail
// with ErrOOM.
func (s *Store) Atomic(fn func(tx *Tx) error) error {
	s.awaitWritable()
	oom := s.makeRoom(true)
	s.lockAll()
	s.st.tx = true
	tx := &Tx{s: s, oom: oom}
	defer func() {
		tx.done = true
		s.st.txEndLocked()
		s.unlockAll()
	}()
	return fn(tx)
}

// AtomicKeys is Atomic for operations on the given keys only: just their
// shards are locked, so the rest of the store stays available meanwhile.
// An operation in fn on another key, and FlushAll, return an error
// wrapping ErrInvalidArgument; Len counts the keys of the locked shards.
func (s *Store) AtomicKeys(keys []string, fn func(tx *Tx) error) error {
	return s.atomicKeys(keys, fn, nil)
}

// atomicKeys is AtomicKeys; when pos is not nil it receives the stream
// position right after the transaction's commands (see AtomicKeysPos).
func (s *Store) atomicKeys(keys []string, fn func(tx *Tx) error, pos *Pos) error {
	s.awaitWritable()
	oom := s.makeRoom(true)
	idx := s.lockKeys(keys)
	s.st.tx = true
	tx := &Tx{s: s, shards: idx, oom: oom}
	defer func() {
		tx.done = true
		s.st.txEndLocked()
		if pos != nil {
			*pos = Pos{ReplID: s.st.replid, Offset: s.st.end}
		}
		s.unlockKeys(idx)
	}()
	return fn(tx)
}

// covers reports whether the transaction holds key's shard.
func (tx *Tx) covers(key string) bool {
	if tx.shards == nil {
		return true
	}
	_, ok := slices.BinarySearch(tx.shards, int(hashKey(key)>>tx.s.shift))
	return ok
}

// checkKey is check for an operation on key.
func (tx *Tx) checkKey(key string, write bool) error {
	if err := tx.check(write); err != nil {
		return err
	}
	if !tx.covers(key) {
		return fmt.Errorf("%w: key %q is not among the keys of AtomicKeys", ErrInvalidArgument, key)
	}
	return nil
}

func (tx *Tx) check(write bool) error {
	if tx.done {
		return errTxDone
	}
	if write {
		return tx.s.admitLocked()
	}
	return tx.s.readable()
}

// Get is Store.Get inside the transaction: it returns a copy.
func (tx *Tx) Get(key string) ([]byte, error) {
	if err := tx.checkKey(key, false); err != nil {
		return nil, err
	}
	sh, i := tx.s.lookupLocked(key)
	if i < 0 || tx.s.expired(&sh.t.slots[i], tx.s.nowMs()) {
		return nil, ErrNotFound
	}
	tx.s.mem.touch(&sh.t, i)
	v := sh.t.slots[i].value()
	return append(make([]byte, 0, len(v)), v...), nil
}

// View is Store.View inside the transaction: fn sees the value in place
// and runs with the transaction's locks held, so it must not call the
// store (it may use tx).
func (tx *Tx) View(key string, fn func(value []byte) error) error {
	if err := tx.checkKey(key, false); err != nil {
		return err
	}
	sh, i := tx.s.lookupLocked(key)
	if i < 0 || tx.s.expired(&sh.t.slots[i], tx.s.nowMs()) {
		return ErrNotFound
	}
	tx.s.mem.touch(&sh.t, i)
	return fn(sh.t.slots[i].value())
}

// Exists is Store.Exists inside the transaction: not an access of the
// key (Redis's EXISTS looks up with LOOKUP_NOTOUCH).
func (tx *Tx) Exists(key string) bool { return tx.lookup(key, false) }

// lookup reports whether key exists (not expired), counting the lookup as
// an access of the key when touch is set (TOUCH).
func (tx *Tx) lookup(key string, touch bool) bool {
	if tx.checkKey(key, false) != nil {
		return false
	}
	sh, i := tx.s.lookupLocked(key)
	if i < 0 || tx.s.expired(&sh.t.slots[i], tx.s.nowMs()) {
		return false
	}
	if touch {
		tx.s.mem.touch(&sh.t, i)
	}
	return true
}

// ExpireTime is Store.ExpireTime inside the transaction.
func (tx *Tx) ExpireTime(key string) (time.Time, bool) {
	dl, ok := tx.expireTimeMs(key)
	return timeOf(dl), ok
}

func (tx *Tx) expireTimeMs(key string) (int64, bool) {
	if tx.checkKey(key, false) != nil {
		return 0, false
	}
	sh, i := tx.s.lookupLocked(key)
	if i < 0 || tx.s.expired(&sh.t.slots[i], tx.s.nowMs()) {
		return 0, false
	}
	return sh.t.slots[i].deadline(), true
}

// TTL is Store.TTL inside the transaction.
func (tx *Tx) TTL(key string) (time.Duration, bool) {
	dl, ok := tx.expireTimeMs(key)
	return ttlOf(dl, ok, tx.s.nowMs())
}

// Set is Store.Set inside the transaction.
func (tx *Tx) Set(key string, value []byte) error {
	_, err := tx.SetWithOptions(key, value, SetOptions{})
	return err
}

// SetWithOptions is Store.SetWithOptions inside the transaction.
func (tx *Tx) SetWithOptions(key string, value []byte, opt SetOptions) (SetResult, error) {
	if err := tx.grow(); err != nil {
		return SetResult{}, err
	}
	if err := tx.checkKey(key, true); err != nil {
		return SetResult{}, err
	}
	it, err := tx.s.prepareSet(key, value, opt)
	if err != nil {
		return SetResult{}, err
	}
	return tx.s.setLocked(key, value, opt, it), nil
}

// Delete is Store.Delete inside the transaction.
func (tx *Tx) Delete(keys ...string) (int, error) {
	if err := tx.check(true); err != nil {
		return 0, err
	}
	for _, k := range keys {
		if err := tx.checkKey(k, true); err != nil {
			return 0, err
		}
	}
	n := 0
	for _, k := range keys {
		if tx.s.deleteKeyLocked(k) {
			n++
		}
	}
	return n, nil
}

// ExpireAt is Store.ExpireAt inside the transaction.
func (tx *Tx) ExpireAt(key string, at time.Time) (bool, error) {
	if err := tx.checkKey(key, true); err != nil {
		return false, err
	}
	return tx.s.expireAtLocked(key, msOf(at)), nil
}

// Expire is Store.Expire inside the transaction.
func (tx *Tx) Expire(key string, ttl time.Duration) (bool, error) {
	if err := tx.checkKey(key, true); err != nil {
		return false, err
	}
	return tx.s.expireAtLocked(key, tx.s.nowMs()+ttlMs(ttl)), nil
}

// Persist is Store.Persist inside the transaction.
func (tx *Tx) Persist(key string) (bool, error) {
	if err := tx.checkKey(key, true); err != nil {
		return false, err
	}
	return tx.s.persistKeyLocked(key), nil
}

// IncrBy is Store.IncrBy inside the transaction.
func (tx *Tx) IncrBy(key string, delta int64) (int64, error) {
	if err := tx.grow(); err != nil {
		return 0, err
	}
	if err := tx.checkKey(key, true); err != nil {
		return 0, err
	}
	return tx.s.incrByLocked(key, delta)
}

// Append is Store.Append inside the transaction.
func (tx *Tx) Append(key string, suffix []byte) (int, error) {
	if err := tx.grow(); err != nil {
		return 0, err
	}
	if err := tx.checkKey(key, true); err != nil {
		return 0, err
	}
	return tx.s.appendValueLocked(key, suffix)
}

// FlushAll is Store.FlushAll inside the transaction.
func (tx *Tx) FlushAll() error {
	if err := tx.check(true); err != nil {
		return err
	}
	if tx.shards != nil {
		return fmt.Errorf("%w: FlushAll inside AtomicKeys", ErrInvalidArgument)
	}
	tx.s.clearLocked()
	tx.s.st.emitBareLocked(tx.s.cfg.DB, "FLUSHALL")
	return nil
}

// Len is Store.Len inside the transaction; inside AtomicKeys it counts
// only the keys of the locked shards.
func (tx *Tx) Len() int {
	if tx.shards != nil {
		n := 0
		for _, i := range tx.shards {
			n += tx.s.shards[i].t.n
		}
		return n
	}
	n := 0
	for i := range tx.s.shards {
		n += tx.s.shards[i].t.n
	}
	return n
}
