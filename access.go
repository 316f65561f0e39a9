package replikv

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// perKeyOverhead is what the store pays per key besides its key and value
// bytes, counted toward Config.MaxMemory: a 16-byte slot, a tag byte and a
// 4-byte access word per bucket, at a load factor between 3/8 and 3/4
// (about 37 bytes per key on average), and the rounding of the item's
// allocation to a Go size class (about 8 bytes on average for small items).
const perKeyOverhead = 48

// memState is the store's memory accounting, access clock and eviction
// state (Config.MaxMemory, Config.EvictionPolicy).
type memState struct {
	// used is the sum over shards of table.memory(), as of each shard's
	// last write (kept in step by syncMemLocked).
	used    atomic.Int64
	evicted atomic.Int64 // keys evicted (Info.EvictedKeys)

	// clock is the coarse access clock (accessClock packed: lru in the low
	// 32 bits, minutes above), refreshed by writes and the expiry loop so
	// that reads never read the time.
	clock atomic.Uint64
	// params packs what a read needs to update an access word: bit 0 is
	// LFU, bits 8-23 the log factor, bits 24-39 the decay minutes.
	params atomic.Uint64

	evictMu sync.Mutex  // one evictor at a time; guards pool
	pool    []candidate // best candidates seen, lowest score first
	// poolPolicy is the policy that scored the pool.
	poolPolicy EvictionPolicy
}

// setClock refreshes the access clock to unix time ms.
func (m *memState) setClock(ms int64) {
	c := clockAt(ms)
	m.clock.Store(uint64(c.lru) | uint64(c.min)<<32)
}

func (m *memState) now() accessClock {
	v := m.clock.Load()
	return accessClock{lru: uint32(v), min: uint16(v >> 32)}
}

// setParams records the access parameters of c.
func (m *memState) setParams(c *Config) {
	var v uint64
	if c.EvictionPolicy.IsLFU() {
		v = 1
	}
	v |= uint64(min(max(0, c.LFULogFactor), 65535))<<8 | uint64(min(max(0, c.LFUDecayTime), 65535))<<24
	m.params.Store(v)
}

func (m *memState) lfu() (bool, lfuParams) {
	v := m.params.Load()
	return v&1 != 0, lfuParams{logFactor: int(uint16(v >> 8)), decayMin: int(uint16(v >> 24))}
}

// touch records an access to bucket i of t. The caller holds the shard's
// read or write lock; concurrent readers race only on the word itself,
// which they read and write atomically, and most reads write nothing
// (the clock is coarse, the LFU counter grows rarely).
func (m *memState) touch(t *table, i int) {
	p := &t.meta[i]
	w := atomic.LoadUint32(p)
	lfu, lp := m.lfu()
	if nw := touched(w, m.now(), lfu, lp); nw != w {
		atomic.StoreUint32(p, nw)
	}
}

// freshWord is the access word of a key created now.
func (m *memState) freshWord() uint32 {
	lfu, _ := m.lfu()
	return fresh(m.now(), lfu)
}

// syncMemLocked brings the store's used memory in step with shard sh,
// which the caller holds locked and may have changed.
func (s *Store) syncMemLocked(sh *shard) {
	if m := sh.t.memory(); m != sh.memAcct {
		s.mem.used.Add(m - sh.memAcct)
		sh.memAcct = m
	}
}

// UsedMemory returns the memory the store accounts toward
// Config.MaxMemory (see there for what it counts).
func (s *Store) UsedMemory() int64 { return s.mem.used.Load() }

// ErrNotTracked is returned by AccessFrequency under a policy that keeps
// access times, and by IdleTime under an LFU policy (Redis OBJECT FREQ
// and OBJECT IDLETIME refuse the same way).
var ErrNotTracked = errors.New("replikv: not tracked under the current eviction policy")

// IdleTime returns how long ago key was last read or written (Redis
// OBJECT IDLETIME), to about 10 ms and never less than the access clock's
// step (the clock moves with writes and the expiry loop, not with reads).
// It does not count as an access. ErrNotFound when the key does not
// exist, ErrNotTracked under an LFU policy.
func (s *Store) IdleTime(key string) (time.Duration, error) {
	w, err := s.accessWord(key, false)
	if err != nil {
		return 0, err
	}
	return time.Duration(idleMs(w, s.mem.now())) * time.Millisecond, nil
}

// AccessFrequency returns key's logarithmic access counter (0..255, Redis
// OBJECT FREQ), decayed by LFUDecayTime. It does not count as an access.
// ErrNotFound when the key does not exist, ErrNotTracked unless the policy
// is allkeys-lfu or volatile-lfu.
func (s *Store) AccessFrequency(key string) (int, error) {
	w, err := s.accessWord(key, true)
	if err != nil {
		return 0, err
	}
	_, lp := s.mem.lfu()
	return int(lfuDecayed(w, s.mem.now(), lp)), nil
}

// accessWord reads key's access word, checking that the policy keeps the
// kind asked for (wantLFU).
func (s *Store) accessWord(key string, wantLFU bool) (uint32, error) {
	if err := s.readable(); err != nil {
		return 0, err
	}
	s.mem.setClock(s.nowMs())
	h := hashKey(key)
	sh := s.shardOf(h)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	return s.accessWordLocked(sh, sh.t.find(key, h), wantLFU)
}

// accessWordLocked is accessWord for bucket i (-1: absent) of a shard
// the caller holds locked.
func (s *Store) accessWordLocked(sh *shard, i int, wantLFU bool) (uint32, error) {
	if i < 0 || s.expired(&sh.t.slots[i], s.nowMs()) {
		return 0, ErrNotFound
	}
	if lfu, _ := s.mem.lfu(); lfu != wantLFU {
		return 0, ErrNotTracked
	}
	return atomic.LoadUint32(&sh.t.meta[i]), nil
}

// IdleTime is Store.IdleTime inside the transaction.
func (tx *Tx) IdleTime(key string) (time.Duration, error) {
	if err := tx.checkKey(key, false); err != nil {
		return 0, err
	}
	sh, i := tx.s.findLocked(key)
	w, err := tx.s.accessWordLocked(sh, i, false)
	if err != nil {
		return 0, err
	}
	return time.Duration(idleMs(w, tx.s.mem.now())) * time.Millisecond, nil
}

// AccessFrequency is Store.AccessFrequency inside the transaction.
func (tx *Tx) AccessFrequency(key string) (int, error) {
	if err := tx.checkKey(key, false); err != nil {
		return 0, err
	}
	sh, i := tx.s.findLocked(key)
	w, err := tx.s.accessWordLocked(sh, i, true)
	if err != nil {
		return 0, err
	}
	_, lp := tx.s.mem.lfu()
	return int(lfuDecayed(w, tx.s.mem.now(), lp)), nil
}
