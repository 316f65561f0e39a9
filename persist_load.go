package replikv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// loadAtStart loads Config.Dir/Config.DBFilename into the new store, when
// Dir is set and the file exists.
//
// The history is resumed the way a restarted Redis primary resumes it:
// the file's repl-id becomes replid2, valid up to its repl-offset, under
// a new replid, and the stream goes on at that offset with an empty
// backlog. So replicas at exactly that point continue with +CONTINUE,
// and a replica that had received more (bytes lost with the crash) is
// refused and resyncs in full, instead of continuing a history that
// diverged. If the store then becomes a replica before anything changed
// (ReplicaOf right after New), it resumes the file's history itself and
// asks its primary "PSYNC <repl-id> <repl-offset+1>", as a restarted
// Redis replica does (see resumeRestoredLocked).
//
// A missing file starts the store empty and, unless
// Config.ServeFullSyncWhenEmpty, arms the full-sync guard. Any other
// failure is an error naming the file; nothing is loaded and the file is
// left as it is.
func (s *Store) loadAtStart() error {
	s.pers.lastSave = s.cfg.Now() // Redis: lastsave is the start time until a save
	path := s.SnapshotPath()
	if path == "" {
		return nil
	}
	log := s.cfg.Logger
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		if !s.cfg.ServeFullSyncWhenEmpty {
			s.pers.emptyGuard.Store(true)
		}
		log.Warn("no snapshot file: starting empty", "path", path, "fullSyncGuard", s.pers.emptyGuard.Load())
		return nil
	}
	if err != nil {
		return fmt.Errorf("replikv: open snapshot %s: %w", path, err)
	}
	defer f.Close()
	began := time.Now()
	stats, err := s.loadSnapshot(context.Background(), f, LoadOptions{SkipNonString: true}, nil, nil, false)
	if err != nil {
		return fmt.Errorf("%w %s: %w", ErrCorruptSnapshot, path, err)
	}
	s.pers.loadedKeys = stats.Keys
	if stats.Skipped.Keys+stats.Skipped.Functions > 0 {
		log.Warn("snapshot held values of types replikv does not keep: skipped", "path", path, "skipped", stats.Skipped)
	}
	st := s.st
	st.mu.Lock()
	if stats.FromSnapshot {
		newID := newReplID()
		st.shiftLocked(newID)
		s.pers.restored = &restoredHistory{fileID: stats.ReplID, offset: stats.Offset, newID: newID}
		s.pers.expiryHeldUntil.Store(time.Now().Add(restoreGrace).UnixNano())
	}
	replid, replid2, off := st.replid, st.replid2, st.end
	st.mu.Unlock()
	log.Info("snapshot loaded", "path", path, "keys", stats.Keys, "bytes", stats.Bytes,
		"seconds", fmt.Sprintf("%.3f", time.Since(began).Seconds()), // as Redis's "DB loaded from disk: X seconds"
		"replid", replid, "replid2", replid2, "offset", off)
	return nil
}

// resumeRestoredLocked is called, with stream.mu held, when the store
// becomes a replica. If the store is still exactly at the point it loaded
// at New, it takes the file's history back as its own (no replid2), so
// that its handshake asks to continue it. Anything that moved the stream
// since (a write, an expiry) makes the loaded history unsafe to claim,
// and the replica asks with its own ID as any demoted primary.
func (s *Store) resumeRestoredLocked() {
	// A replica's data comes from its primary: the guard of an empty
	// start has no object any more.
	s.pers.emptyGuard.Store(false)
	s.pers.expiryHeldUntil.Store(0)
	r := s.pers.restored
	if r == nil {
		return
	}
	s.pers.restored = nil
	st := s.st
	if st.replid != r.newID || st.end != r.offset || st.replid2 != r.fileID {
		return
	}
	st.replid, st.replid2, st.off2, st.older = r.fileID, "", -1, nil
	s.rep.hasHistory.Store(true)
	s.cfg.Logger.Info("resuming the history loaded from disk as a replica", "replid", r.fileID, "offset", r.offset)
}

// restoreGrace is how long a store that loaded a history from its file
// holds off its own expiry deletes, waiting for a ReplicaOf: a replica
// restarted from its file resumes its primary's history only if its
// stream has not moved, and deleting a key that expired while it was down
// (a DEL in its stream, as a primary does) would move it and cost a full
// resync. Reads meanwhile see such keys as absent, as always; only the
// delete waits. Writes, which move the stream anyway, are not held.
const restoreGrace = 10 * time.Second

// expiryHeld reports whether this store's own expiry deletes wait (see
// restoreGrace).
func (s *Store) expiryHeld() bool {
	d := s.pers.expiryHeldUntil.Load()
	return d != 0 && time.Now().UnixNano() < d
}
