package replikv

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/replikv/replikv/rdb"
	"github.com/replikv/replikv/resp"
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

// maxDumpOverhead bounds what a DUMP payload adds to its value: the type
// byte, a length of up to 9 bytes, and the 10-byte footer.
const maxDumpOverhead = 1 + 9 + 10

// streamLimits are the limits of a reader of this store's stream (a
// replica's link, a Watcher). Its arguments may exceed MaxBulkLen, as
// Redis exempts its primary's stream from proto-max-bulk-len: RESTORE's
// payload holds a value as long as the store holds, and more.
func (s *Store) streamLimits() resp.Limits {
	return resp.Limits{MaxBulkLen: s.StreamMaxArg()}
}

// StreamMaxArg returns the longest argument a command of this store's
// stream can carry: more than Config.MaxBulkLen, as a RESTORE's payload
// holds a value as long as the store holds and more (Redis exempts a
// primary's stream from proto-max-bulk-len). A reader of a Subscription
// parses the stream with this limit.
func (s *Store) StreamMaxArg() int64 {
	return maxStoredLen(s.cfg.MaxBulkLen) + maxDumpOverhead
}

// decodeDump decodes a DUMP payload as RESTORE does on Redis 7.0 (RDB
// version 10 at most), mapping the rdb package's errors to the store's.
// A value may be as long as the store holds (maxStoredLen), so that what
// Dump gave restores.
func (s *Store) decodeDump(payload []byte) ([]byte, error) {
	v, err := rdb.ParseDump(payload, rdb.DumpVersion, maxStoredLen(s.cfg.MaxBulkLen))
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
	if err := s.makeRoom(true); err != nil { // Redis: denyoom
		return err
	}
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
