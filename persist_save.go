package replikv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// SaveTo writes a point-in-time snapshot of the store to w in the Redis
// RDB format, with the aux fields repl-stream-db, repl-id and repl-offset
// (the history and offset the snapshot belongs to) and a CRC-64 checksum.
// Writers go on meanwhile (see Snapshot). It waits for a running
// snapshot to end first, or for ctx; ctx also stops the writing. It
// returns the number of bytes written.
func (s *Store) SaveTo(ctx context.Context, w io.Writer) (int64, error) {
	sn, err := s.BeginSnapshot(ctx)
	if err != nil {
		return 0, err
	}
	return sn.WriteTo(ctxWriter{ctx: ctx, w: w})
}

// Save writes a point-in-time snapshot of the store (see SaveTo) to the
// file at path, or to Config.Dir/Config.DBFilename when path is "", and
// replaces that file atomically: the snapshot goes to a temporary file in
// the same directory, which is synced, renamed over path, and the
// directory synced. On any failure the previous file is untouched, the
// temporary file is removed, and the error says which step failed. A
// successful save of the store's own file resets the count of changes
// since the last save (PersistenceInfo), as Redis's SAVE does.
func (s *Store) Save(ctx context.Context, path string) error {
	own := path == ""
	if own {
		if path = s.SnapshotPath(); path == "" {
			return fmt.Errorf("%w: Save with no path and no Config.Dir", ErrInvalidArgument)
		}
	}
	if !own {
		return s.saveFile(ctx, path, nil)
	}
	if !s.beginSave(false) {
		return ErrSaveInProgress
	}
	return s.endSave(s.saveFile(ctx, path, s.markSaved), false)
}

// BackgroundSave starts saving the store to Config.Dir/Config.DBFilename
// in a goroutine and returns at once (Redis BGSAVE). It fails with
// ErrSaveInProgress while another save of that file runs, and with
// ErrClosed once Close has started. PersistenceInfo tells when it is done
// and whether it succeeded; Close waits for it.
func (s *Store) BackgroundSave() error {
	path := s.SnapshotPath()
	if path == "" {
		return fmt.Errorf("%w: BackgroundSave needs Config.Dir", ErrInvalidArgument)
	}
	p := &s.pers
	p.mu.Lock()
	if p.closing || s.isClosed() {
		p.mu.Unlock()
		return ErrClosed
	}
	p.mu.Unlock()
	if !s.beginSave(true) {
		return ErrSaveInProgress
	}
	go func() {
		defer s.wg.Done()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		stop := context.AfterFunc(ctxDone(s.done), cancel)
		defer stop()
		s.endSave(s.saveFile(ctx, path, s.markSaved), true)
	}()
	return nil
}

// beginSave marks a save of the store's own file as running, or reports
// that one already runs (or that Close started, for a background one).
func (s *Store) beginSave(bg bool) bool {
	p := &s.pers
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.saving || (bg && p.closing) {
		return false
	}
	p.saving, p.bgSaving = true, bg
	p.lastTry = s.cfg.Now()
	if bg {
		p.bgStart = p.lastTry
		s.wg.Add(1) // under p.mu, before Close (closing) can reach wg.Wait
	}
	return true
}

// endSave records the outcome of a save of the store's own file.
func (s *Store) endSave(err error, bg bool) error {
	p := &s.pers
	p.mu.Lock()
	defer p.mu.Unlock()
	p.saving, p.bgSaving = false, false
	p.lastErr = err
	if bg {
		p.lastBgErr = err
		p.lastBgTime = s.cfg.Now().Sub(p.bgStart)
	}
	if err != nil {
		s.cfg.Logger.Error("snapshot save failed", "path", s.SnapshotPath(), "err", err)
	}
	return err
}

// markSaved records a successful save whose snapshot was taken when the
// change count was changes.
func (s *Store) markSaved(changes int64) {
	p := &s.pers
	p.mu.Lock()
	p.changesAtSave = changes
	p.lastSave = s.cfg.Now()
	p.saves++
	p.mu.Unlock()
}

