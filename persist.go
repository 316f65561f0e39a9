package replikv

import (
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultDBFilename is the snapshot file name used when Config.DBFilename
// is empty (Redis: dbfilename dump.rdb).
const DefaultDBFilename = "dump.rdb"

// A SavePoint is one Redis "save <seconds> <changes>" rule: save when at
// least Changes writes happened and After has passed since the last save.
type SavePoint struct {
	After   time.Duration
	Changes int64
}

// persistState is the store's side of snapshots on disk.
type persistState struct {
	mu       sync.Mutex
	closing  bool // Close started: no new background save
	saving   bool // a save (foreground or background) runs
	bgSaving bool // ... and it is a background one

	lastSave   time.Time // end of the last successful save (or New)
	lastTry    time.Time // start of the last attempt
	lastErr    error     // the last save's error (nil: ok)
	lastBgErr  error     // the last background save's error
	lastBgTime time.Duration
	bgStart    time.Time
	saves      int64 // successful saves

	// changesAtSave is the stream's change count (stream.changes) at the
	// point the last successful snapshot was taken.
	changesAtSave int64

	loadedKeys int // keys loaded at New

	// restored is the history loaded at New, kept so that a first
	// ReplicaOf resumes the primary's history (see resumeRestoredLocked);
	// guarded by stream.mu.
	restored *restoredHistory

	// expiryHeldUntil (unix ns, 0 for none) holds off this store's own
	// expiry deletes after it loaded a history from its file, until a
	// first ReplicaOf claims it or restoreGrace passes (see expiryHeld).
	expiryHeldUntil atomic.Int64

	// emptyGuard is set while the full-sync guard holds (see
	// Config.ServeFullSyncWhenEmpty).
	emptyGuard atomic.Bool

	// quiet stops the primary's PINGs while Close saves, so that the
	// saved offset is the one its replicas acknowledged.
	quiet atomic.Bool

	closeSaved atomic.Bool // Shutdown decided the save: Close does not save

	closeOnce sync.Once
	stopLoop  chan struct{} // closed to stop the save loop
}

// restoredHistory is the position a store loaded from its file at New:
// the file's replid and offset, and the new replid New continued it
// under (as a restarted Redis primary does).
type restoredHistory struct {
	fileID string
	offset int64
	newID  string
}

// persistDefaults fills and checks the persistence fields of a Config.
func (c *Config) persistDefaults() error {
	orDefault(&c.DBFilename, DefaultDBFilename)
	if c.DBFilename != filepath.Base(c.DBFilename) || c.DBFilename == "." || c.DBFilename == ".." {
		return fmt.Errorf("%w: Config.DBFilename %q: want a file name, not a path", ErrInvalidArgument, c.DBFilename)
	}
	if c.Dir == "" && (len(c.SavePoints) > 0 || c.SaveOnClose) {
		return fmt.Errorf("%w: Config.SavePoints and SaveOnClose need Config.Dir", ErrInvalidArgument)
	}
	for i, p := range c.SavePoints {
		if p.After < 0 || p.Changes < 0 {
			return fmt.Errorf("%w: Config.SavePoints[%d] %+v: want non-negative values", ErrInvalidArgument, i, p)
		}
		if p.After == 0 && p.Changes == 0 { // would save without pause
			return fmt.Errorf("%w: Config.SavePoints[%d]: After and Changes both 0", ErrInvalidArgument, i)
		}
	}
	c.SavePoints = append([]SavePoint(nil), c.SavePoints...)
	return nil
}

// SnapshotPath returns Config.Dir/Config.DBFilename, or "" when Dir is
// not set.
func (s *Store) SnapshotPath() string {
	if s.cfg.Dir == "" {
		return ""
	}
	return filepath.Join(s.cfg.Dir, s.cfg.DBFilename)
}

// PersistenceInfo is what INFO persistence shows about snapshots on disk.
type PersistenceInfo struct {
	ChangesSinceLastSave int64     // rdb_changes_since_last_save
	BgSaveInProgress     bool      // rdb_bgsave_in_progress
	LastSaveTime         time.Time // rdb_last_save_time (New's time before any save)
	LastBgSaveOK         bool      // rdb_last_bgsave_status ok/err
	LastBgSaveDuration   time.Duration
	CurrentBgSaveStart   time.Time // zero when none runs
	Saves                int64     // rdb_saves
	LastErr              error     // the last save's error, nil when it succeeded
	LoadedKeys           int       // rdb_last_load_keys_loaded
	FullSyncGuard        bool      // the empty-primary guard refuses full resyncs
}

// PersistenceInfo returns the state of snapshots on disk.
func (s *Store) PersistenceInfo() PersistenceInfo {
	s.st.mu.Lock()
	changes := s.st.changes
	s.st.mu.Unlock()
	p := &s.pers
	p.mu.Lock()
	defer p.mu.Unlock()
	pi := PersistenceInfo{
		ChangesSinceLastSave: max(0, changes-p.changesAtSave),
		BgSaveInProgress:     p.bgSaving,
		LastSaveTime:         p.lastSave,
		LastBgSaveOK:         p.lastBgErr == nil,
		LastBgSaveDuration:   p.lastBgTime,
		Saves:                p.saves,
		LastErr:              p.lastErr,
		LoadedKeys:           p.loadedKeys,
		FullSyncGuard:        p.emptyGuard.Load(),
	}
	if p.bgSaving {
		pi.CurrentBgSaveStart = p.bgStart
	}
	return pi
}

// AllowFullSync lifts the guard of a primary that started without its
// snapshot file (see Config.ServeFullSyncWhenEmpty): from now on it serves
// full resyncs to every replica, replacing their data with its own, as
// Redis does. Call it once an operator has decided that this primary's
// data, not its replicas', is the one to keep.
func (s *Store) AllowFullSync() {
	if s.pers.emptyGuard.CompareAndSwap(true, false) {
		s.cfg.Logger.Warn("full resyncs allowed: replicas of the old history will be replaced by this primary's data")
	}
}

// refuseFullSync reports why the primary must not serve a full resync to
// a replica that asked to continue history replid, or "" when it may.
func (s *Store) refuseFullSync(req psyncRequest, current string) string {
	return fullSyncGuard(s.pers.emptyGuard.Load(), req.Legacy, req.ReplID, current)
}

// fullSyncGuard is the pure rule of the empty-primary guard: a replica
// that asked to continue a history other than the primary's own (it holds
// data the primary does not have) is refused while the guard holds. SYNC
// cannot tell, so it is refused too.
func fullSyncGuard(guard, legacy bool, replid, current string) string {
	if !guard || (!legacy && (replid == "?" || replid == current)) {
		return ""
	}
	if legacy {
		replid = "unknown: SYNC"
	}
	return "NOMASTERLINK full resync refused: this primary started without its snapshot file and would replace the replica's data (history " +
		truncate(replid, 40) + ") with an empty keyspace; call AllowFullSync (replikv server: ALLOWFULLSYNC) to allow it"
}
