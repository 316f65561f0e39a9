package replikv

import (
	"fmt"
	"github.com/replikv/replikv/internal/strops"
	"math"
	"strconv"
	"time"
	"unsafe"
)

// SetOptions are the options of Redis SET.
type SetOptions struct {
	// TTL, when positive, makes the key expire TTL from now (SET … PX).
	// It is turned into an absolute deadline at once.
	TTL time.Duration
	// ExpireAt, when not the zero time, is the absolute deadline
	// (SET … PXAT; kept to the millisecond). A deadline in the past
	// deletes the key.
	ExpireAt time.Time
	// NX sets the key only if it does not exist; XX only if it does.
	NX, XX bool
	// KeepTTL keeps the key's current deadline (SET … KEEPTTL).
	KeepTTL bool
	// Get returns the previous value in SetResult.Old (SET … GET).
	Get bool
}

// SetResult reports what a Set did.
type SetResult struct {
	// Written is false when NX or XX prevented the write.
	Written bool
	// Old and OldExists hold the previous value when SetOptions.Get was
	// set; Old is a copy the caller owns.
	Old       []byte
	OldExists bool
}

// Set stores value under key with no deadline, replacing any previous value
// and deadline. The value is copied.
func (s *Store) Set(key string, value []byte) error {
	_, err := s.SetWithOptions(key, value, SetOptions{})
	return err
}

// SetTTL stores value under key to expire ttl from now (Redis SET … PX).
func (s *Store) SetTTL(key string, value []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("%w: invalid expire time %v in SetTTL", ErrInvalidArgument, ttl)
	}
	_, err := s.SetWithOptions(key, value, SetOptions{TTL: ttl})
	return err
}

// SetWithOptions is Redis SET with all its options. The stream receives
// SET key value [PXAT deadline] (a deadline in the past gives DEL), or
// nothing when NX/XX prevented the write.
func (s *Store) SetWithOptions(key string, value []byte, opt SetOptions) (SetResult, error) {
	return s.set(key, value, opt, nil)
}

// set is SetWithOptions; when pos is not nil it receives the stream
// position right after the write (see SetPos).
func (s *Store) set(key string, value []byte, opt SetOptions, pos *Pos) (SetResult, error) {
	if err := s.makeRoom(true); err != nil { // Redis: denyoom
		return SetResult{}, err
	}
	it, err := s.prepareSet(key, value, opt)
	if err != nil {
		return SetResult{}, err
	}
	sh, err := s.lockWrite(key)
	if err != nil {
		return SetResult{}, err
	}
	defer s.unlockWrite(sh)
	res := s.setLocked(key, value, opt, it)
	if pos != nil {
		*pos = Pos{ReplID: s.st.replid, Offset: s.st.end}
	}
	return res, nil
}

// prepareSet validates a SET and allocates its item, before any lock.
func (s *Store) prepareSet(key string, value []byte, opt SetOptions) (slot, error) {
	if err := s.checkSizes(key, value); err != nil {
		return slot{}, err
	}
	expiring := opt.TTL != 0 || !opt.ExpireAt.IsZero()
	switch {
	case opt.NX && opt.XX:
		return slot{}, fmt.Errorf("%w: NX and XX together", ErrInvalidArgument)
	case opt.KeepTTL && expiring:
		return slot{}, fmt.Errorf("%w: KEEPTTL with an expiry", ErrInvalidArgument)
	case opt.TTL < 0 || (opt.TTL != 0 && !opt.ExpireAt.IsZero()):
		return slot{}, fmt.Errorf("%w: invalid expire time", ErrInvalidArgument)
	}
	if expiring || opt.KeepTTL {
		it := newItem(key, value, 1) // room for a deadline, set under the lock
		it.clearDeadline()
		return it, nil
	}
	return newItem(key, value, 0), nil
}

