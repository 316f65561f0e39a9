package backlog

import (
	"cmp"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Mapped memory (see Buffer.SetMapped): block-sized slots carved from
// anonymous memory mappings, outside the Go heap, kept in one pool for the
// whole process.
//
// A mapping is never unmapped: a slot handed back to the pool has its
// pages returned to the operating system (madvise MADV_DONTNEED), so the
// process's resident memory drops at once, while its addresses stay
// mapped; except for the last few MiB handed back (maxDirty), kept
// resident for the next blocks (a stream whose readers lag and catch up
// again would otherwise pay a system call and page faults for every
// block). The pages of the slots past that reserve are returned in
// batches of maxDirty/2, adjacent slots in one system call.
// A stale read of a slot that was handed back therefore never faults: it
// sees zeros, its old bytes, or the bytes of the slot's next use.

// MaxMapped bounds the address space the pool maps, over the life of the
// process, for every Buffer together: 1 GiB (64 Ki slots of BlockSize).
// Past it, blocks come from the Go heap as without SetMapped. Only the
// slots in use, and up to 8 MiB of slots handed back (kept for the next
// blocks), are resident; the rest of the bound is address space.
const MaxMapped = 1 << 30

// mapChunk is the size of one mapping: 64 slots.
const mapChunk = 1 << 20

// maxDirty bounds the bytes of the slots handed back whose pages the pool
// keeps resident, for the whole process.
const maxDirty = 8 << 20

var pool struct {
	mu     sync.Mutex
	dirty  [][]byte // slots handed back with their pages resident (at most maxDirty bytes)
	free   [][]byte // slots whose pages were returned (or never touched)
	mapped int64    // bytes mapped so far (never unmapped)
	failed bool     // a mapping failed: use the heap from then on

	inUse    atomic.Int64 // slots handed out and not yet returned
	returned atomic.Int64 // slots returned so far
}

// getSlot returns a BlockSize slot of mapped memory, or nil when there is
// none to be had (unsupported platform, MaxMapped reached, mmap failed).
func getSlot() []byte {
	if !mapSupported {
		return nil
	}
	pool.mu.Lock()
	defer pool.mu.Unlock()
	if n := len(pool.dirty); n > 0 {
		p := pool.dirty[n-1]
		pool.dirty[n-1] = nil
		pool.dirty = pool.dirty[:n-1]
		pool.inUse.Add(1)
		return p
	}
	if len(pool.free) == 0 {
		if pool.failed || pool.mapped+mapChunk > MaxMapped {
			return nil
		}
		c, err := mapRegion(mapChunk)
		if err != nil {
			pool.failed = true
			return nil
		}
		pool.mapped += mapChunk
		for i := 0; i+BlockSize <= len(c); i += BlockSize {
			pool.free = append(pool.free, c[i:i+BlockSize:i+BlockSize])
		}
	}
	p := pool.free[len(pool.free)-1]
	pool.free[len(pool.free)-1] = nil
	pool.free = pool.free[:len(pool.free)-1]
	pool.inUse.Add(1)
	return p
}

// putSlot returns a slot to the pool, and its pages to the operating
// system unless the pool keeps them for the next slot it hands out (up to
// maxDirty). Nothing may read or write p afterwards (a stale read sees
// zeros, old bytes or the slot's next use, and does not fault).
func putSlot(p []byte) {
	pool.inUse.Add(-1)
	pool.returned.Add(1)
	pool.mu.Lock()
	pool.dirty = append(pool.dirty, p)
	if len(pool.dirty) <= maxDirty/BlockSize {
		pool.mu.Unlock()
		return
	}
	// Past the reserve: the oldest half of it goes back to the system.
	k := len(pool.dirty) - maxDirty/BlockSize/2
	batch := slices.Clone(pool.dirty[:k])
	n := copy(pool.dirty, pool.dirty[k:])
	clear(pool.dirty[n:])
	pool.dirty = pool.dirty[:n]
	pool.mu.Unlock()
	releaseSlots(batch)
	pool.mu.Lock()
	pool.free = append(pool.free, batch...)
	pool.mu.Unlock()
}

// releaseSlots returns the pages of slots to the system, with one call
// for each run of adjacent slots (the slots of a mapping are handed out
// in order, so a stream's blocks are mostly adjacent).
func releaseSlots(slots [][]byte) {
	addr := func(p []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(p))) }
	slices.SortFunc(slots, func(a, b []byte) int { return cmp.Compare(addr(a), addr(b)) })
	start := 0
	for i := 1; i <= len(slots); i++ {
		if i < len(slots) && addr(slots[i]) == addr(slots[i-1])+BlockSize {
			continue // adjacent: mapped as well, so one range
		}
		releasePages(unsafe.Slice(unsafe.SliceData(slots[start]), (i-start)*BlockSize))
		start = i
	}
}

// MappedInUse returns the bytes of mapped memory that the blocks of every
// Buffer in the process hold (see Buffer.SetMapped): the stream bytes that
// live outside the Go heap, which runtime.MemStats does not count. A block
// let go while a reader might still hold it is counted until the garbage
// collector has found it unreachable and run its cleanup.
func MappedInUse() int64 { return pool.inUse.Load() * BlockSize }
