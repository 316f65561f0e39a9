package replikv

import "errors"

// Errors of the key commands (Rename, Copy, Restore). The server maps
// them to Redis's replies.
var (
	// ErrSameKey is returned by Copy when source and destination are the
	// same key (Redis: "source and destination objects are the same").
	ErrSameKey = errors.New("replikv: source and destination objects are the same")
	// ErrBusyKey is returned by Restore without Replace when the key
	// exists (Redis: "BUSYKEY Target key name already exists.").
	ErrBusyKey = errors.New("replikv: target key name already exists")
	// ErrDumpPayload is returned by Restore for a payload whose RDB
	// version or checksum is wrong (Redis: "DUMP payload version or
	// checksum are wrong").
	ErrDumpPayload = errors.New("replikv: DUMP payload version or checksum are wrong")
	// ErrBadDataFormat is returned by Restore for a payload that does not
	// decode (Redis: "Bad data format").
	ErrBadDataFormat = errors.New("replikv: bad data format")
	// ErrNotString is returned by Restore for the payload of a value of
	// another type than string (a hash, a list…), which the store does
	// not hold.
	ErrNotString = errors.New("replikv: DUMP payload of a value that is not a string")
)

// lockWriteKeys is lockKeys for an API write, admitted by admitLocked; on
// error nothing is locked.
func (s *Store) lockWriteKeys(keys ...string) ([]int, error) {
	for {
		s.makeRoom(false) // evicts when over MaxMemory; only growing writes fail
		idx := s.lockKeys(keys)
		err := s.admitLocked()
		if err == nil {
			return idx, nil
		}
		pause := s.st.pause
		s.unlockKeys(idx)
		if err != errPaused {
			return nil, err
		}
		if !s.awaitPause(pause) {
			return nil, ErrClosed // closed during the failover
		}
	}
}

// Rename renames src to dst, with its deadline, replacing dst (Redis
// RENAME); ErrNotFound when src does not exist. The stream receives
// RENAME src dst.
func (s *Store) Rename(src, dst string) error {
	_, err := s.renameKeys(src, dst, false)
	return err
}

// RenameNX is Rename that does nothing, returning false, when dst exists
// (Redis RENAMENX). The stream receives RENAMENX src dst when it renamed.
func (s *Store) RenameNX(src, dst string) (bool, error) {
	return s.renameKeys(src, dst, true)
}

func (s *Store) renameKeys(src, dst string, nx bool) (bool, error) {
	return s.withPair(src, dst, func() (bool, error) { return s.renameLocked(src, dst, nx) })
}

// withPair runs fn with the shards of src and dst and the stream locked,
// once dst's size is checked and the write admitted.
func (s *Store) withPair(src, dst string, fn func() (bool, error)) (bool, error) {
	if err := s.checkSizes(dst, nil); err != nil {
		return false, err
	}
	idx, err := s.lockWriteKeys(src, dst)
	if err != nil {
		return false, err
	}
	defer s.unlockKeys(idx)
	return fn()
}

// lookupPairLocked looks src and dst up, deleting them first when they
// have expired (which moves other keys of their shards: hence both
// before either is used), and returns src's item (p nil when absent) and
// whether dst exists.
func (s *Store) lookupPairLocked(src, dst string) (slot, bool) {
	s.lookupLocked(src)
	s.lookupLocked(dst)
	var it slot
	if sh, i := s.findLocked(src); i >= 0 {
		it = sh.t.slots[i]
	}
	_, iD := s.findLocked(dst)
	return it, iD >= 0
}

// renameLocked renames with both keys' shards and the stream locked.
func (s *Store) renameLocked(src, dst string, nx bool) (bool, error) {
	it, dstExists := s.lookupPairLocked(src, dst)
	switch {
	case it.p == nil:
		return false, ErrNotFound
	case src == dst:
		return !nx, nil // nothing changes and nothing is propagated, as in Redis
	case dstExists && nx:
		return false, nil
	}
	s.storeLocked(dst, it.value(), it.deadline())
	s.removeLocked(src)
	name := "RENAME"
	if nx {
		name = "RENAMENX"
	}
	s.st.emitArgsLocked(s.cfg.DB, []byte(name), []byte(src), []byte(dst))
	return true, nil
}

// Copy copies src's value and deadline to dst (Redis COPY). It returns
// false when src does not exist, or when dst exists and replace is not
// set; ErrSameKey when src and dst are the same key. The stream receives
// COPY src dst [REPLACE] when it copied.
func (s *Store) Copy(src, dst string, replace bool) (bool, error) {
	if err := s.makeRoom(true); err != nil { // Redis: denyoom
		return false, err
	}
	if src == dst {
		return false, ErrSameKey
	}
	return s.withPair(src, dst, func() (bool, error) { return s.copyLocked(src, dst, replace) })
}

func (s *Store) copyLocked(src, dst string, replace bool) (bool, error) {
	if src == dst {
		return false, ErrSameKey
	}
	it, dstExists := s.lookupPairLocked(src, dst)
	if it.p == nil || (dstExists && !replace) {
		return false, nil
	}
	s.storeLocked(dst, it.value(), it.deadline())
	args := [][]byte{[]byte("COPY"), []byte(src), []byte(dst)}
	if replace {
		args = append(args, []byte("REPLACE"))
	}
	s.st.emitArgsLocked(s.cfg.DB, args...)
	return true, nil
}
