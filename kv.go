// Package replikv is an embeddable key-value store with Redis-style
// primary/replica replication.
//
// A Store holds a keyspace of binary-safe string keys and []byte values
// with optional absolute deadlines. Reads run at memory speed. Every write
// on a primary appends one deterministic RESP command to the store's
// replication stream, which carries a replication ID and a byte offset
// exactly as Redis's does, keeps the newest bytes in a backlog ring, and
// feeds subscribers and watchers. A point-in-time snapshot in the Redis RDB
// format can be written while writers keep writing.
//
// # Who owns a value
//
// Everything the API returns belongs to the caller: Get, Range, All,
// Tx.Get, SetResult.Old and Watch events hand out copies, so changing them
// cannot change the store, its replicas or its snapshots. AppendGet
// appends into the caller's buffer without allocating. View and ViewID lend
// the stored bytes to a function for the duration of the call, without
// copying: the function must neither change them nor keep them. Values
// passed to Set and its kin are copied.
//
// # Roles
//
// A store is a primary, a replica or closed (Role). The role changes only
// through ReplicaOf, Promote, Failover, Shutdown and Close, which are serialised, and
// every write checks it under the lock that orders the stream: a write
// either is in the stream before a role change or fails after it
// (ErrReadOnly, ErrClosed). After Close no goroutine of the store runs and
// every read, write, control call, subscription and snapshot returns
// ErrClosed; Info, Stats and Position still report the final state.
package replikv

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// shard is one independently locked part of the keyspace.
type shard struct {
	mu sync.RWMutex
	t  table

	// Snapshot copy-on-write state, guarded by mu (see snapshot.go).
	doneEpoch   uint64             // last snapshot epoch that has visited this shard
	presEpoch   uint64             // epoch pres belongs to
	pres        map[string]slotRef // state at the snapshot point of keys changed since
	frozen      *table             // the whole table at the snapshot point (after FLUSHALL)
	frozenEpoch uint64

	hits, misses atomic.Int64 // reads (Stats)
	sets         int64        // keys written (Stats), guarded by mu
	memAcct      int64        // t.memory() as last added to Store.mem.used, guarded by mu

	_ [16]byte // keep hot shards on separate cache lines
}

// slotRef is an item as it was at some point: the slot (p == nil when the
// key was absent) and a copy of its deadline.
type slotRef struct {
	s        slot
	deadline int64
}

// Store is a replicated key-value store. All methods are safe for
// concurrent use.
type Store struct {
	cfg    Config
	shards []shard
	shift  uint // shard of hash h is h >> shift
	st     *stream

	ctl sync.Mutex // serialises role changes (replication.go)

	snapMu chan struct{} // one snapshot at a time

	expiredKeys atomic.Int64 // keys deleted by expiry (Info)

	mem memState // memory accounting, access clock, eviction (access.go, evict.go)

	// activeExpiryOff pauses the expiry loop (SetActiveExpiry).
	activeExpiryOff atomic.Bool

	applied applyStats
	multi   multiState // a transaction being received from the primary

	dyn      atomic.Pointer[Config] // the configuration in effect (Reconfigure)
	reconfMu sync.Mutex
	// periodsSet tells which of PingPeriod and AckPeriod the user set (the
	// others follow ReplTimeout); guarded by reconfMu.
	periodsSet struct{ ping, ack bool }

	fo atomic.Pointer[failover] // the running coordinated failover (failover.go)

	prim primaryState // serving replicas (primary.go)
	rep  replicaState // following a primary (replica.go)
	pers persistState // snapshots on disk (persist.go)

	done chan struct{} // closed by Close
	wg   sync.WaitGroup
}

// New returns a primary Store configured by cfg: empty, or, when
// cfg.Dir is set and holds cfg.DBFilename, loaded from that snapshot file
// (see Config.Dir; a corrupt file makes New fail with ErrCorruptSnapshot).
func New(cfg Config) (*Store, error) {
	user := cfg
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Store{
		cfg:    cfg,
		shards: make([]shard, cfg.Shards),
		st:     newStream(cfg.BacklogSize, cfg.Now),
		snapMu: make(chan struct{}, 1),
		done:   make(chan struct{}),
	}
	s.dyn.Store(&cfg)
	s.mem.setParams(&cfg)
	s.mem.setClock(s.nowMs())
	s.periodsSet.ping, s.periodsSet.ack = user.PingPeriod != 0, user.AckPeriod != 0
	s.shift = 64
	for n := cfg.Shards; n > 1; n >>= 1 {
		s.shift--
	}
	if err := s.loadAtStart(); err != nil {
		// Never let SaveOnClose write this empty store over the file it
		// could not load.
		s.pers.closeSaved.Store(true)
		s.Close()
		return nil, err
	}
	if cfg.ActiveExpiryInterval > 0 {
		s.wg.Add(1)
		go s.expiryLoop()
	}
	s.startSaveLoop()
	return s, nil
}

