package replikv

import (
	"encoding/binary"
	"unsafe"

	"github.com/cespare/xxhash/v2"
)

// An item is one key with its value, in a single allocation laid out as
//
//	key bytes | value bytes | [8-byte little-endian deadline, unix ms]
//
// The key and value bytes of an item never change once the item is in a
// table, so readers may hand out slices of it without copying. Only the
// deadline word is rewritten in place, under the shard's write lock.
//
// The table is open addressing with linear probing and backward-shift
// deletion: one 16-byte slot and one tag byte per bucket, no per-entry
// pointers besides the item itself. This keeps memory per key close to the
// size of the key and value (see BenchmarkMemoryPerKey).

const (
	vlenTTL   = 1 << 31 // the item's deadline word is meaningful
	vlenSpace = 1 << 30 // the item has room for a deadline word
	vlenMask  = vlenSpace - 1

	// maxValueLen bounds a value so that its length fits the slot encoding.
	maxValueLen = vlenMask
	// maxKeyLen bounds a key; Redis allows 512 MiB too.
	maxKeyLen = 512 << 20

	minTableSize = 8
)

// slot is one bucket of a table. p is nil when the bucket is empty.
type slot struct {
	p    unsafe.Pointer
	klen uint32
	vlen uint32 // value length | vlenTTL | vlenSpace
}

func (s *slot) key() string {
	return unsafe.String((*byte)(s.p), s.klen)
}

func (s *slot) value() []byte {
	n := s.vlen & vlenMask
	if n == 0 {
		return []byte{}
	}
	return unsafe.Slice((*byte)(unsafe.Add(s.p, s.klen)), n)
}

func (s *slot) hasTTL() bool { return s.vlen&vlenTTL != 0 }

func (s *slot) deadlineWord() []byte {
	off := uintptr(s.klen) + uintptr(s.vlen&vlenMask)
	return unsafe.Slice((*byte)(unsafe.Add(s.p, off)), 8)
}

// deadline returns the absolute expiry in unix ms, or 0 when the key has none.
func (s *slot) deadline() int64 {
	if !s.hasTTL() {
		return 0
	}
	return int64(binary.LittleEndian.Uint64(s.deadlineWord()))
}

// setDeadline rewrites the deadline in place; the item must have room.
func (s *slot) setDeadline(ms int64) {
	binary.LittleEndian.PutUint64(s.deadlineWord(), uint64(ms))
	s.vlen |= vlenTTL
}

func (s *slot) clearDeadline() { s.vlen &^= vlenTTL }

// newItem allocates an item holding key, value and, when deadline != 0,
// the deadline. It is the only allocation of a write.
func newItem(key string, value []byte, deadline int64) slot {
	s, v := allocItem(key, len(value), deadline)
	copy(v, value)
	return s
}

// allocItem allocates an item holding key, a zeroed value of n bytes and,
// when deadline != 0, the deadline; it returns the item and its value,
// for the caller to fill in place before the item goes into a table
// (after which it never changes): the writes that build a value from the
// old one (SETBIT, SETRANGE, BITFIELD) do not copy it twice.
func allocItem(key string, n int, deadline int64) (slot, []byte) {
	size := len(key) + n
	vlen := uint32(n)
	if deadline != 0 {
		size += 8
		vlen |= vlenTTL | vlenSpace
	}
	if size == 0 {
		return slot{p: unsafe.Pointer(&emptyItem), vlen: vlen}, nil
	}
	b := make([]byte, size)
	copy(b, key)
	s := slot{p: unsafe.Pointer(&b[0]), klen: uint32(len(key)), vlen: vlen}
	if deadline != 0 {
		s.setDeadline(deadline)
	}
	return s, b[len(key) : len(key)+n : len(key)+n]
}

// emptyItem backs items whose key and value are both empty.
var emptyItem byte

// withDeadlineSpace returns a copy of the item with room for a deadline.
func (s *slot) withDeadlineSpace() slot {
	return newItem(s.key(), s.value(), 1)
}

func hashKey(key string) uint64 { return xxhash.Sum64String(key) }

// tagOf derives the non-zero probe tag of a hash; bits independent of the
// shard (top bits) and the bucket (low bits).
func tagOf(h uint64) uint8 { return uint8(h>>40) | 1 }

