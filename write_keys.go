package replikv

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/replikv/replikv/rdb"
)

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

// RestoreOptions are the options of Redis RESTORE.
type RestoreOptions struct {
	// TTL, when positive, makes the key expire TTL from now.
	TTL time.Duration
	// ExpireAt, when not the zero time, is the absolute deadline (RESTORE
	// … ABSTTL; kept to the millisecond). A deadline that has passed
	// restores nothing (and deletes the key when Replace is set).
	ExpireAt time.Time
	// Replace overwrites an existing key instead of failing with
	// ErrBusyKey.
	Replace bool
}

// lockWriteKeys is lockKeys for an API write, admitted by admitLocked; on
// error nothing is locked.
func (s *Store) lockWriteKeys(keys ...string) ([]int, error) {
	idx := s.lockKeys(keys)
	if err := s.admitLocked(); err != nil {
		s.unlockKeys(idx)
		return nil, err
	}
	return idx, nil
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

// RandomKey returns a key chosen at random among those that have not
// expired (Redis RANDOMKEY); ErrNotFound when there is none.
func (s *Store) RandomKey() (string, error) {
	if err := s.readable(); err != nil {
		return "", err
	}
	return s.randomKey(nil, func(sh *shard) func() {
		sh.mu.RLock()
		return sh.mu.RUnlock
	})
}

// randomKey picks a shard at random among shards (nil: all), then a
// bucket at random, and takes the first live key from there, going on to
// the next shards when one holds none. lock locks a shard for reading.
func (s *Store) randomKey(shards []int, lock func(*shard) func()) (string, error) {
	if shards == nil {
		shards = make([]int, len(s.shards))
		for i := range shards {
			shards[i] = i
		}
	}
	now := s.nowMs()
	start := rand.IntN(len(shards))
	for n := range shards {
		sh := &s.shards[shards[(start+n)%len(shards)]]
		unlock := lock(sh)
		key, ok := randomInTable(&sh.t, func(sl *slot) bool { return !s.expired(sl, now) })
		unlock()
		if ok {
			return key, nil
		}
	}
	return "", ErrNotFound
}

// randomInTable returns a live key of t, starting at a random bucket.
func randomInTable(t *table, live func(*slot) bool) (string, bool) {
	if t.n == 0 {
		return "", false
	}
	start := rand.IntN(len(t.slots))
	for n := range t.slots {
		i := (start + n) % len(t.slots)
		if t.tags[i] != 0 && live(&t.slots[i]) {
			return t.slots[i].key(), true
		}
	}
	return "", false
}

// Touch returns how many of keys exist (Redis TOUCH; a key named twice
// counts twice). The store keeps no access times, so nothing changes and
// nothing is streamed.
func (s *Store) Touch(keys ...string) int {
	n := 0
	for _, k := range keys {
		if s.Exists(k) {
			n++
		}
	}
	return n
}

// Dump returns key's value serialised as Redis's DUMP does (the RDB
// encoding of the string, the RDB version and a CRC-64); ErrNotFound when
// the key does not exist. Restore, or RESTORE on a Redis 7.0 or later,
// takes it back.
func (s *Store) Dump(key string) ([]byte, error) {
	it, err := s.readItem(key)
	if err != nil {
		return nil, err
	}
	return appendDump(it.value()), nil
}

func appendDump(v []byte) []byte { return rdb.AppendDump(nil, v) }

// decodeDump decodes a DUMP payload as RESTORE does on Redis 7.0 (RDB
// version 10 at most), mapping the rdb package's errors to the store's.
func (s *Store) decodeDump(payload []byte) ([]byte, error) {
	v, err := rdb.ParseDump(payload, rdb.DumpVersion, s.cfg.MaxBulkLen)
	switch {
	case err == nil:
		return v, nil
	case errors.Is(err, rdb.ErrDumpFooter):
		return nil, ErrDumpPayload
	case errors.Is(err, rdb.ErrUnsupportedType):
		return nil, fmt.Errorf("%w: %w", ErrNotString, err)
	case errors.Is(err, rdb.ErrTooLarge):
		return nil, fmt.Errorf("%w: %w", ErrTooLarge, err)
	}
	return nil, fmt.Errorf("%w: %w", ErrBadDataFormat, err)
}

// Restore stores the value of a DUMP payload (from Dump, or from DUMP
// on a Redis) under key (Redis RESTORE). Errors, in Redis's order:
// ErrBusyKey when key exists and Replace is not set, ErrDumpPayload for
// a wrong version or checksum, ErrNotString for a value of another type,
// ErrBadDataFormat for one that does not decode. The stream receives
// RESTORE key <deadline, unix ms, or 0> payload [REPLACE] [ABSTTL], as
// Redis propagates it, or DEL when the deadline has passed and Replace
// deleted the key.
func (s *Store) Restore(key string, payload []byte, opt RestoreOptions) error {
	if err := checkRestoreOptions(opt); err != nil {
		return err
	}
	if err := s.checkSizes(key, nil); err != nil {
		return err
	}
	v, decErr := s.decodeDump(payload) // before the locks: it may be large
	sh, err := s.lockWrite(key)
	if err != nil {
		return err
	}
	defer s.unlockWrite(sh)
	return s.restoreLocked(key, payload, v, decErr, opt)
}

func checkRestoreOptions(opt RestoreOptions) error {
	if opt.TTL < 0 || (opt.TTL != 0 && !opt.ExpireAt.IsZero()) {
		return fmt.Errorf("%w: invalid expire time", ErrInvalidArgument)
	}
	return nil
}

func (s *Store) restoreLocked(key string, payload, v []byte, decErr error, opt RestoreOptions) error {
	sh, i := s.lookupLocked(key)
	if i >= 0 && !opt.Replace {
		return ErrBusyKey
	}
	if decErr != nil {
		return decErr
	}
	now := s.nowMs()
	deadline := msOf(opt.ExpireAt)
	if opt.TTL > 0 {
		deadline = now + min(ttlMs(opt.TTL), math.MaxInt64-now)
	}
	if deadline != 0 && deadline <= now {
		if i >= 0 {
			s.deleteLocked(sh, i)
		}
		return nil
	}
	s.storeLocked(key, v, deadline)
	args := [][]byte{[]byte("RESTORE"), []byte(key), strconv.AppendInt(nil, deadline, 10), payload}
	if opt.Replace {
		args = append(args, []byte("REPLACE"))
	}
	if deadline != 0 {
		args = append(args, []byte("ABSTTL"))
	}
	s.st.emitArgsLocked(s.cfg.DB, args...)
	return nil
}

// ObjectEncoding returns the encoding Redis 7.0 reports for key's value
// (OBJECT ENCODING): "int" for the canonical form of a 64-bit integer,
// "embstr" for other strings up to 44 bytes, "raw" for longer ones;
// ErrNotFound when the key does not exist. The store keeps no record of
// how a value was written, so a value Redis would report as "raw" because
// APPEND or SETRANGE built it is reported by its content.
func (s *Store) ObjectEncoding(key string) (string, error) {
	it, err := s.readItem(key)
	if err != nil {
		return "", err
	}
	return encodingOf(it.value()), nil
}

// encodingOf is Redis's choice of encoding for a string written by SET.
func encodingOf(v []byte) string {
	if _, ok := parseInt(v); ok {
		return "int"
	}
	if len(v) <= 44 {
		return "embstr"
	}
	return "raw"
}
