package replikv

import "math/rand/v2"

// RandomKey returns a key chosen at random among those that have not
// expired (Redis RANDOMKEY); ErrNotFound when there is none.
func (s *Store) RandomKey() (string, error) {
	if err := s.readable(); err != nil {
		return "", err
	}
	return s.randomKey(nil, func(sh *shard) func() {
		sh.mu.RLock()
		return sh.mu.RUnlock
	})
}

// randomKey picks a shard at random among shards (nil: all), then a
// bucket at random, and takes the first live key from there, going on to
// the next shards when one holds none. lock locks a shard for reading.
func (s *Store) randomKey(shards []int, lock func(*shard) func()) (string, error) {
	if shards == nil {
		shards = make([]int, len(s.shards))
		for i := range shards {
			shards[i] = i
		}
	}
	if len(shards) == 0 { // AtomicKeys of no keys holds no shard
		return "", ErrNotFound
	}
	now := s.nowMs()
	start := rand.IntN(len(shards))
	for n := range shards {
		sh := &s.shards[shards[(start+n)%len(shards)]]
		unlock := lock(sh)
		key, ok := randomInTable(&sh.t, func(sl *slot) bool { return !s.expired(sl, now) })
		unlock()
		if ok {
			return key, nil
		}
	}
	return "", ErrNotFound
}

// randomInTable returns a live key of t, starting at a random bucket.
func randomInTable(t *table, live func(*slot) bool) (string, bool) {
	if t.n == 0 {
		return "", false
	}
	start := rand.IntN(len(t.slots))
	for n := range t.slots {
		i := (start + n) % len(t.slots)
		if t.tags[i] != 0 && live(&t.slots[i]) {
			return t.slots[i].key(), true
		}
	}
	return "", false
}

// Touch returns how many of keys exist (Redis TOUCH; a key named twice
// counts twice), and counts as an access of each for eviction (its idle
// time restarts, its LFU counter may grow, as a read's). Nothing is
// streamed.
func (s *Store) Touch(keys ...string) int {
	n := 0
	for _, k := range keys {
		if _, err := s.lookItem(k, true); err == nil {
			n++
		}
	}
	return n
}

// ObjectEncoding returns the encoding Redis 7.0 reports for key's value
// (OBJECT ENCODING): "int" for the canonical form of a 64-bit integer,
// "embstr" for other strings up to 44 bytes, "raw" for longer ones;
// ErrNotFound when the key does not exist. The store keeps no record of
// how a value was written, so a value Redis would report as "raw" because
// APPEND or SETRANGE built it is reported by its content.
func (s *Store) ObjectEncoding(key string) (string, error) {
	it, err := s.lookItem(key, false)
	if err != nil {
		return "", err
	}
	return encodingOf(it.value()), nil
}

// encodingOf is Redis's choice of encoding for a string written by SET.
func encodingOf(v []byte) string {
	if _, ok := parseInt(v); ok {
		return "int"
	}
	if len(v) <= 44 {
		return "embstr"
	}
	return "raw"
}
