package replikv

import "errors"

// Sentinel errors. Operations wrap them with detail; compare with errors.Is.
var (
	// ErrNotFound is returned by Get when the key does not exist or has
	// expired.
	ErrNotFound = errors.New("replikv: key not found")
	// ErrReadOnly is returned by writes on a replica (Redis replica-read-only).
	ErrReadOnly = errors.New("replikv: read-only replica")
	// ErrSyncing is returned by reads on a replica that is loading its first
	// snapshot or whose link is down, when Config.RefuseStaleReads is set (Redis MASTERDOWN/LOADING).
	ErrSyncing = errors.New("replikv: replica is syncing with its primary")
	// ErrNotInteger is returned by IncrBy when the value is not a base-10
	// 64-bit integer (Redis: "value is not an integer or out of range").
	ErrNotInteger = errors.New("replikv: value is not an integer or out of range")
	// ErrOverflow is returned by IncrBy when the result would not fit in an
	// int64 (Redis: "increment or decrement would overflow").
	ErrOverflow = errors.New("replikv: increment or decrement would overflow")
	// ErrInvalidArgument is returned for option combinations Redis rejects,
	// such as NX with XX, or a non-positive TTL.
	ErrInvalidArgument = errors.New("replikv: invalid argument")
	// ErrOOM is returned by writes that may grow the data while the memory
	// the store accounts is above Config.MaxMemory and the eviction policy
	// cannot bring it back under (noeviction, or a volatile-* policy with
	// no key with a deadline): Redis's OOM error.
	ErrOOM = errors.New("replikv: used memory above maxmemory")
	// ErrTooLarge is returned when a key or value exceeds the size limits.
	ErrTooLarge = errors.New("replikv: key or value too large")
	// ErrClosed is returned by operations on a closed Store.
	ErrClosed = errors.New("replikv: store closed")
	// ErrOffsetNotCovered is returned by Subscribe when the requested stream
	// offset is no longer (or not yet) in the backlog.
	ErrOffsetNotCovered = errors.New("replikv: offset not covered by the backlog")
	// ErrSubscriberLagging closes a subscription whose pending bytes went
	// over its limit (Redis client-output-buffer-limit for replicas).
	ErrSubscriberLagging = errors.New("replikv: subscriber fell behind its output limit")
	// ErrHistoryChanged closes subscriptions and snapshots when the store's
	// replication history is replaced, for example by a full resync.
	ErrHistoryChanged = errors.New("replikv: replication history changed")
	// ErrUnknownCommand is returned when applying a stream command the store
	// does not implement.
	ErrUnknownCommand = errors.New("replikv: unknown command")
	// ErrNoAuth is the cause (wrapped, in logs and Info().Master.LastErr)
	// when the primary refuses this replica's credentials or requires some
	// it lacks.
	ErrNoAuth = errors.New("replikv: primary requires authentication")
	// ErrSnapshotClosed is returned by Snapshot.WriteTo on a snapshot that
	// was closed or already written: a snapshot is used once.
	ErrSnapshotClosed = errors.New("replikv: snapshot closed")
	// ErrSyntax is returned when applying a malformed stream command.
	ErrSyntax = errors.New("replikv: syntax error")
	// ErrBitOffset is returned by the bit operations (SetBit, GetBit,
	// BitField) for a negative offset or one whose byte would lie at or
	// beyond Config.MaxBulkLen (Redis: "bit offset is not an integer or out
	// of range").
	ErrBitOffset = errors.New("replikv: bit offset is not an integer or out of range")
	// ErrNotFloat is returned by IncrByFloat when the value or the
	// increment is not a number Redis reads as a long double (Redis: "value
	// is not a valid float").
	ErrNotFloat = errors.New("replikv: value is not a valid float")
	// ErrNaNOrInfinity is returned by IncrByFloat when the result would not
	// be finite (Redis: "increment would produce NaN or Infinity").
	ErrNaNOrInfinity = errors.New("replikv: increment would produce NaN or Infinity")
	// ErrNoReplicas is returned by writes on a primary while fewer replicas
	// than Config.MinReplicasToWrite are online with a fresh ACK (Redis:
	// "NOREPLICAS Not enough good replicas to write.").
	ErrNoReplicas = errors.New("replikv: not enough good replicas to write")
	// ErrWritesPaused is returned by a write that cannot wait (inside
	// Atomic or AtomicKeys) while a failover pauses writes; other writes
	// wait for the failover to end instead.
	ErrWritesPaused = errors.New("replikv: writes paused by a failover")
	// ErrFailover is wrapped by the errors of Failover that end it without
	// a handover (no eligible replica, timeout, abort, refusal): the store
	// is still the primary.
	ErrFailover = errors.New("replikv: failover failed")
	// ErrHistoryDiverged is returned by WaitOffset when the store's
	// history cannot contain the awaited position: it neither is nor
	// continues that position's replication ID at that offset.
	ErrHistoryDiverged = errors.New("replikv: history does not contain that position")
	// ErrCorruptSnapshot is returned by New (wrapped with the file's name
	// and the reason) when the snapshot file in Config.Dir cannot be
	// loaded: truncated, a bad checksum, or not an RDB file. The file is
	// left as it is and nothing is loaded.
	ErrCorruptSnapshot = errors.New("replikv: corrupt snapshot file")
	// ErrSaveInProgress is returned by BackgroundSave while another
	// save runs (Redis: "Background save already in progress").
	ErrSaveInProgress = errors.New("replikv: background save already in progress")
)