// saveFile writes the snapshot to a temporary file beside path and renames
// it over path; done (when not nil) is told the change count the snapshot
// includes at least, after the rename.
func (s *Store) saveFile(ctx context.Context, path string, done func(changes int64)) (err error) {
	start := time.Now()
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "temp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("replikv: save %s: create the temporary file: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	// Read before the snapshot point: writes in between are in the
	// snapshot but still counted as unsaved (a save a little early,
	// never one missed).
	s.st.mu.Lock()
	changes := s.st.changes
	s.st.mu.Unlock()
	sn, err := s.BeginSnapshot(ctx)
	if err != nil {
		return fmt.Errorf("replikv: save %s: %w", path, err)
	}
	n, err := sn.WriteTo(ctxWriter{ctx: ctx, w: f})
	if err != nil {
		return fmt.Errorf("replikv: save %s: write %s after %d bytes: %w", path, tmp, n, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("replikv: save %s: fsync %s: %w", path, tmp, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("replikv: save %s: close %s: %w", path, tmp, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("replikv: save %s: rename %s: %w", path, tmp, err)
	}
	if err := syncDir(dir); err != nil {
		// The new file is in place; only its durability across a power
		// loss is in doubt.
		s.cfg.Logger.Warn("snapshot saved, but the directory fsync failed", "dir", dir, "err", err)
	}
	if done != nil {
		done(changes)
	}
	s.cfg.Logger.Info("snapshot saved", "path", path, "bytes", n, "replid", sn.ReplID(), "offset", sn.Offset(), "took", time.Since(start))
	return nil
}

// syncDir fsyncs a directory, so that a rename in it survives a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// ShutdownSave is Shutdown with a save, as Redis's SHUTDOWN SAVE: on a
// primary, writes stop and PINGs too, every streaming replica is waited
// for (up to 10 s, or ctx) until it acknowledged the final offset, then
// the store is saved to Config.Dir/Config.DBFilename, so that the saved
// offset is the one its replicas reached and they continue with
// +CONTINUE after the restart; then the store closes. A replica saves its
// primary's history and offset for its own restart. If the save fails,
// ShutdownSave returns its error, the store stays open and writable, and
// the previous file is untouched (Redis: "Errors trying to SHUTDOWN").
func (s *Store) ShutdownSave(ctx context.Context) error {
	if s.SnapshotPath() == "" {
		return fmt.Errorf("%w: ShutdownSave needs Config.Dir", ErrInvalidArgument)
	}
	p := &s.pers
	p.quiet.Store(true)
	defer p.quiet.Store(false)
	paused := s.changeRole(evPause, nil) == nil
	if paused {
		_, off := s.Position()
		wctx, cancel := context.WithTimeout(ctx, shutdownWait)
		if err := s.waitAcked(wctx, s.streamingReplicas(), off); err != nil {
			s.cfg.Logger.Warn("saving with replicas behind", "err", err)
		}
		cancel()
	}
	for !s.beginSave(false) { // a running save, a background one finishes on its own
		if s.waitSaveEnd() {
			return ErrClosed
		}
	}
	if err := s.endSave(s.saveFile(ctx, s.SnapshotPath(), s.markSaved), false); err != nil {
		if paused {
			s.changeRole(evResume, nil)
		}
		return err
	}
	p.closeSaved.Store(true)
	return s.Close()
}

// finalSave is the save before closing (Shutdown, SaveOnClose).
func (s *Store) finalSave(ctx context.Context) error {
	if s.SnapshotPath() == "" {
		return fmt.Errorf("%w: no Config.Dir to save to", ErrInvalidArgument)
	}
	p := &s.pers
	p.quiet.Store(true)
	defer p.quiet.Store(false) // still open: after a failure, or for Close
	s.waitReplicasCaughtUp()
	for !s.beginSave(false) { // a running save, a background one finishes on its own
		if s.waitSaveEnd() {
			return ErrClosed
		}
	}
	return s.endSave(s.saveFile(ctx, s.SnapshotPath(), s.markSaved), false)
}

// saveOnClose stops the save loop at the first Close and, with
// Config.SaveOnClose (and unless Shutdown decided), saves the store; a
// failed save is logged and Close goes on.
func (s *Store) saveOnClose() {
	p := &s.pers
	p.closeOnce.Do(func() {
		if s.cfg.SaveOnClose && !p.closeSaved.Load() && !s.isClosed() {
			if err := s.finalSave(context.Background()); err != nil && !errors.Is(err, ErrClosed) {
				s.cfg.Logger.Error("save on close failed", "err", err)
			}
		}
		p.mu.Lock()
		p.closing = true
		p.mu.Unlock()
		if p.stopLoop != nil {
			close(p.stopLoop)
		}
	})
}

// waitSaveEnd polls until no save runs; it reports true when the store
// was closed meanwhile.
func (s *Store) waitSaveEnd() bool {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		p := &s.pers
		p.mu.Lock()
		saving := p.saving
		p.mu.Unlock()
		if !saving {
			return false
		}
		select {
		case <-t.C:
		case <-s.done:
			return true
		}
	}
}

// ctxWriter fails writes once ctx is done.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

// ctxDone is a context that is done when ch is closed.
type ctxDone chan struct{}

func (c ctxDone) Deadline() (time.Time, bool) { return time.Time{}, false }
func (c ctxDone) Done() <-chan struct{}       { return c }
func (c ctxDone) Value(any) any               { return nil }
func (c ctxDone) Err() error {
	select {
	case <-c:
		return context.Canceled
	default:
		return nil
	}
}

// shutdownWait bounds how long Close waits for replicas to acknowledge
// the stream before its save (Redis: shutdown-timeout 10).
const shutdownWait = 10 * time.Second

// waitReplicasCaughtUp waits, on a primary, until every online replica
// has acknowledged the stream up to the offset at the start of the wait,
// for at most shutdownWait (and ReplTimeout): the save then holds an
// offset they all reached, so that they continue after the restart.
// Redis SHUTDOWN does the same.
func (s *Store) waitReplicasCaughtUp() {
	if s.Role() != RolePrimary {
		return
	}
	_, end := s.Position()
	deadline := time.Now().Add(min(shutdownWait, s.conf().ReplTimeout))
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		_, end = s.Position() // a PING may have slipped in as quiet was set
		behind := 0
		for _, r := range s.Info().Replicas {
			if r.State == "online" && r.Offset < end {
				behind++
			}
		}
		if behind == 0 {
			return
		}
		if time.Now().After(deadline) {
			s.cfg.Logger.Warn("saving on close with replicas behind", "replicas", behind, "offset", end)
			return
		}
		select {
		case <-t.C:
		case <-s.done:
			return
		}
	}
}
