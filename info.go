package replikv

import (
	"maps"
	"sort"
	"time"
)

// Info is what Redis's INFO replication shows, as a struct.
type Info struct {
	// Role is "master" for a primary and "slave" for a replica, as Redis
	// spells them.
	Role string

	ReplID       string // master_replid: the current history
	ReplID2      string // master_replid2: the history continued from, or 40 zeros
	Offset       int64  // master_repl_offset: stream bytes in this history
	SecondOffset int64  // second_repl_offset: PSYNC offsets up to this are valid for ReplID2; -1 when none

	BacklogSize      int   // repl_backlog_size
	BacklogFirstByte int64 // repl_backlog_first_byte_offset (1-based, as Redis)
	BacklogHistLen   int64 // repl_backlog_histlen
	// ReplBufferBytes is how much of the stream is kept, once for the
	// backlog and every replica and subscriber together (Redis 7:
	// mem_total_replication_buffers): from the oldest byte any of them
	// still needs to the end. Memory is allocated in blocks of
	// backlog.BlockSize, so it is up to a block more at each end, and up
	// to 64 more blocks (1 MiB) that left the window are kept for reuse.
	ReplBufferBytes int64

	// GoodReplicas is how many replicas are online with an ACK younger
	// than Config.MinReplicasMaxLag (min_slaves_good_slaves), what
	// Config.MinReplicasToWrite is compared with; -1 when the check is off
	// (Redis then omits the line).
	GoodReplicas int
	// FailoverState is where a coordinated failover stands
	// (master_failover_state; see Failover).
	FailoverState FailoverState

	// Replicas connected to this store (connected_slaves, slaveN lines),
	// from their PSYNC or SYNC on: syncing ones included.
	Replicas []ReplicaInfo

	// The snapshot being produced for full resyncs, if any: its stream
	// offset, the bytes encoded so far, and the replicas reading it.
	// Redis: rdb_bgsave_in_progress.
	SnapshotInProgress bool
	SnapshotOffset     int64
	SnapshotBytes      int64
	SnapshotReplicas   int

	// Sync counters of this store as a primary: full resyncs served,
	// partial resyncs accepted, and partial resyncs refused (which then
	// became full ones). Redis: sync_full, sync_partial_ok, sync_partial_err.
	SyncFull, SyncPartialOK, SyncPartialErr int64

	// DroppedHistoryBytes counts, in all, the stream bytes of its own
	// history this store threw away in full resyncs after it was demoted:
	// writes it had accepted (or received) that its new primary never
	// had. LastDroppedHistory describes the last such resync (nil when
	// none). See DroppedHistory for what is known and what is a bound.
	DroppedHistoryBytes int64
	LastDroppedHistory  *DroppedHistory

	// Master describes the link of a replica (zero on a primary).
	Master MasterInfo

	Keys        int   // keys held (DBSIZE)
	Expires     int   // keys with a deadline (INFO keyspace expires=)
	ExpiredKeys int64 // keys this store deleted by expiry

	// Memory, as INFO memory and INFO stats show it.
	UsedMemory     int64          // used_memory: what the store accounts toward MaxMemory (Store.UsedMemory)
	MaxMemory      int64          // maxmemory: Config.MaxMemory, 0 for no limit
	EvictionPolicy EvictionPolicy // maxmemory_policy: Config.EvictionPolicy
	EvictedKeys    int64          // evicted_keys: keys this store evicted (each a DEL in the stream)
	// OverMaxMemory is true on a replica holding more than its MaxMemory:
	// replicas never evict (they would diverge from their primary), so a
	// replica says so here instead. Always false on a primary, which
	// evicts or refuses writes.
	OverMaxMemory bool
}

// ReplicaInfo describes one connected replica.
type ReplicaInfo struct {
	ID     int64
	Addr   string        // IP, or the transport's address
	Port   int           // as announced with REPLCONF listening-port
	State  string        // wait_bgsave, send_bulk or online
	Offset int64         // last offset the replica acknowledged
	Lag    time.Duration // time since its last ACK
	// LagBytes is how far its acknowledged offset is behind this store's.
	LagBytes int64
	// PendingBytes is the stream not yet written to it: how far its
	// reader is behind the end of the stream (what its output limits,
	// Config.ReplicaOutputLimits, act on).
	PendingBytes int64

	// Progress of its full resync (zero after a partial one): snapshot
	// bytes sent, and the snapshot's size (-1 while it is still being
	// produced).
	SyncSentBytes, SyncTotalBytes int64
}

// MasterInfo describes a replica's link to its primary.
type MasterInfo struct {
	Host       string // master_host (the dialer's address)
	Port       int    // master_port
	LinkStatus LinkStatus
	// LastIO is the time since the last byte from the primary.
	LastIO time.Duration
	// DownFor is how long the link has not been up (0 while up).
	DownFor time.Duration
	LastErr string // why the link last failed (master_link_down reason)
	// LastError is the same as an error, for errors.Is (ErrNoAuth, …).
	LastError error
	ReadOnly  bool // slave_read_only

	// SyncInProgress is set while a full resync snapshot is loading, with
	// its progress: bytes and keys loaded, the announced size (-1 when
	// unknown, with EOF framing) and the percentage when it is known.
	SyncInProgress  bool
	SyncBytesLoaded int64
	SyncBytesTotal  int64
	SyncKeysLoaded  int64
	SyncPercent     float64

	// Resyncs this replica received from its primaries.
	FullSyncs, PartialSyncs int64

	// What the last snapshot from the primary held that this store does
	// not keep: keys of other databases, and values of other types than
	// string (by type name, e.g. "list", "hash").
	SnapshotOtherDBKeys int
	SnapshotSkipped     map[string]int

	// Stream commands not applied: for databases other than Config.DB,
	// of types or commands this store does not implement, or that failed.
	OtherDBCommands, UnsupportedCommands, FailedCommands int64
	// DroppedCommands counts, by lower-case command name (with "|sub"
	// for a subcommand, as Redis's cmdstat), the stream commands of other
	// types whose keys this replica deleted instead of applying them.
	DroppedCommands map[string]int64
	// ResyncCommands counts the stream commands whose effect on this
	// store was unknowable (SWAPDB or MOVE into its database, a script, a
	// command it does not know…), each of which cost a full resync.
	ResyncCommands int64
}

