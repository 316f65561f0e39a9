package replikv

// PropagatePublish appends PUBLISH channel message to the replication
// stream of a primary, as Redis propagates a PUBLISH to its replicas so
// that their subscribers receive it too. A replica (whose stream is its
// primary's) and a primary paused by a failover (whose final offset is
// fixed) propagate nothing. A PUBLISH is no change to the data: it does
// not count towards save points.
func (s *Store) PropagatePublish(channel, message []byte) {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	if s.st.pause != nil || !streams(s.st.loadRole()) {
		return
	}
	s.st.emitArgsLocked(s.conf().DB, []byte("PUBLISH"), channel, message)
	s.st.changes--
}
