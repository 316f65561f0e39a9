package replikv

import (
	"iter"
	"strings"
	"time"
)

// All returns an iterator over every key that has not expired, with a copy
// of its value (the caller owns it), shard by shard. Like Range, it is not
// a point-in-time view (use a snapshot for that), the loop body runs
// without locks held and may call the store, and it yields nothing where
// reads are refused.
func (s *Store) All() iter.Seq2[string, []byte] {
	return func(yield func(string, []byte) bool) {
		s.Range(func(key string, value []byte, _ time.Time) bool { return yield(key, value) })
	}
}

// Keys returns an iterator over the keys that start with prefix ("" for
// every key) and have not expired, shard by shard, with All's guarantees.
// It copies no value.
func (s *Store) Keys(prefix string) iter.Seq[string] {
	return func(yield func(string) bool) {
		if s.readable() != nil {
			return
		}
		var keys []string
		for i := range s.shards {
			sh := &s.shards[i]
			keys = keys[:0]
			now := s.nowMs()
			sh.mu.RLock()
			sh.t.each(func(sl *slot) bool {
				if k := sl.key(); strings.HasPrefix(k, prefix) && !s.expired(sl, now) {
					keys = append(keys, k) // the item's key: immutable
				}
				return true
			})
			sh.mu.RUnlock()
			for _, k := range keys {
				if !yield(k) {
					return
				}
			}
		}
	}
}