// Info reports the store's replication state.
func (s *Store) Info() Info {
	st := s.st
	st.mu.Lock()
	first, end := st.ring.Range()
	in := Info{
		Role:             "master",
		ReplID:           st.replid,
		ReplID2:          st.replid2,
		Offset:           st.end,
		SecondOffset:     st.off2,
		BacklogSize:      st.ring.Size(),
		BacklogFirstByte: first + 1,
		BacklogHistLen:   end - first,
		ReplBufferBytes:  st.end - min(first, st.lowestLocked()),
	}
	role := st.loadRole() // with the history it goes with
	st.mu.Unlock()
	if in.ReplID2 == "" {
		in.ReplID2 = "0000000000000000000000000000000000000000"
	}
	p := &s.prim
	in.SyncFull, in.SyncPartialOK, in.SyncPartialErr = p.syncFull.Load(), p.syncPartialOK.Load(), p.syncPartialErr.Load()
	now := time.Now()
	p.mu.Lock()
	for _, rc := range p.replicas {
		rc.mu.Lock()
		in.Replicas = append(in.Replicas, ReplicaInfo{ID: rc.id, Addr: rc.addr, Port: rc.port, State: rc.state,
			Offset: rc.ackOff, Lag: now.Sub(rc.lastAck), LagBytes: max(0, in.Offset-rc.ackOff),
			SyncSentBytes: rc.syncSent.Load(), SyncTotalBytes: rc.syncTotal.Load()})
		if sub := rc.sub.Load(); sub != nil && !sub.closed.Load() {
			in.Replicas[len(in.Replicas)-1].PendingBytes = max(0, in.Offset-sub.pos.Load())
		}
		rc.mu.Unlock()
	}
	p.mu.Unlock()
	sort.Slice(in.Replicas, func(i, j int) bool { return in.Replicas[i].ID < in.Replicas[j].ID })
	in.GoodReplicas = -1
	if c := s.conf(); minReplicasOn(c) {
		in.GoodReplicas = s.goodReplicas(now, c.MinReplicasMaxLag)
	}
	in.FailoverState = s.FailoverState()
	in.DroppedHistoryBytes, in.LastDroppedHistory = s.droppedInfo()
	in.SnapshotInProgress, in.SnapshotOffset, in.SnapshotBytes, in.SnapshotReplicas = s.syncJobInfo()
	in.Keys, in.Expires = s.counts()
	in.ExpiredKeys = s.expiredKeys.Load()
	c := s.conf()
	in.UsedMemory, in.MaxMemory, in.EvictionPolicy = s.mem.used.Load(), c.MaxMemory, c.EvictionPolicy
	in.EvictedKeys = s.mem.evicted.Load()
	in.OverMaxMemory = c.MaxMemory > 0 && in.UsedMemory > c.MaxMemory && s.Role() == RoleReplica

	if role == RoleReplica {
		r := &s.rep
		in.Role = "slave"
		m := &in.Master
		r.mu.Lock()
		if r.link != nil {
			m.Host, m.Port = r.link.host, r.link.port
		}
		r.mu.Unlock()
		m.LinkStatus = LinkStatus(r.state.Load())
		if t := r.lastIO.Load(); t != 0 {
			m.LastIO = now.Sub(time.Unix(0, t))
		} else {
			m.LastIO = -1
		}
		if t := r.downSince.Load(); t != 0 {
			m.DownFor = now.Sub(time.Unix(0, t))
		}
		if err := s.linkErr(); err != nil {
			m.LastErr, m.LastError = err.Error(), err
		}
		m.ReadOnly = !s.conf().ReplicaWritable
		if m.LinkStatus == LinkSyncing {
			m.SyncInProgress = true
			m.SyncBytesLoaded = r.load.bytes.Load()
			m.SyncKeysLoaded = r.load.keys.Load()
			m.SyncBytesTotal = r.loadTotal.Load()
			if m.SyncBytesTotal > 0 {
				m.SyncPercent = 100 * float64(m.SyncBytesLoaded) / float64(m.SyncBytesTotal)
			}
		}
		m.FullSyncs, m.PartialSyncs = r.syncFull.Load(), r.syncPartial.Load()
		if ls := r.lastLoad.Load(); ls != nil {
			m.SnapshotOtherDBKeys = ls.OtherDBKeys
			m.SnapshotSkipped = maps.Clone(ls.Skipped.ByType) // the caller's to change
		}
		m.OtherDBCommands = s.applied.otherDB.Load()
		m.UnsupportedCommands = s.applied.unsupported.Load()
		m.FailedCommands = s.applied.failed.Load()
		m.DroppedCommands = s.applied.droppedByCommand()
		m.ResyncCommands = s.applied.resyncs.Load()
	}
	return in
}
