package replikv

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"sync/atomic"
	"unsafe"
)

// evictPoolSize is how many of the best candidates seen are kept between
// samples (Redis keeps 16): each eviction takes the best of the pool, so
// a sample's runners-up are not forgotten.
const evictPoolSize = 16

// candidate is a key sampled for eviction: its item (to check it is still
// the same value when evicted), shard and score (higher goes first).
type candidate struct {
	key   string
	p     unsafe.Pointer
	shard int
	score uint64
}

// ReclaimMemory does what a primary does before a write (Redis's
// performEvictions): while the memory the store accounts is above
// Config.MaxMemory, it evicts keys by Config.EvictionPolicy, each one a
// DEL in the stream. It returns an error wrapping ErrOOM when memory stays
// above the limit (noeviction, or a volatile-* policy with no key with a
// deadline left). Writes that may grow the data call it themselves and
// fail with that error; a server calls it to refuse such commands before
// running them. On a replica it does nothing and returns nil: replicas
// never evict (Redis replica-ignore-maxmemory), they delete what their
// primary deletes (see Info.OverMaxMemory).
func (s *Store) ReclaimMemory() error {
	return s.makeRoom(true)
}

// makeRoom is ReclaimMemory; with grow false it evicts but never fails
// (the writes that cannot grow the data: DEL, EXPIRE …).
func (s *Store) makeRoom(grow bool) error {
	c := s.conf()
	if c.MaxMemory <= 0 {
		return nil
	}
	s.mem.setClock(s.nowMs())
	if s.mem.used.Load() <= c.MaxMemory || !ownsExpiry(s.Role()) {
		return nil
	}
	stuck := c.EvictionPolicy == NoEviction
	if !stuck {
		s.mem.evictMu.Lock()
		for s.mem.used.Load() > c.MaxMemory {
			if !s.evictOne(c) {
				stuck = true
				break
			}
		}
		s.mem.evictMu.Unlock()
	}
	// Only a store that could not evict refuses: memory that another
	// writer's write took back above the limit meanwhile is evicted
	// before the next write. A store that stopped being a primary while
	// evicting (Close, ReplicaOf) is not out of memory: the write's own
	// admission under the stream lock refuses it with ErrClosed or
	// ErrReadOnly (or lets a writable replica write, which never evicts).
	if stuck && grow && ownsExpiry(s.Role()) {
		return fmt.Errorf("%w: used memory %d > maxmemory %d (policy %s)", ErrOOM, s.mem.used.Load(), c.MaxMemory, c.EvictionPolicy)
	}
	return nil
}

// evictOne evicts one key chosen by c's policy and reports whether it
// did; false means no candidate (or the store stopped being a primary).
// Like Redis, every eviction samples afresh into the pool and takes the
// pool's best. mem.evictMu is held.
func (s *Store) evictOne(c *Config) bool {
	if s.mem.poolPolicy != c.EvictionPolicy { // scores of another policy
		s.mem.pool, s.mem.poolPolicy = s.mem.pool[:0], c.EvictionPolicy
	}
	for range 64 { // a candidate may be gone by the time it is locked: sample again
		if !s.sample(c) && len(s.mem.pool) == 0 {
			return false
		}
		if len(s.mem.pool) == 0 {
			continue
		}
		best := s.mem.pool[len(s.mem.pool)-1]
		s.mem.pool = s.mem.pool[:len(s.mem.pool)-1]
		if done, ok := s.evictCandidate(c, best); !ok {
			return false
		} else if done {
			return true
		}
	}
	return false
}

// evictCandidate evicts cand if its key still holds the same item and is
// still eligible. ok is false when this store may no longer evict.
func (s *Store) evictCandidate(c *Config, cand candidate) (done, ok bool) {
	sh := &s.shards[cand.shard]
	sh.mu.Lock()
	s.st.mu.Lock()
	defer s.unlockWrite(sh)
	if !ownsExpiry(s.st.loadRole()) {
		return false, false
	}
	i := sh.t.find(cand.key, hashKey(cand.key))
	if i < 0 {
		return false, true
	}
	sl := &sh.t.slots[i]
	if sl.p != cand.p || (c.EvictionPolicy.volatile() && !sl.hasTTL()) {
		return false, true
	}
	if !c.EvictionPolicy.random() {
		// Read since it was sampled? Then it may no longer be the best.
		_, lp := s.mem.lfu()
		score := evictScore(c.EvictionPolicy, atomic.LoadUint32(&sh.t.meta[i]), sl.deadline(), s.mem.now(), lp)
		if n := len(s.mem.pool); score < cand.score && n > 0 && score < s.mem.pool[n-1].score {
			cand.score = score
			s.mem.addCandidate(cand)
			return false, true
		}
	}
	s.deleteLocked(sh, i)
	s.mem.evicted.Add(1)
	return true, true
}

// sample adds MaxMemorySamples keys, from random shards, to the pool (for
// a random policy, replaces the pool with one random key). It reports
// false when there is no eligible key at all.
func (s *Store) sample(c *Config) bool {
	want := c.MaxMemorySamples
	if c.EvictionPolicy.random() {
		want = 1
		s.mem.pool = s.mem.pool[:0]
	}
	volatile := c.EvictionPolicy.volatile()
	n := len(s.shards)
	found := 0
	// Random shards first; if they are empty, walk all shards from a
	// random one, so that a sparse store still finds its keys.
	for try := 0; try < min(2*want+4, n) && found < want; try++ {
		found += s.sampleShard(c, rand.IntN(n), want-found, volatile)
	}
	if found > 0 {
		return true
	}
	start := rand.IntN(n)
	for k := 0; k < n && found < want; k++ {
		found += s.sampleShard(c, (start+k)%n, want-found, volatile)
	}
	return found > 0
}

// sampleShard adds up to want eligible keys of shard idx to the pool,
// from a random bucket on, and returns how many.
func (s *Store) sampleShard(c *Config, idx, want int, volatile bool) int {
	sh := &s.shards[idx]
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	t := &sh.t
	if t.n == 0 || (volatile && t.ttl == 0) {
		return 0
	}
	clock := s.mem.now()
	_, lp := s.mem.lfu()
	m := len(t.slots)
	j := rand.IntN(m)
	found := 0
	for k := 0; k < m && found < want; k, j = k+1, (j+1)&(m-1) {
		if t.tags[j] == 0 {
			continue
		}
		sl := &t.slots[j]
		if volatile && !sl.hasTTL() {
			continue
		}
		found++
		w := atomic.LoadUint32(&t.meta[j])
		s.mem.addCandidate(candidate{key: sl.key(), p: sl.p, shard: idx,
			score: evictScore(c.EvictionPolicy, w, sl.deadline(), clock, lp)})
	}
	return found
}

// addCandidate puts cand in the pool, kept sorted by score, dropping the
// lowest when full; a key already there gets its new score.
func (m *memState) addCandidate(cand candidate) {
	for i := range m.pool {
		if m.pool[i].key == cand.key {
			m.pool = append(m.pool[:i], m.pool[i+1:]...)
			break
		}
	}
	if len(m.pool) == evictPoolSize {
		if cand.score <= m.pool[0].score {
			return
		}
		m.pool = append(m.pool[:0], m.pool[1:]...)
	}
	i := sort.Search(len(m.pool), func(i int) bool { return m.pool[i].score > cand.score })
	m.pool = append(m.pool, candidate{})
	copy(m.pool[i+1:], m.pool[i:])
	m.pool[i] = cand
}
