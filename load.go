package replikv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync/atomic"

	"github.com/replikv/replikv/rdb"
)

// LoadOptions control LoadSnapshot.
type LoadOptions struct {
	// SkipNonString skips (and counts in LoadStats) values of types other
	// than string, such as lists or hashes from a Redis dump, instead of
	// failing on the first one.
	SkipNonString bool
	// ReplID and Offset name the replication history the loaded data
	// belongs to. When ReplID is empty, the snapshot's repl-id and
	// repl-offset aux fields are used, and without them a new history
	// starts at offset 0.
	ReplID string
	Offset int64
}

// LoadStats describes a loaded snapshot.
type LoadStats struct {
	Keys        int           // keys loaded into the store
	OtherDBKeys int           // string keys of other databases, not kept
	Skipped     rdb.SkipStats // values of other types, when skipped
	Bytes       int64         // snapshot bytes read
	ReplID      string        // history adopted
	Offset      int64         // stream offset adopted
	// FromSnapshot tells that ReplID and Offset came from the snapshot's
	// repl-id and repl-offset aux fields.
	FromSnapshot bool
}

// loadProgress is read by Info while a load runs.
type loadProgress struct {
	bytes atomic.Int64
	keys  atomic.Int64
}

// LoadSnapshot replaces the whole keyspace with an RDB snapshot read from
// r. The snapshot is loaded beside the live data, which keeps serving
// reads, and swapped in only once the whole payload, checksum included,
// has been read; on any error the store is unchanged. The stream starts a
// new history at the snapshot's offset: the backlog is emptied, every
// subscription is closed with ErrHistoryChanged, and a snapshot being
// written is aborted. Only a primary loads snapshots: a replica returns
// ErrReadOnly (its data comes from its primary), a closed store ErrClosed.
func (s *Store) LoadSnapshot(ctx context.Context, r io.Reader, opt LoadOptions) (LoadStats, error) {
	return s.loadSnapshot(ctx, r, opt, nil, nil, true)
}

// loadSnapshot is LoadSnapshot with progress reporting and a check of the
// framing run after the payload was read and before the swap. api is
// false for the replication link's own loads.
func (s *Store) loadSnapshot(ctx context.Context, r io.Reader, opt LoadOptions, prog *loadProgress, verify func(used int64) error, api bool) (LoadStats, error) {
	var stats LoadStats
	tl := newTableLoader(len(s.shards), s.shift, s.mem.freshWord()) // loaded keys count as just created
	defer tl.stop()
	rd, err := rdb.NewReader(r, rdb.ReaderOptions{
		MaxStringLen:  maxStoredLen(s.cfg.MaxBulkLen),
		SkipNonString: opt.SkipNonString,
		OnResizeDB: func(db int, keys, _ uint64) {
			if db == s.cfg.DB {
				tl.hint.Store(keys)
			}
		},
	})
	if err != nil {
		return stats, fmt.Errorf("replikv: load snapshot: %w", err)
	}
	for n := 0; ; n++ {
		if n&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return stats, err
			}
			if prog != nil {
				prog.bytes.Store(rd.Offset())
				prog.keys.Store(tl.keys.Load())
			}
		}
		e, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return stats, fmt.Errorf("replikv: load snapshot: %w", err)
		}
		if e.DB != s.cfg.DB {
			stats.OtherDBKeys++
			continue
		}
		deadline := e.ExpireMs
		if deadline < 0 {
			deadline = 1 // an expiry at or before the epoch: expired, not "none"
		}
		tl.add(newItem(unsafeString(e.Key), e.Value, deadline))
	}
	tables, keys := tl.finish()
	stats.Keys = keys
	stats.Bytes = rd.Offset()
	stats.Skipped = rd.Skipped()
	stats.ReplID, stats.Offset = opt.ReplID, opt.Offset
	streamDB := s.cfg.DB
	aux := rd.Aux()
	if v, err := strconv.Atoi(aux["repl-stream-db"]); err == nil && v >= 0 {
		streamDB = v
	}
	if stats.ReplID == "" {
		stats.ReplID, stats.Offset = aux["repl-id"], 0
		if off, err := strconv.ParseInt(aux["repl-offset"], 10, 64); err == nil && off >= 0 {
			stats.Offset = off
		}
		stats.FromSnapshot = true
		if len(stats.ReplID) != 40 {
			stats.ReplID, stats.Offset, stats.FromSnapshot = newReplID(), 0, false
		}
	}
	if prog != nil {
		prog.bytes.Store(stats.Bytes)
		prog.keys.Store(int64(stats.Keys))
	}
	if verify != nil {
		if err := verify(stats.Bytes); err != nil {
			return stats, fmt.Errorf("replikv: load snapshot: %w", err)
		}
	}

	s.lockAll()
	if api {
		// Like any write, decided under the lock that orders the stream: a
		// replica's data comes from its primary, a closed store takes none.
		if r := s.st.loadRole(); r != RolePrimary {
			s.unlockAll()
			if r == RoleClosed {
				return stats, ErrClosed
			}
			return stats, fmt.Errorf("%w: LoadSnapshot on a %v (Promote it first)", ErrReadOnly, r)
		}
	}
	s.abortSnapshotLocked()
	for i := range s.shards {
		s.shards[i].t = tables[i]
	}
	s.st.resetLocked(stats.ReplID, stats.Offset, streamDB)
	s.pers.emptyGuard.Store(false) // it has data now (persist.go)
	s.unlockAll()
	return stats, nil
}
