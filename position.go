package replikv

import "fmt"

// Position returns the replication ID of the store's history and its
// offset: the number of stream bytes in that history so far (Redis
// master_replid and master_repl_offset).
func (s *Store) Position() (replid string, offset int64) {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	return s.st.replid, s.st.end
}

// BacklogRange returns the stream offsets the backlog covers, [first, end):
// a subscription or a partial resync can start at any offset in it,
// end included.
func (s *Store) BacklogRange() (first, end int64) {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	return s.st.ring.Range()
}

// Subscribe returns a subscription to the stream starting at offset from,
// which must lie in BacklogRange (ErrOffsetNotCovered otherwise). The bytes
// from the backlog are queued at once, and every later byte follows.
func (s *Store) Subscribe(from int64, lim SubscribeLimits) (*Subscription, error) {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	return s.st.subscribeLocked(from, lim)
}

// subscribeLocked registers a subscription from offset from, queueing the
// backlog's bytes from there. After Close it fails with ErrClosed: Close
// closes the subscribers it finds under the same lock.
func (st *stream) subscribeLocked(from int64, lim SubscribeLimits) (*Subscription, error) {
	if st.loadRole() == RoleClosed {
		return nil, ErrClosed
	}
	first, end := st.ring.Range()
	if from < first || from > end {
		return nil, fmt.Errorf("%w: offset %d, backlog holds [%d, %d)", ErrOffsetNotCovered, from, first, end)
	}
	sub := st.newSubscriptionLocked(from, lim)
	st.subs = append(st.subs, sub)
	return sub, nil
}