// setLocked performs a prepared SET; the key's shard and the stream are
// locked.
func (s *Store) setLocked(key string, value []byte, opt SetOptions, it slot) SetResult {
	sh, i := s.lookupLocked(key)
	var res SetResult
	if i >= 0 && opt.Get {
		old := sh.t.slots[i].value()
		res.Old, res.OldExists = append(make([]byte, 0, len(old)), old...), true
	}
	if (opt.NX && i >= 0) || (opt.XX && i < 0) {
		return res
	}
	res.Written = true
	deadline := msOf(opt.ExpireAt)
	if opt.TTL > 0 {
		deadline = s.nowMs() + ttlMs(opt.TTL)
	}
	kept := opt.KeepTTL && i >= 0
	if kept {
		deadline = sh.t.slots[i].deadline() // alive: lookupLocked deleted it otherwise
	}
	// A new deadline at or before now deletes the key (Redis's
	// checkAlreadyExpired); a kept one is still alive through its
	// millisecond.
	if deadline != 0 && !kept && deadline <= s.nowMs() {
		if i >= 0 {
			s.deleteLocked(sh, i)
		}
		return res
	}
	if deadline != 0 {
		it.setDeadline(deadline)
	}
	s.putLocked(sh, i, it)
	s.st.emitSetLocked(s.cfg.DB, it.key(), value, deadline)
	return res
}

func (s *Store) checkSizes(key string, value []byte) error {
	if int64(len(key)) > s.cfg.MaxBulkLen || len(key) > maxKeyLen {
		return fmt.Errorf("%w: key of %d bytes", ErrTooLarge, len(key))
	}
	if int64(len(value)) > s.cfg.MaxBulkLen {
		return fmt.Errorf("%w: value of %d bytes, limit %d", ErrTooLarge, len(value), s.cfg.MaxBulkLen)
	}
	return nil
}

// Delete removes the given keys and returns how many existed. Each removal
// is one DEL in the stream. Keys are removed one at a time: if the store
// stops being writable meanwhile (ReplicaOf, Close), the keys removed so
// far are counted and streamed, and the error is returned with the count.
func (s *Store) Delete(keys ...string) (int, error) {
	n := 0
	for _, key := range keys {
		sh, err := s.lockWrite(key)
		if err != nil {
			return n, err
		}
		if s.deleteKeyLocked(key) {
			n++
		}
		s.unlockWrite(sh)
	}
	return n, nil
}

func (s *Store) deleteKeyLocked(key string) bool {
	sh, i := s.lookupLocked(key)
	if i < 0 {
		return false
	}
	s.deleteLocked(sh, i)
	return true
}

// Expire sets key to expire ttl from now. It reports whether the key
// exists. A non-positive ttl deletes the key (as Redis EXPIRE does); a
// positive one under a millisecond counts as one, as in SetTTL.
func (s *Store) Expire(key string, ttl time.Duration) (bool, error) {
	sh, err := s.lockWrite(key)
	if err != nil {
		return false, err
	}
	defer s.unlockWrite(sh)
	return s.expireAtLocked(key, s.nowMs()+ttlMs(ttl)), nil
}

// ttlMs is ttl in whole milliseconds, at least 1 when ttl is positive.
func ttlMs(ttl time.Duration) int64 {
	if ttl > 0 {
		return max(1, ttl.Milliseconds())
	}
	return ttl.Milliseconds()
}

// ExpireAt sets key's absolute deadline (kept to the millisecond); the
// stream receives PEXPIREAT, or DEL when the deadline has passed (the zero
// time is such a deadline: use Persist to remove one). It reports whether
// the key exists.
func (s *Store) ExpireAt(key string, at time.Time) (bool, error) {
	sh, err := s.lockWrite(key)
	if err != nil {
		return false, err
	}
	defer s.unlockWrite(sh)
	return s.expireAtLocked(key, msOf(at)), nil
}

// msOf is t in unix milliseconds, the unit of deadlines inside the store
// and on the wire: 0 (none) for the zero time, at least 1 otherwise (an
// instant at or before the epoch is a deadline long past, not none), and
// at most MaxInt64 (a time too far to count in milliseconds).
func msOf(t time.Time) int64 {
	switch sec := t.Unix(); {
	case t.IsZero():
		return 0
	case sec >= math.MaxInt64/1000: // UnixMilli would wrap: as far as it goes
		return math.MaxInt64
	case sec <= 0: // at or before the epoch (UnixMilli wraps far before it)
		return 1
	}
	return t.UnixMilli()
}

