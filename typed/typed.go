// Package typed stores Go values of one type in a replikv.Store, encoded
// by a Codec, with a decode cache so that reading a value that has not
// changed does not decode it again.
//
// A Map[T] is a view of a Store: every key it reads or writes is a plain
// key of the store, replicated like any other, and the store's own
// methods (Get, Watch, Expire, …) work on it. Writes through the store
// behind the Map's back are seen by the Map's next Get.
//
// # The decode cache
//
// Get reads the value in place with Store.ViewID and remembers, for each
// key, the decoded T with the replikv.ItemID of the bytes it came from.
// Every write of a key's value gives a new ItemID, so a cached T is used
// only while the key holds exactly the bytes it was decoded from: a write
// by anyone (this Map, the store's API, a primary's stream) makes the next
// Get decode again. Nothing needs to be invalidated for correctness; Set
// and Delete drop the key's entry only to free its memory early.
//
// The cache holds at most Options.MaxCached entries (DefaultMaxCached when
// zero), evicted by the clock algorithm (a recently hit entry gets a
// second chance). An entry costs its key, its decoded T and about 80 bytes
// of bookkeeping, and its ItemID keeps the value's bytes in the store
// alive: an entry whose key was overwritten or deleted through the store,
// not through this Map, still holds the old bytes until it is evicted or
// the key is read again. Set MaxCached below zero for no cache.
//
// # Ownership of returned values
//
// A T returned by Get is shared: the cache keeps it and later Gets of the
// same stored value return the same T (for a pointer, slice or map, the
// same memory). Callers must treat returned values as read-only. A T with
// value semantics (numbers, strings, structs and arrays of them) is
// copied by the return itself; for a T that holds pointers, slices or
// maps, copy before modifying, or use a Map without a cache. Values
// passed to Set are encoded before Set returns and are not kept.
//
// All methods of Map are safe for concurrent use.
package typed

import (
	"fmt"
	"hash/maphash"
	"iter"
	"time"

	"github.com/replikv/replikv"
)

// DefaultMaxCached is the size of a Map's decode cache when
// Options.MaxCached is zero.
const DefaultMaxCached = 4096

// Options configure a Map. The zero value is valid.
type Options struct {
	// MaxCached bounds the decode cache, in entries (one per key): 0
	// means DefaultMaxCached, a negative value means no cache (every Get
	// decodes).
	MaxCached int
}

// Map stores values of type T in a replikv.Store, encoded with a Codec,
// and caches the decoded values (see the package documentation).
type Map[T any] struct {
	store  *replikv.Store
	codec  Codec[T]
	seed   maphash.Seed
	shards []cacheShard[T] // nil: no cache
}

// New returns a Map of the values in s encoded by codec.
func New[T any](s *replikv.Store, codec Codec[T], opt Options) *Map[T] {
	m := &Map[T]{store: s, codec: codec, seed: maphash.MakeSeed()}
	limit := opt.MaxCached
	if limit == 0 {
		limit = DefaultMaxCached
	}
	if limit > 0 {
		m.shards = newShards[T](limit)
	}
	return m
}

// Get returns the value of key, decoded, from the cache when the key
// still holds the bytes it was decoded from. Its errors are the store's
// (replikv.ErrNotFound, replikv.ErrSyncing) and the codec's, wrapped with
// the key; a value that fails to decode is not cached. The result is
// shared: do not modify what it references (see the package doc).
func (m *Map[T]) Get(key string) (T, error) {
	var out T
	err := m.store.ViewID(key, func(b []byte, id replikv.ItemID) error {
		var sh *cacheShard[T]
		if m.shards != nil {
			sh = &m.shards[m.shardIndex(key)]
			if v, ok := sh.get(key, id); ok {
				out = v
				return nil
			}
		}
		v, err := m.codec.Unmarshal(b)
		if err != nil {
			return fmt.Errorf("typed: decoding %q: %w", key, err)
		}
		if sh != nil {
			sh.put(key, id, v)
		}
		out = v
		return nil
	})
	return out, err
}

// Set stores v under key, without a deadline (Store.Set's errors, such as
// replikv.ErrReadOnly on a replica, or the codec's).
func (m *Map[T]) Set(key string, v T) error {
	b, err := m.encode(key, v)
	if err != nil {
		return err
	}
	m.drop(key)
	return m.store.Set(key, b)
}

// SetTTL stores v under key to expire after ttl (Store.SetTTL's errors,
// or the codec's).
func (m *Map[T]) SetTTL(key string, v T, ttl time.Duration) error {
	b, err := m.encode(key, v)
	if err != nil {
		return err
	}
	m.drop(key)
	return m.store.SetTTL(key, b, ttl)
}

// Delete removes keys and returns how many existed (Store.Delete).
func (m *Map[T]) Delete(keys ...string) (int, error) {
	for _, k := range keys {
		m.drop(k)
	}
	return m.store.Delete(keys...)
}

// All returns an iterator over every key of the store that has not
// expired, with its value decoded through the cache, with Store.Keys'
// guarantees (not a point-in-time view; nothing where reads are refused).
// Keys deleted during the iteration and values that do not decode with
// the Map's codec (keys of another type sharing the store) are skipped:
// Get tells why. Values are shared, as Get's.
func (m *Map[T]) All() iter.Seq2[string, T] {
	return func(yield func(string, T) bool) {
		for k := range m.store.Keys("") {
			v, err := m.Get(k)
			if err != nil {
				continue
			}
			if !yield(k, v) {
				return
			}
		}
	}
}

func (m *Map[T]) encode(key string, v T) ([]byte, error) {
	b, err := m.codec.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("typed: encoding %q: %w", key, err)
	}
	return b, nil
}

// drop forgets key's cache entry (its memory, early: correctness never
// depends on it).
func (m *Map[T]) drop(key string) {
	if m.shards != nil {
		m.shards[m.shardIndex(key)].drop(key)
	}
}

func (m *Map[T]) shardIndex(key string) uint64 {
	return maphash.String(m.seed, key) & uint64(len(m.shards)-1)
}
