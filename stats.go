package replikv

// Stats are the store's counters, for metrics (see the expvar and
// Prometheus examples). Counters only grow; Keys, Expires and BytesUsed
// are the current sizes.
type Stats struct {
	Role Role

	// Reads by Get, AppendGet, View and Exists: hits found a live key,
	// misses did not.
	Gets, Hits, Misses int64
	// Sets counts keys written, through the API or applied from a primary.
	Sets int64
	// Expired counts keys this store deleted because their deadline passed.
	Expired int64

	Keys    int // keys held (DBSIZE)
	Expires int // keys with a deadline
	// BytesUsed is the key and value bytes held: the data, without the
	// per-key overhead (about 40 bytes of table and allocation per key).
	BytesUsed int64

	// Link transitions of a replica: times the link came up and went down.
	LinkUps, LinkDowns int64
	// Resyncs received from primaries (as a replica) and served to
	// replicas (as a primary; refused partials become full ones).
	FullSyncs, PartialSyncs                                  int64
	FullSyncsServed, PartialSyncsServed, PartialSyncsRefused int64
}

// Stats returns the store's counters. It visits every shard under its read
// lock, one at a time, and never stops the world.
func (s *Store) Stats() Stats {
	st := Stats{
		Role:                s.Role(),
		Expired:             s.expiredKeys.Load(),
		LinkUps:             s.rep.ups.Load(),
		LinkDowns:           s.rep.downs.Load(),
		FullSyncs:           s.rep.syncFull.Load(),
		PartialSyncs:        s.rep.syncPartial.Load(),
		FullSyncsServed:     s.prim.syncFull.Load(),
		PartialSyncsServed:  s.prim.syncPartialOK.Load(),
		PartialSyncsRefused: s.prim.syncPartialErr.Load(),
	}
	for i := range s.shards {
		sh := &s.shards[i]
		st.Hits += sh.hits.Load()
		st.Misses += sh.misses.Load()
		sh.mu.RLock()
		st.Sets += sh.sets
		st.Keys += sh.t.n
		st.Expires += sh.t.ttl
		st.BytesUsed += sh.t.bytes
		sh.mu.RUnlock()
	}
	st.Gets = st.Hits + st.Misses
	return st
}