// timeOf is msOf's inverse: the zero time for 0.
func timeOf(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

func (s *Store) expireAtLocked(key string, deadlineMs int64) bool {
	sh, i := s.lookupLocked(key)
	if i < 0 {
		return false
	}
	if deadlineMs <= s.nowMs() {
		s.deleteLocked(sh, i)
		return true
	}
	s.setDeadlineLocked(sh, i, deadlineMs)
	s.st.emitPexpireatLocked(s.cfg.DB, sh.t.slots[i].key(), deadlineMs)
	return true
}

// setDeadlineLocked gives the item in bucket i the deadline, in place when
// it has room.
func (s *Store) setDeadlineLocked(sh *shard, i int, deadline int64) {
	sl := &sh.t.slots[i]
	s.preserveLocked(sh, sl.key(), i)
	if sl.vlen&vlenSpace == 0 {
		sh.t.replace(i, sl.withDeadlineSpace())
	} else if !sl.hasTTL() {
		sh.t.ttl++
	}
	sl.setDeadline(deadline)
}

// Persist removes key's deadline. It reports whether there was one.
func (s *Store) Persist(key string) (bool, error) {
	sh, err := s.lockWrite(key)
	if err != nil {
		return false, err
	}
	defer s.unlockWrite(sh)
	return s.persistKeyLocked(key), nil
}

func (s *Store) persistKeyLocked(key string) bool {
	sh, i := s.lookupLocked(key)
	if i < 0 || !sh.t.slots[i].hasTTL() {
		return false
	}
	s.persistLocked(sh, i)
	s.st.emitKeyLocked(s.cfg.DB, "PERSIST", sh.t.slots[i].key())
	return true
}

func (s *Store) persistLocked(sh *shard, i int) {
	sl := &sh.t.slots[i]
	if !sl.hasTTL() {
		return
	}
	s.preserveLocked(sh, sl.key(), i)
	sl.clearDeadline()
	sh.t.ttl--
}

// IncrBy adds delta to the integer stored at key (a missing key counts as
// 0) and returns the result, keeping the deadline. The value must be the
// canonical base-10 form of a 64-bit integer, as Redis requires
// (ErrNotInteger); a result out of range gives ErrOverflow. The stream
// receives SET with the final value.
func (s *Store) IncrBy(key string, delta int64) (int64, error) {
	if err := s.makeRoom(true); err != nil { // Redis: denyoom
		return 0, err
	}
	sh, err := s.lockWrite(key)
	if err != nil {
		return 0, err
	}
	defer s.unlockWrite(sh)
	return s.incrByLocked(key, delta)
}

func (s *Store) incrByLocked(key string, delta int64) (int64, error) {
	sh, i := s.lookupLocked(key)
	var cur, deadline int64
	if i >= 0 {
		sl := &sh.t.slots[i]
		v, ok := parseInt(sl.value())
		if !ok {
			return 0, ErrNotInteger
		}
		cur, deadline = v, sl.deadline()
	}
	if (delta > 0 && cur > maxInt64-delta) || (delta < 0 && cur < minInt64-delta) {
		return 0, ErrOverflow
	}
	cur += delta
	var digits [20]byte
	s.replaceValueLocked(sh, i, key, strconv.AppendInt(digits[:0], cur, 10), deadline)
	return cur, nil
}

const (
	maxInt64 = 1<<63 - 1
	minInt64 = -1 << 63
)

// replaceValueLocked stores value for key keeping deadline, and appends
// SET with the final value (and PXAT when there is a deadline).
func (s *Store) replaceValueLocked(sh *shard, i int, key string, value []byte, deadline int64) {
	it := newItem(key, value, deadline)
	s.putLocked(sh, i, it)
	s.st.emitSetLocked(s.cfg.DB, it.key(), value, deadline)
}

// Append appends suffix to the value at key (creating it) and returns the
// new length, keeping the deadline. The stream receives APPEND key suffix
// (as Redis propagates it), so the stream grows by the suffix, not by the
// whole value; the replica keeps the deadline it already has.
//
// A large value is copied before the stream is locked, so that growing it
// does not stall every other writer for the time of the copy.
func (s *Store) Append(key string, suffix []byte) (int, error) {
	if err := s.makeRoom(true); err != nil { // Redis: denyoom
		return 0, err
	}
	it, was, deadline := s.prepareAppend(key, suffix)
	sh, err := s.lockWrite(key)
	if err != nil {
		return 0, err
	}
	defer s.unlockWrite(sh)
	if it.p != nil {
		// Still the item the copy was made from, with the same deadline
		// (EXPIRE rewrites it in place): store the copy.
		if sh, i := s.lookupLocked(key); i >= 0 && sh.t.slots[i].p == was && sh.t.slots[i].deadline() == deadline {
			s.putLocked(sh, i, it)
			s.st.emitAppendLocked(s.cfg.DB, it.key(), suffix)
			return len(it.value()), nil
		}
	}
	return s.appendValueLocked(key, suffix)
}

// appendCopyFirst is the value size from which Append copies the value
// before locking the stream.
const appendCopyFirst = 64 << 10

// prepareAppend makes, holding only the shard's read lock while it looks,
// the item Append stores when key holds a value of appendCopyFirst bytes
// or more: the value (whose bytes never change once stored) and suffix,
// with the deadline. It returns the old item's address and the deadline
// for the caller to check under the locks, or a zero item when there is
// nothing worth copying first (or the result would be too large: the
// locked path reports it).
func (s *Store) prepareAppend(key string, suffix []byte) (it slot, was unsafe.Pointer, deadline int64) {
	h := hashKey(key)
	sh := s.shardOf(h)
	sh.mu.RLock()
	i := sh.t.find(key, h)
	if i < 0 {
		sh.mu.RUnlock()
		return slot{}, nil, 0
	}
	sl := sh.t.slots[i]
	deadline = sl.deadline()
	sh.mu.RUnlock()
	old := sl.value()
	if len(old) < appendCopyFirst || int64(len(old)+len(suffix)) > s.cfg.MaxBulkLen {
		return slot{}, nil, 0
	}
	v := make([]byte, 0, len(old)+len(suffix))
	v = append(append(v, old...), suffix...)
	return newItem(key, v, deadline), sl.p, deadline
}

func (s *Store) appendValueLocked(key string, suffix []byte) (int, error) {
	sh, i := s.lookupLocked(key)
	var old []byte
	var deadline int64
	if i >= 0 {
		old, deadline = sh.t.slots[i].value(), sh.t.slots[i].deadline()
	}
	n := len(old) + len(suffix)
	if int64(n) > s.cfg.MaxBulkLen {
		return 0, fmt.Errorf("%w: string exceeds maximum allowed size (%d bytes)", ErrTooLarge, s.cfg.MaxBulkLen)
	}
	// Items are immutable once in the table (readers hold slices of
	// them), so the new value is a new item; only the stream is spared
	// the copy.
	v := make([]byte, 0, n)
	v = append(append(v, old...), suffix...)
	it := newItem(key, v, deadline)
	s.putLocked(sh, i, it)
	s.st.emitAppendLocked(s.cfg.DB, it.key(), suffix)
	return n, nil
}

// FlushAll removes every key; the stream receives FLUSHALL.
func (s *Store) FlushAll() error {
	s.awaitWritable()
	s.lockAll()
	defer s.unlockAll()
	if err := s.admitLocked(); err != nil {
		return err
	}
	s.clearLocked()
	s.st.emitBareLocked(s.cfg.DB, "FLUSHALL")
	return nil
}

// lockAll takes every shard's lock and the stream's, in order.
func (s *Store) lockAll() {
	for i := range s.shards {
		s.shards[i].mu.Lock()
	}
	s.st.mu.Lock()
}

func (s *Store) unlockAll() {
	for i := range s.shards {
		s.syncMemLocked(&s.shards[i])
	}
	s.st.mu.Unlock()
	for i := range s.shards {
		s.shards[i].mu.Unlock()
	}
}

// clearLocked empties every shard, keeping the running snapshot's view of
// shards it has not visited yet.
func (s *Store) clearLocked() {
	sn := s.st.snap
	for i := range s.shards {
		sh := &s.shards[i]
		if sn != nil && sh.doneEpoch < sn.epoch && sh.frozenEpoch != sn.epoch {
			old := sh.t
			sh.frozen, sh.frozenEpoch = &old, sn.epoch
		}
		sh.t = table{}
	}
}

// parseInt parses b as Redis's string2ll does (see strops.ParseInt).
func parseInt(b []byte) (int64, bool) { return strops.ParseInt(b) }
