package replikv

import "time"

// expiryBudget bounds the time one active-expiry cycle may hold locks.
const expiryBudget = 2 * time.Millisecond

// expiryLoop is the active half of expiry on a primary: every
// ActiveExpiryInterval it walks shards that hold keys with deadlines,
// deleting the expired ones (each becomes a DEL in the stream). A cycle
// stops after expiryBudget and the next one resumes where it stopped, so
// every key is looked at within a bounded number of cycles.
func (s *Store) expiryLoop() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.ActiveExpiryInterval)
	defer t.Stop()
	next := 0
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		s.mem.setClock(s.nowMs()) // the access clock moves even without writes
		if !ownsExpiry(s.Role()) || s.activeExpiryOff.Load() || s.expiryHeld() {
			continue // a replica waits for its primary's DEL (see also restoreGrace)
		}
		next = s.expireCycle(next, time.Now().Add(expiryBudget))
	}
}

// expireCycle visits shards from start until the deadline and returns the
// shard to start from next time.
func (s *Store) expireCycle(start int, stop time.Time) int {
	for n := 0; n < len(s.shards); n++ {
		i := (start + n) % len(s.shards)
		s.expireShard(&s.shards[i])
		if time.Now().After(stop) {
			return (i + 1) % len(s.shards)
		}
	}
	return start
}

// expireShard deletes every expired key of one shard.
func (s *Store) expireShard(sh *shard) int {
	sh.mu.RLock()
	has := sh.t.ttl > 0
	sh.mu.RUnlock()
	if !has {
		return 0
	}
	sh.mu.Lock()
	s.st.mu.Lock()
	defer s.unlockWrite(sh)
	if !ownsExpiry(s.st.loadRole()) {
		return 0
	}
	now := s.nowMs()
	n := 0
	for i := 0; i < len(sh.t.slots); {
		if sh.t.tags[i] != 0 && s.expired(&sh.t.slots[i], now) {
			s.deleteLocked(sh, i) // shifts a later entry into i: look again
			s.expiredKeys.Add(1)
			n++
			continue
		}
		i++
	}
	return n
}
