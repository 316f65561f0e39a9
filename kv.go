// Package replikv is an embeddable key-value store with Redis-style
// primary/replica replication.
//
// A Store holds a keyspace of binary-safe string keys and []byte values
// with optional absolute deadlines. Reads run at memory speed and never
// allocate. Every write on a primary appends one deterministic RESP command
// to the store's replication stream, which carries a replication ID and a
// byte offset exactly as Redis's does, keeps the newest bytes in a backlog
// ring, and feeds subscribers. A point-in-time snapshot in the Redis RDB
// format can be written while writers keep writing.
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

	_ [40]byte // keep hot shards on separate cache lines
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

	replica atomic.Bool // true while following a primary

	snapMu chan struct{} // one snapshot at a time

	expiredKeys atomic.Int64 // keys deleted by expiry (Info)
	applied     applyStats
	multi       multiState // a transaction being received from the primary

	dyn      atomic.Pointer[Config] // the configuration in effect (Reconfigure)
	reconfMu sync.Mutex

	prim primaryState // serving replicas (primary.go)
	rep  replicaState // following a primary (replica.go)

	closeOnce sync.Once
	done      chan struct{}
	wg        sync.WaitGroup
}

// New returns an empty primary Store configured by cfg.
func New(cfg Config) (*Store, error) {
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
	if cfg.ReplTimeout <= cfg.PingPeriod {
		cfg.Logger.Warn("ReplTimeout does not exceed PingPeriod: replicas of an idle primary will time out between PINGs",
			"repl_timeout", cfg.ReplTimeout, "ping_period", cfg.PingPeriod)
	}
	s.shift = 64
	for n := cfg.Shards; n > 1; n >>= 1 {
		s.shift--
	}
	if cfg.ActiveExpiryInterval > 0 {
		s.wg.Add(1)
		go s.expiryLoop()
	}
	return s, nil
}

// Close stops every goroutine the store started and closes its stream
// subscriptions. The data stays readable. Close is idempotent.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		s.stopLink()
		s.closeServing()
		s.st.mu.Lock()
		s.st.closeSubsLocked(ErrClosed)
		s.st.mu.Unlock()
	})
	s.wg.Wait()
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

// expired reports whether the item in sl has a deadline at or before now.
func (s *Store) expired(sl *slot, now int64) bool {
	return sl.hasTTL() && sl.deadline() <= now
}

// Get returns the value of key. The returned slice is shared with the
// store and must not be modified; it stays valid (the store never changes
// a value in place). A key whose deadline has passed is not found. Get
// does not allocate.
func (s *Store) Get(key string) ([]byte, error) {
	if err := s.readable(); err != nil {
		return nil, err
	}
	h := hashKey(key)
	sh := s.shardOf(h)
	sh.mu.RLock()
	i := sh.t.find(key, h)
	if i < 0 {
		sh.mu.RUnlock()
		return nil, ErrNotFound
	}
	sl := &sh.t.slots[i]
	if sl.hasTTL() && sl.deadline() <= s.nowMs() {
		sh.mu.RUnlock()
		s.expireIfNeeded(key)
		return nil, ErrNotFound
	}
	v := sl.value()
	sh.mu.RUnlock()
	return v, nil
}

// Exists reports whether key is present and not expired.
func (s *Store) Exists(key string) bool {
	_, err := s.Get(key)
	return err == nil
}

// TTL returns the time left before key expires. ok is false when the key
// does not exist; ttl is NoExpiry when it exists without a deadline.
func (s *Store) TTL(key string) (ttl time.Duration, ok bool) {
	dl, ok := s.ExpireTime(key)
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

// ExpireTime returns key's absolute deadline in unix milliseconds, 0 when
// it has none; ok is false when the key does not exist.
func (s *Store) ExpireTime(key string) (deadlineMs int64, ok bool) {
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
// but which have not been deleted yet (like Redis DBSIZE).
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
func (s *Store) Scan(cursor uint64, count int) (keys []string, next uint64) {
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
		return keys, 0
	}
	return keys, i
}

// Range calls fn for every key that has not expired, with its value and
// deadline (0 when none), shard by shard, until fn returns false. fn runs
// without locks held and may call the store. Like Scan, it is not a
// point-in-time view; use a snapshot for that.
func (s *Store) Range(fn func(key string, value []byte, deadlineMs int64) bool) {
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
			if !fn(refs[j].s.key(), refs[j].s.value(), refs[j].deadline) {
				return
			}
		}
	}
}

// readable returns ErrSyncing when reads are refused: on a replica whose
// link is not up, unless Config.ServeStaleData.
func (s *Store) readable() error {
	if st := LinkStatus(s.rep.state.Load()); st != LinkUp && st != LinkNone && !s.conf().ServeStaleData && s.replica.Load() {
		return ErrSyncing
	}
	return nil
}

// writable returns ErrReadOnly when API writes are refused.
func (s *Store) writable() error {
	if s.replica.Load() && !s.conf().ReplicaWritable {
		return ErrReadOnly
	}
	return nil
}

// lockKey locks key's shard and the stream for a mutation.
func (s *Store) lockKey(key string) *shard {
	sh := s.shardOf(hashKey(key))
	sh.mu.Lock()
	s.st.mu.Lock()
	return sh
}

// lookupLocked returns the shard and bucket of key (-1 when absent), with
// the shard and the stream locked. A key whose deadline has passed is
// deleted first (with a DEL in the stream) when this store owns expiry,
// so the caller sees it as absent.
func (s *Store) lookupLocked(key string) (*shard, int) {
	sh, i := s.findLocked(key)
	if i >= 0 && !s.replica.Load() && s.expired(&sh.t.slots[i], s.nowMs()) {
		s.deleteLocked(sh, i)
		s.expiredKeys.Add(1)
		i = -1
	}
	return sh, i
}

func (s *Store) unlockWrite(sh *shard) {
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
	if i >= 0 {
		sh.t.replace(i, it)
	} else {
		sh.t.insertNew(it, hashKey(key))
	}
}

// expireIfNeeded deletes key if its deadline has passed, on a primary.
func (s *Store) expireIfNeeded(key string) {
	if s.replica.Load() {
		return
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
