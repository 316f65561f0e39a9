package replikv

import (
	"time"
)

// saveState is the input of the save-point decision.
type saveState struct {
	Now        time.Time
	LastSave   time.Time // end of the last successful save (or the start)
	LastTry    time.Time // start of the last attempt
	LastFailed bool      // the last attempt failed
	Changes    int64     // changes since the last successful save
	Saving     bool      // a save runs
}

// saveRetryDelay is how long after a failed save the save points wait
// before trying again (Redis: CONFIG_BGSAVE_RETRY_DELAY, 5 s).
const saveRetryDelay = 5 * time.Second

// saveDue decides whether a background save is due: some save point has
// both its changes and its time since the last save (Redis serverCron).
// After a failure it waits saveRetryDelay since the last attempt.
func saveDue(points []SavePoint, in saveState) bool {
	// No "Changes == 0" shortcut: as Redis, "save 60 0" saves every
	// minute even when nothing changed (dirty >= 0).
	if in.Saving {
		return false
	}
	if in.LastFailed && in.Now.Sub(in.LastTry) < saveRetryDelay {
		return false
	}
	for _, p := range points {
		if in.Changes >= p.Changes && in.Now.Sub(in.LastSave) >= p.After {
			return true
		}
	}
	return false
}

// saveTick is how often the save loop checks the save points: ten times
// per second (Redis hz 10), or faster for save points below a second.
func saveTick(points []SavePoint) time.Duration {
	d := 100 * time.Millisecond
	for _, p := range points {
		d = min(d, max(5*time.Millisecond, p.After/4))
	}
	return d
}

// startSaveLoop starts the goroutine that applies Config.SavePoints; it
// stops at Close.
func (s *Store) startSaveLoop() {
	if len(s.cfg.SavePoints) == 0 || s.cfg.Dir == "" {
		return
	}
	s.pers.stopLoop = make(chan struct{})
	s.wg.Add(1)
	go s.saveLoop(s.pers.stopLoop)
}

func (s *Store) saveLoop(stop <-chan struct{}) {
	defer s.wg.Done()
	t := time.NewTicker(saveTick(s.cfg.SavePoints))
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-s.done:
			return
		case <-t.C:
		}
		if saveDue(s.cfg.SavePoints, s.saveState()) {
			s.BackgroundSave() // ErrSaveInProgress or ErrClosed: nothing to do
		}
	}
}

// saveState gathers the save-point decision's input.
func (s *Store) saveState() saveState {
	s.st.mu.Lock()
	changes := s.st.changes
	s.st.mu.Unlock()
	p := &s.pers
	p.mu.Lock()
	defer p.mu.Unlock()
	return saveState{
		Now:        s.cfg.Now(),
		LastSave:   p.lastSave,
		LastTry:    p.lastTry,
		LastFailed: p.lastErr != nil,
		Changes:    changes - p.changesAtSave,
		Saving:     p.saving,
	}
}
