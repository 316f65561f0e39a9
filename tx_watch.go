package replikv

// KeyVersion is what a key holds at one moment, as Redis WATCH remembers
// it: the stored item (its ItemID) and deadline, or none for an absent
// key. Every write of a key stores a new item, and EXPIRE and PERSIST
// change its deadline, so comparing versions tells whether a key was
// written. Holding a KeyVersion keeps its item alive, so an item is never
// reused for another write while a version of it is held.
type KeyVersion struct {
	s        slot
	deadline int64
	expired  bool // the deadline had passed when the version was taken
}

// KeyVersion returns key's current version. It does not expire the key
// and is allowed where reads are refused (a stale replica): it reads the
// store's bookkeeping, not a value.
func (s *Store) KeyVersion(key string) KeyVersion {
	h := hashKey(key)
	sh := s.shardOf(h)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	v := versionAt(sh, sh.t.find(key, h))
	v.expired = v.s.p != nil && s.expired(&v.s, s.nowMs())
	return v
}

// versionAt is the version of bucket i of sh (-1: absent); sh is locked.
func versionAt(sh *shard, i int) KeyVersion {
	if i < 0 {
		return KeyVersion{}
	}
	sl := sh.t.slots[i]
	return KeyVersion{s: sl, deadline: sl.deadline()}
}

// Changed reports whether key changed since its version v was taken, with
// the transaction's locks held so that nothing changes it before the
// transaction's own commands run. It follows Redis 7.0's WATCH: a write
// or deletion is a change, and so is the passing of the deadline of a key
// that had not expired when v was taken (deleted or not yet); but a key
// that had expired already then and has been deleted since (by expiry or
// by the primary's stream) has not logically changed. Changed returns
// true for a key outside the keys of AtomicKeys.
//
// Limits of the comparison, which sees the key's state and not its
// history: EXPIRE setting the deadline a key already has, an empty value
// written over an empty value under the empty key (such items share their
// memory), and a key expired when v was taken, then written and deleted,
// are not seen as changes.
func (tx *Tx) Changed(key string, v KeyVersion) bool {
	if tx.done || !tx.covers(key) {
		return true
	}
	sh, i := tx.s.findLocked(key)
	cur := versionAt(sh, i)
	switch {
	case i < 0:
		return v.s.p != nil && !v.expired
	case cur.s != v.s || cur.deadline != v.deadline:
		return true
	}
	return !v.expired && tx.s.expired(&cur.s, tx.s.nowMs())
}