// Close stops every goroutine the store started, closes its listeners,
// connections and stream subscriptions, and waits for all of them. After
// it returns, reads, writes, control calls, subscriptions and snapshots
// return ErrClosed (Info, Stats and Position still answer). Close is
// idempotent and safe to call concurrently with any other method.
func (s *Store) Close() error {
	s.saveOnClose()
	s.changeRole(evClose, nil) // cannot fail
	s.closeServing()
	s.wg.Wait()
	s.st.waitReleasers()
	return nil
}

// shardOf picks a shard by the top bits of the hash (a shift by 64 gives
// 0, for a single shard).
func (s *Store) shardOf(h uint64) *shard { return &s.shards[h>>s.shift] }

// isClosed reports whether Close was called.
func (s *Store) isClosed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

func (s *Store) nowMs() int64 { return s.cfg.Now().UnixMilli() }

// expired reports whether the item in sl has a deadline before now: as in
// Redis, a key is still there during the millisecond of its deadline.
func (s *Store) expired(sl *slot, now int64) bool {
	return sl.hasTTL() && sl.deadline() < now
}

// Get returns a copy of the value of key: the caller owns it. A key whose
// deadline has passed is not found (ErrNotFound); a replica that refuses
// stale reads returns ErrSyncing. Use AppendGet to reuse a buffer, or View
// to read the value in place.
func (s *Store) Get(key string) ([]byte, error) {
	it, err := s.readItem(key)
	if err != nil {
		return nil, err
	}
	v := it.value()
	return append(make([]byte, 0, len(v)), v...), nil
}

// AppendGet appends the value of key to dst and returns the extended
// slice; it does not allocate when dst has room. Errors are Get's, with
// dst returned unchanged.
func (s *Store) AppendGet(dst []byte, key string) ([]byte, error) {
	it, err := s.readItem(key)
	if err != nil {
		return dst, err
	}
	return append(dst, it.value()...), nil
}

// View calls fn with the value of key in place, without copying, and
// returns fn's error (or Get's errors, without calling fn). The slice is
// the store's own: fn must not modify it, nor keep it after returning.
// fn runs without locks held and may call the store.
func (s *Store) View(key string, fn func(value []byte) error) error {
	it, err := s.readItem(key)
	if err != nil {
		return err
	}
	return fn(it.value())
}

// ItemID identifies one stored value of a key: every write of the key's
// value gives a new ItemID, and an ItemID is never reused while someone
// holds it (it keeps that value's memory alive). IDs are comparable, for
// caches of decoded values (see package typed). The zero ItemID is none.
type ItemID struct{ p unsafe.Pointer }

// ViewID is View with the value's ItemID: fn may reuse what it decoded
// from a value with the same ID instead of decoding it again.
func (s *Store) ViewID(key string, fn func(value []byte, id ItemID) error) error {
	it, err := s.readItem(key)
	if err != nil {
		return err
	}
	return fn(it.value(), ItemID{it.p})
}

// readItem returns key's item for a read. Items are immutable but for
// their deadline word, so the item's key and value stay valid after the
// shard's lock is released; its deadline must not be read then.
func (s *Store) readItem(key string) (slot, error) { return s.lookItem(key, true) }

// lookItem is readItem; touch tells whether the read counts as an access
// of the key (for eviction: OBJECT's lookups do not, as in Redis).
func (s *Store) lookItem(key string, touch bool) (slot, error) {
	if err := s.readable(); err != nil {
		return slot{}, err
	}
	h := hashKey(key)
	sh := s.shardOf(h)
	sh.mu.RLock()
	i := sh.t.find(key, h)
	if i < 0 {
		sh.mu.RUnlock()
		sh.misses.Add(1)
		return slot{}, ErrNotFound
	}
	sl := sh.t.slots[i]
	if sl.hasTTL() && s.expired(&sl, s.nowMs()) { // the clock only for keys with a deadline
		sh.mu.RUnlock()
		sh.misses.Add(1)
		s.expireIfNeeded(key)
		return slot{}, ErrNotFound
	}
	if touch {
		s.mem.touch(&sh.t, i)
	}
	sh.mu.RUnlock()
	sh.hits.Add(1)
	return sl, nil
}

// Exists reports whether key is present and not expired (false where
// reads are refused). It does not count as an access of the key for
// eviction (Redis's EXISTS looks up with LOOKUP_NOTOUCH); Touch does.
func (s *Store) Exists(key string) bool {
	_, err := s.lookItem(key, false)
	return err == nil
}