// table is one shard's hash table. It is not safe for concurrent use.
type table struct {
	slots []slot
	tags  []uint8
	// meta holds each bucket's access word (evict_policy.go), moved with
	// its slot. Readers holding only the shard's read lock update it with
	// atomic stores; writers, holding the write lock, move it plainly.
	meta  []uint32
	n     int   // live entries
	ttl   int   // live entries with a deadline
	bytes int64 // key and value bytes of the live entries
}

// memory is what the table accounts toward Config.MaxMemory: the key and
// value bytes, the deadline words, and perKeyOverhead per key.
func (t *table) memory() int64 {
	return t.bytes + int64(t.ttl)*8 + int64(t.n)*perKeyOverhead
}

// dataLen is the key and value bytes of the item in s.
func (s *slot) dataLen() int64 { return int64(s.klen) + int64(s.vlen&vlenMask) }

func (t *table) mask() uint64 { return uint64(len(t.slots) - 1) }

// find returns the bucket holding key, or -1.
func (t *table) find(key string, h uint64) int {
	if t.n == 0 {
		return -1
	}
	tag := tagOf(h)
	m := t.mask()
	for i := h & m; ; i = (i + 1) & m {
		tg := t.tags[i]
		if tg == 0 {
			return -1
		}
		if tg == tag {
			s := &t.slots[i]
			if int(s.klen) == len(key) && s.key() == key {
				return int(i)
			}
		}
	}
}

// insertNew adds an item whose key is known to be absent, with access
// word w, and returns its bucket.
func (t *table) insertNew(it slot, h uint64, w uint32) int {
	if (t.n+1)*4 > len(t.slots)*3 {
		t.resize(max(minTableSize, len(t.slots)*2))
	}
	i := t.place(it, h, w)
	t.n++
	t.bytes += it.dataLen()
	if it.hasTTL() {
		t.ttl++
	}
	return i
}

func (t *table) place(it slot, h uint64, w uint32) int {
	m := t.mask()
	i := h & m
	for t.tags[i] != 0 {
		i = (i + 1) & m
	}
	t.tags[i] = tagOf(h)
	t.slots[i] = it
	t.meta[i] = w
	return int(i)
}

// replace swaps the item in bucket i for it (same key).
func (t *table) replace(i int, it slot) {
	if t.slots[i].hasTTL() {
		t.ttl--
	}
	if it.hasTTL() {
		t.ttl++
	}
	t.bytes += it.dataLen() - t.slots[i].dataLen()
	t.slots[i] = it
}

// deleteAt removes bucket i, shifting later members of its probe run back
// so that lookups never need tombstones.
func (t *table) deleteAt(i int) {
	if t.slots[i].hasTTL() {
		t.ttl--
	}
	t.n--
	t.bytes -= t.slots[i].dataLen()
	m := t.mask()
	hole := uint64(i)
	for j := (hole + 1) & m; t.tags[j] != 0; j = (j + 1) & m {
		home := hashKey(t.slots[j].key()) & m
		// The entry at j may move to the hole unless its home lies
		// cyclically in (hole, j].
		if (j > hole && (home <= hole || home > j)) || (j < hole && home <= hole && home > j) {
			t.tags[hole] = t.tags[j]
			t.slots[hole] = t.slots[j]
			t.meta[hole] = t.meta[j]
			hole = j
		}
	}
	t.tags[hole] = 0
	t.slots[hole] = slot{}
	t.meta[hole] = 0
	if len(t.slots) > minTableSize && t.n*16 < len(t.slots) {
		t.resize(max(minTableSize, len(t.slots)/4))
	}
}

// resize rehashes into a table of size buckets (a power of two).
func (t *table) resize(size int) {
	old, oldTags, oldMeta := t.slots, t.tags, t.meta
	t.slots = make([]slot, size)
	t.tags = make([]uint8, size)
	t.meta = make([]uint32, size)
	for i, tg := range oldTags {
		if tg != 0 {
			t.place(old[i], hashKey(old[i].key()), oldMeta[i])
		}
	}
}

// reserve makes room for n entries without further growth.
func (t *table) reserve(n int) {
	size := minTableSize
	for size*3 < n*4 {
		size *= 2
	}
	if size > len(t.slots) {
		t.resize(size)
	}
}

// each calls fn for every live bucket until fn returns false.
func (t *table) each(fn func(s *slot) bool) {
	for i, tg := range t.tags {
		if tg != 0 && !fn(&t.slots[i]) {
			return
		}
	}
}
