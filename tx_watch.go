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
}

// KeyVersion returns key's current version. It does not expire the key
// and is allowed where reads are refused (a stale replica): it reads the
// store's bookkeeping, not a value.
func (s *Store) KeyVersion(key string) KeyVersion {
	h := hashKey(key)
	sh := s.shardOf(h)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	return versionAt(sh, sh.t.find(key, h))
}

// versionAt is the version of bucket i of sh (-1: absent); sh is locked.
func versionAt(sh *shard, i int) KeyVersion {
	if i < 0 {
		return KeyVersion{}
	}
	sl := sh.t.slots[i]
	return KeyVersion{s: sl, deadline: sl.deadline()}
}

// Changed reports whether key was written since its version v was taken,
// with the transaction's locks held so that nothing changes it before the
// transaction's own commands run. As in Redis 7.0, a key that expired and
// was deleted by expiry (lazily or actively, on a store that owns expiry)
// did not change; on a replica every deletion comes from the primary's
// stream and counts as a change. Changed returns true for a key outside
// the keys of AtomicKeys.
//
// Limits of the comparison: EXPIRE setting the deadline a key already
// has, and writing an empty value under an empty key over an empty value
// (such items share their memory), are not seen as changes.
func (tx *Tx) Changed(key string, v KeyVersion) bool {
	if tx.done || !tx.covers(key) {
		return true
	}
	sh, i := tx.s.findLocked(key)
	cur := versionAt(sh, i)
	if cur == v {
		return false
	}
	// Deleted by expiry: absent now, and the item watched had a
	// deadline, still the one it had then (EXPIRE rewrites it in place),
	// which has passed.
	return !(i < 0 && v.s.p != nil && v.s.hasTTL() && ownsExpiry(tx.s.st.loadRole()) &&
		v.s.deadline() == v.deadline && v.deadline < tx.s.nowMs())
}