// TTL returns the time left before key expires. ok is false when the key
// does not exist, or when reads are refused (where Get returns
// ErrSyncing); ttl is NoExpiry when it exists without a deadline.
func (s *Store) TTL(key string) (ttl time.Duration, ok bool) {
	dl, ok := s.expireTimeMs(key)
	return ttlOf(dl, ok, s.nowMs())
}

func ttlOf(deadline int64, ok bool, now int64) (time.Duration, bool) {
	if !ok {
		return 0, false
	}
	if deadline == 0 {
		return NoExpiry, true
	}
	return time.Duration(max(0, deadline-now)) * time.Millisecond, true
}

// NoExpiry is the TTL of a key that exists without a deadline.
const NoExpiry time.Duration = -1

// ExpireTime returns key's absolute deadline (to the millisecond), the
// zero time when it has none; ok is false when the key does not exist, or
// when reads are refused (where Get returns ErrSyncing).
func (s *Store) ExpireTime(key string) (deadline time.Time, ok bool) {
	dl, ok := s.expireTimeMs(key)
	return timeOf(dl), ok
}

func (s *Store) expireTimeMs(key string) (deadlineMs int64, ok bool) {
	if s.readable() != nil {
		return 0, false
	}
	h := hashKey(key)
	sh := s.shardOf(h)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	i := sh.t.find(key, h)
	if i < 0 {
		return 0, false
	}
	sl := &sh.t.slots[i]
	if s.expired(sl, s.nowMs()) {
		return 0, false
	}
	return sl.deadline(), true
}

// Len returns the number of keys, counting keys whose deadline has passed
// but which have not been deleted yet (like Redis DBSIZE). It is a size,
// not a read of the data: a replica refusing stale reads still reports it
// (as Info().Keys and Redis's INFO keyspace do).
func (s *Store) Len() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.RLock()
		n += sh.t.n
		sh.mu.RUnlock()
	}
	return n
}

// Scan iterates over the keys a few at a time without stopping the world:
// each call visits whole shards, from cursor on, until it has at least
// count keys (count <= 0 means 10), and returns the keys and the cursor for
// the next call; 0 means the iteration is complete. Start with cursor 0.
// Every key present during the whole iteration is returned exactly once;
// keys added or removed meanwhile may or may not be. Expired keys are
// skipped. The returned strings are shared with the store (never modified).
// Where reads are refused, it returns Get's error (ErrSyncing) and the
// cursor unchanged, so an iteration cut short never looks complete.
func (s *Store) Scan(cursor uint64, count int) (keys []string, next uint64, err error) {
	if err := s.readable(); err != nil {
		return nil, cursor, err
	}
	if count <= 0 {
		count = 10
	}
	now := s.nowMs()
	i := cursor
	for ; i < uint64(len(s.shards)) && len(keys) < count; i++ {
		sh := &s.shards[i]
		sh.mu.RLock()
		sh.t.each(func(sl *slot) bool {
			if !s.expired(sl, now) {
				keys = append(keys, sl.key())
			}
			return true
		})
		sh.mu.RUnlock()
	}
	if i >= uint64(len(s.shards)) {
		return keys, 0, nil
	}
	return keys, i, nil
}

// Range calls fn for every key that has not expired, with a copy of its
// value (fn owns it) and its deadline (the zero time when none), shard by shard, until fn returns false. fn runs
// without locks held and may call the store. Like Scan, it is not a
// point-in-time view; use a snapshot for that. Where reads are refused it
// returns Get's error (ErrSyncing) without calling fn.
func (s *Store) Range(fn func(key string, value []byte, deadline time.Time) bool) error {
	if err := s.readable(); err != nil {
		return err
	}
	var refs []slotRef
	now := s.nowMs()
	for i := range s.shards {
		sh := &s.shards[i]
		refs = refs[:0]
		sh.mu.RLock()
		sh.t.each(func(sl *slot) bool {
			if !s.expired(sl, now) {
				refs = append(refs, slotRef{s: *sl, deadline: sl.deadline()})
			}
			return true
		})
		sh.mu.RUnlock()
		for j := range refs {
			v := refs[j].s.value()
			if !fn(refs[j].s.key(), append(make([]byte, 0, len(v)), v...), timeOf(refs[j].deadline)) {
				return nil
			}
		}
	}
	return nil
}

// readable returns the error of a refused read: ErrClosed after Close,
// ErrSyncing on a replica whose link is not up when
// Config.RefuseStaleReads.
func (s *Store) readable() error {
	switch s.Role() {
	case RoleClosed:
		return ErrClosed
	case RoleReplica:
		if st := LinkStatus(s.rep.state.Load()); st != LinkUp && st != LinkNone && s.conf().RefuseStaleReads {
			return ErrSyncing
		}
	}
	return nil
}

