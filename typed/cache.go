package typed

import (
	"sync"

	"github.com/replikv/replikv"
)

// maxShards bounds the number of cache shards (each has its own lock);
// minShardSize keeps small caches in fewer shards, so that the clock has
// room to give a hot key its second chance.
const (
	maxShards    = 16
	minShardSize = 64
)

// cacheShard is one locked part of a Map's decode cache: a fixed number
// of slots, replaced by the clock algorithm.
type cacheShard[T any] struct {
	mu    sync.Mutex
	index map[string]int // key → slot
	slots []cacheEntry[T]
	limit int
	hand  int // the clock hand: next slot considered for eviction
}

// cacheEntry is key's value decoded from the bytes identified by id.
type cacheEntry[T any] struct {
	key string
	id  replikv.ItemID
	v   T
	ref bool // hit since the hand last passed
}

// newShards splits a cache of limit entries into a power of two of shards
// (of minShardSize entries or more, unless there is one), holding limit
// entries at the most.
func newShards[T any](limit int) []cacheShard[T] {
	n := 1
	for n*2 <= min(limit/minShardSize, maxShards) {
		n *= 2
	}
	shards := make([]cacheShard[T], n)
	for i := range shards {
		shards[i] = cacheShard[T]{index: make(map[string]int), limit: limit / n}
	}
	return shards
}

// get returns key's cached value when it was decoded from the item id.
func (c *cacheShard[T]) get(key string, id replikv.ItemID) (T, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if i, ok := c.index[key]; ok && c.slots[i].id == id {
		c.slots[i].ref = true
		return c.slots[i].v, true
	}
	var zero T
	return zero, false
}

// put caches v, decoded from item id, for key, evicting an entry when the
// shard is full.
func (c *cacheShard[T]) put(key string, id replikv.ItemID, v T) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := cacheEntry[T]{key: key, id: id, v: v}
	if i, ok := c.index[key]; ok {
		c.slots[i] = e
		return
	}
	if len(c.slots) < c.limit {
		c.index[key] = len(c.slots)
		c.slots = append(c.slots, e)
		return
	}
	for c.slots[c.hand].ref {
		c.slots[c.hand].ref = false
		c.hand = (c.hand + 1) % len(c.slots)
	}
	i := c.hand
	delete(c.index, c.slots[i].key)
	c.slots[i] = e
	c.index[key] = i
	c.hand = (i + 1) % len(c.slots)
}

// drop forgets key: the last slot moves into its place.
func (c *cacheShard[T]) drop(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i, ok := c.index[key]
	if !ok {
		return
	}
	delete(c.index, key)
	last := len(c.slots) - 1
	if i != last {
		c.slots[i] = c.slots[last]
		c.index[c.slots[i].key] = i
	}
	c.slots[last] = cacheEntry[T]{} // release the value and the item
	c.slots = c.slots[:last]
	if c.hand >= len(c.slots) {
		c.hand = 0
	}
}

// len returns the number of entries.
func (c *cacheShard[T]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.slots)
}