// admitLocked decides an API write with the stream locked, so that the
// role cannot change between the decision and the write's stream append:
// ErrReadOnly on a read-only replica, ErrClosed after Close, errPaused
// while a failover pauses writes (see lockWrite), ErrNoReplicas on a
// primary short of good replicas (minreplicas.go).
func (s *Store) admitLocked() error {
	if s.st.pause != nil {
		return errPaused
	}
	c := s.conf()
	stream, err := admitWrite(s.st.loadRole(), c.ReplicaWritable)
	if err != nil || !stream {
		return err
	}
	return s.minReplicasLocked(c)
}

// lockKey locks key's shard and the stream for a mutation.
func (s *Store) lockKey(key string) *shard {
	sh := s.shardOf(hashKey(key))
	sh.mu.Lock()
	s.st.mu.Lock()
	return sh
}

// lockWrite is lockKey for an API write, admitted by admitLocked; on error
// nothing is locked. While a failover pauses writes it waits, unlocked,
// for the failover to end, then decides again.
func (s *Store) lockWrite(key string) (*shard, error) {
	for {
		s.makeRoom(false) // evicts when over MaxMemory; only growing writes fail
		sh := s.lockKey(key)
		err := s.admitLocked()
		if err == nil {
			return sh, nil
		}
		pause := s.st.pause
		s.unlockWrite(sh)
		if err != errPaused {
			return nil, err
		}
		if !s.awaitPause(pause) {
			return nil, ErrClosed // closed during the failover
		}
	}
}

// findLocked returns the shard and bucket of key (bucket -1 when absent);
// the shard must be locked.
func (s *Store) findLocked(key string) (*shard, int) {
	h := hashKey(key)
	sh := s.shardOf(h)
	return sh, sh.t.find(key, h)
}

// lookupLocked returns the shard and bucket of key (-1 when absent), with
// the shard and the stream locked. A key whose deadline has passed is
// deleted first (with a DEL in the stream) when this store owns expiry,
// so the caller sees it as absent.
func (s *Store) lookupLocked(key string) (*shard, int) {
	sh, i := s.findLocked(key)
	if i >= 0 && sh.t.slots[i].hasTTL() && ownsExpiry(s.st.loadRole()) && s.expired(&sh.t.slots[i], s.nowMs()) {
		s.deleteLocked(sh, i)
		s.expiredKeys.Add(1)
		i = -1
	}
	return sh, i
}

func (s *Store) unlockWrite(sh *shard) {
	s.syncMemLocked(sh)
	s.st.mu.Unlock()
	sh.mu.Unlock()
}

// preserveLocked records the state at the running snapshot's point of the
// key about to change, unless the snapshot has visited the shard already.
// key must be the key being changed; bucket i holds it (-1 when absent).
func (s *Store) preserveLocked(sh *shard, key string, i int) {
	sn := s.st.snap
	if sn == nil || sh.doneEpoch >= sn.epoch || sh.frozenEpoch == sn.epoch {
		return
	}
	if sh.presEpoch != sn.epoch {
		sh.pres = nil
		sh.presEpoch = sn.epoch
	}
	if i >= 0 {
		key = sh.t.slots[i].key() // a stable string: the item never changes
	} else {
		key = strings.Clone(key) // the caller's may alias a reused buffer
	}
	if _, ok := sh.pres[key]; ok {
		return
	}
	if sh.pres == nil {
		sh.pres = make(map[string]slotRef)
	}
	var r slotRef
	if i >= 0 {
		r = slotRef{s: sh.t.slots[i], deadline: sh.t.slots[i].deadline()}
	}
	sh.pres[key] = r
}

// deleteLocked removes bucket i and appends DEL to the stream.
func (s *Store) deleteLocked(sh *shard, i int) {
	key := sh.t.slots[i].key()
	s.preserveLocked(sh, key, i)
	sh.t.deleteAt(i)
	s.st.emitKeyLocked(s.cfg.DB, "DEL", key)
}

// putLocked stores item it for its key (bucket i, -1 when absent).
func (s *Store) putLocked(sh *shard, i int, it slot) {
	key := it.key()
	s.preserveLocked(sh, key, i)
	sh.sets++
	if i >= 0 {
		sh.t.replace(i, it)
		s.mem.touch(&sh.t, i) // an overwrite keeps the key's history, as Redis
	} else {
		sh.t.insertNew(it, hashKey(key), s.mem.freshWord())
	}
}

// expireIfNeeded deletes key if its deadline has passed, on a primary.
func (s *Store) expireIfNeeded(key string) {
	if !ownsExpiry(s.Role()) || s.expiryHeld() {
		return // checked again under the lock, by lookupLocked
	}
	sh := s.lockKey(key)
	s.lookupLocked(key) // deletes it when expired
	s.unlockWrite(sh)
}

// unsafeString views b as a string without copying; b must not change
// while the string is in use.
func unsafeString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}
