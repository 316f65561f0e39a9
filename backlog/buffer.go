package backlog

import (
	"io"
	"math"
	"runtime"
	"sync/atomic"
)

// BlockSize is the size of the blocks a Buffer allocates (a larger append
// gets a block of its own size).
const BlockSize = 16 << 10

// Buffer is the one shared copy of a replication stream: bytes are
// appended once, into a chain of blocks, and read in place by any number
// of Cursors. The backlog is the window of the newest Size bytes; a block
// stays alive while the window or any Cursor still needs it (the garbage
// collector frees it after both let go), so readers lagging behind share
// the same bytes instead of holding copies of their own.
//
// Append, Reset, SetSize and CursorAt are serialised by the caller (the
// lock that orders the stream). A Cursor is read by one goroutine, with no
// lock: blocks are append-only, and a byte is published to readers only
// after it is written.
type Buffer struct {
	size   int
	head   *block // oldest block of the window
	tail   *block // block taking the next byte
	end    int64
	notify atomic.Pointer[chan struct{}]
	wanted atomic.Bool // a reader waits on notify

	// Blocks that left the window wait in free, oldest first, to be used
	// again once no reader can still touch them (see SetLowest): the
	// stream's memory is reused while it is warm, instead of asking the
	// allocator (and the garbage collector) for it at the stream's rate.
	// Past maxFree, the oldest that no reader can touch are released
	// (releaseFree); those a lagging reader still holds stay listed, so
	// that they are released as soon as it lets go, collector or not.
	free   []*block
	linked int // free's last linked blocks may still link to their next
	lowest func() int64
	mapped bool // new blocks take mapped memory (SetMapped)
	// excessEnd mirrors free for readers without the caller's lock (see
	// ExcessEnd): the end offset of free[0] while free holds more than
	// maxFree blocks, math.MaxInt64 otherwise.
	excessEnd atomic.Int64
}

// maxFree bounds the blocks kept for reuse.
const maxFree = 64

// maxRelease bounds the free blocks released by one Append (or SetSize):
// a reader dropped far behind leaves a long list, given back over the
// next appends rather than in one long stop of the writers.
const maxRelease = 32

// block is a piece of the stream: data[:n] holds the bytes from offset
// start on; n only grows, and next is set once data is full.
//
// A mapped block's data is a slot of mapped memory (mapped.go), which the
// garbage collector does not see: slices of it do not keep the block
// alive. The slot goes back to the pool either when the Buffer releases
// the block under the SetLowest rule, or, through cleanup, once the block
// is unreachable; readers keep the block reachable (a Cursor at or before
// the bytes they use) for as long as they use its bytes.
type block struct {
	start   int64
	data    []byte
	n       atomic.Int64
	next    atomic.Pointer[block]
	mapped  bool
	cleanup runtime.Cleanup // returns a mapped block's slot once unreachable
}

// NewBuffer returns an empty Buffer whose backlog window holds size bytes,
// starting at offset 0. It panics if size <= 0.
func NewBuffer(size int) *Buffer {
	if size <= 0 {
		panic("backlog: NewBuffer with size <= 0")
	}
	b := &Buffer{size: size}
	b.excessEnd.Store(math.MaxInt64)
	ch := make(chan struct{})
	b.notify.Store(&ch)
	b.Reset(0)
	return b
}

// newBlock returns a block for the bytes from start on, of at least size
// bytes: of mapped memory when the Buffer takes it and there is a slot,
// of the Go heap otherwise.
func (b *Buffer) newBlock(start int64, size int) *block {
	if b.mapped && size <= BlockSize {
		if p := getSlot(); p != nil {
			blk := &block{start: start, data: p, mapped: true}
			blk.cleanup = runtime.AddCleanup(blk, putSlot, p)
			return blk
		}
	}
	return &block{start: start, data: make([]byte, max(BlockSize, size))}
}

// release hands a mapped block's slot back to the pool at once. The caller
// guarantees what SetLowest does for reuse: no reader can still touch the
// block.
func (blk *block) release() {
	if !blk.mapped {
		return
	}
	blk.cleanup.Stop()
	putSlot(blk.data)
	runtime.KeepAlive(blk) // reachable across Stop, as it requires
}

// SetMapped makes the blocks the Buffer allocates from then on (of
// BlockSize; larger appends get a block of the Go heap) take their bytes
// from anonymous memory mappings outside the Go heap, on 64-bit Linux; on
// other systems, or once MaxMapped is mapped, blocks come from the Go heap
// as before. Mapped bytes do not count toward the garbage collector's heap
// goal, so a large stream held for a lagging reader does not make the
// heap grow to twice its size, and a block's pages are returned to the
// operating system as soon as it is released (but for a few MiB the pool
// keeps resident for the next blocks, see MaxMapped).
//
// The price is in Cursor.Next's guarantee: a slice of a mapped block does
// not keep the block alive. Its bytes stay valid and unchanged only while
// the caller also keeps reachable a Cursor whose offset is at or before
// the slice's first byte, and not before lowest (a copy of the Cursor made
// before the Next that returned the slice will do; ReadAt does so
// itself), and, with SetLowest, while lowest has not passed the slice.
// Past that the block's memory may be reused for other bytes: reading a
// slice kept too long never faults, but sees zeros or unrelated bytes.
//
// Mapped memory comes from one pool for the whole process, bounded by
// MaxMapped; a block's slot goes back to it (and its pages to the
// operating system) when the Buffer lets go of a block no reader can
// touch any more (see SetLowest: those past the free blocks kept for
// reuse, a few at each Append), or else when the garbage collector finds
// the block unreachable (the blocks before a Reset, and every block of a
// Buffer without SetLowest).
func (b *Buffer) SetMapped(on bool) { b.mapped = on }

// SetLowest gives the Buffer a function returning the lowest offset any
// reader may still touch: no Cursor is before it, and no slice a Cursor
// returned before it is still in use. Blocks wholly before it that left
// the window are reused for new bytes (or, with SetMapped, given back to
// the pool of mapped memory when there are more than it keeps for
// reuse). Without it (the default) blocks are never reused, which is
// always safe. lowest is called with the caller's lock held, from Append.
func (b *Buffer) SetLowest(lowest func() int64) { b.lowest = lowest }

// allocBlock returns a block for the bytes from start on, of at least
// size bytes: a reused one when it can.
func (b *Buffer) allocBlock(start int64, size int) *block {
	if size <= BlockSize && len(b.free) > 0 && b.lowest != nil {
		blk := b.free[0]
		if blk.start+int64(len(blk.data)) < b.lowest() {
			b.free[0] = nil
			b.free = b.free[1:]
			b.noteFree()
			blk.start = start
			blk.n.Store(0)
			blk.next.Store(nil)
			return blk
		}
	}
	return b.newBlock(start, size)
}

// Size returns the backlog window's size.
func (b *Buffer) Size() int { return b.size }

// SetSize changes the backlog window's size; a smaller window lets go of
// its oldest bytes at once, a larger one fills as bytes are appended.
func (b *Buffer) SetSize(size int) {
	if size <= 0 {
		panic("backlog: SetSize with size <= 0")
	}
	b.size = size
	b.trim()
}

// End returns the offset of the next byte to be appended.
func (b *Buffer) End() int64 { return b.end }

// Range returns the window [first, end): a Cursor can start at any offset
// in it, end included.
func (b *Buffer) Range() (first, end int64) {
	end = b.end
	return max(b.head.start, end-int64(b.size)), end
}

// Len returns the number of bytes in the window.
func (b *Buffer) Len() int {
	first, end := b.Range()
	return int(end - first)
}

// Reset empties the buffer: its next byte is at offset. Cursors made
// before see nothing more. The blocks of the bytes before are never
// reused: they are the garbage collector's, which frees them (and hands
// a mapped block's slot back) once no Cursor holds them.
func (b *Buffer) Reset(offset int64) {
	blk := b.newBlock(offset, BlockSize)
	b.head, b.tail = blk, blk
	clear(b.free) // old readers may hold them: let the collector decide
	b.free = b.free[:0]
	b.noteFree()
	b.linked = 0
	b.end = offset
	b.wake()
}

// Append adds p at the end of the stream.
func (b *Buffer) Append(p []byte) {
	if len(p) == 0 {
		return
	}
	total := int64(len(p))
	for len(p) > 0 {
		t := b.tail
		w := int(t.n.Load())
		if w == len(t.data) {
			nb := b.allocBlock(t.start+int64(w), len(p))
			t.next.Store(nb)
			b.tail = nb
			continue
		}
		k := copy(t.data[w:], p)
		t.n.Store(int64(w + k)) // publishes the bytes to readers
		p = p[k:]
	}
	b.end += total
	b.trim()
	b.wake()
}

// trim lets go of the blocks wholly before the window.
func (b *Buffer) trim() {
	first := b.end - int64(b.size)
	for b.head != b.tail {
		next := b.head.next.Load()
		if next.start > first {
			break
		}
		if old := b.head; len(old.data) == BlockSize && b.lowest != nil {
			b.free = append(b.free, old)
			b.linked++
		}
		b.head = next
	}
	b.releaseFree()
	b.unlinkFree()
}

// releaseFree lets go of the oldest free blocks past maxFree that no
// reader can still touch (at most maxRelease of them): a mapped block's
// slot goes back to the pool, and its pages to the system, at once; a
// block of the heap is left to the collector.
func (b *Buffer) releaseFree() { b.release(maxRelease) }

// Release lets go of up to most free blocks past the ones kept for reuse
// that no reader can still touch, and reports whether more such blocks
// remain. A caller whose reader far behind just let go (a replica dropped
// for lagging) calls it until it reports false, so that the memory that
// reader held goes back without waiting for later appends (which release
// at most a few blocks each); in steps, since giving back a block's pages
// costs a system call, and the caller's lock is held meanwhile. It is
// serialised like Append.
func (b *Buffer) Release(most int) (more bool) {
	b.release(most)
	return len(b.free) > maxFree && b.lowest != nil &&
		b.free[0].start+int64(len(b.free[0].data)) < b.lowest()
}

func (b *Buffer) release(most int) {
	defer b.noteFree()
	if len(b.free) <= maxFree || b.lowest == nil {
		return
	}
	low := b.lowest()
	for n := 0; n < most && len(b.free) > maxFree; n++ {
		old := b.free[0]
		if old.start+int64(len(old.data)) >= low {
			return // a reader still needs it, and the rest after it
		}
		b.free[0] = nil
		b.free = b.free[1:]
		old.release()
	}
}

// ResetReleasing is Reset, but the blocks of the bytes before that end
// before low are released at once (a mapped block's slot goes back to the
// pool) rather than left to the collector, which does not count mapped
// memory and may not run for a while. The caller guarantees, as
// SetLowest's function does for reuse, that no reader of the bytes before
// the Reset can still touch a byte before low.
func (b *Buffer) ResetReleasing(offset, low int64) {
	b.releaseBefore(low)
	b.Reset(offset)
}

// releaseBefore releases the free blocks and the window's blocks that end
// before low, for ResetReleasing (the tail block, which ends at or after
// the last byte, never does).
func (b *Buffer) releaseBefore(low int64) {
	low = min(low, b.end)
	for _, blk := range b.free { // oldest first
		if blk.start+int64(len(blk.data)) >= low {
			break
		}
		blk.release()
	}
	for blk := b.head; blk != nil && blk.start+int64(len(blk.data)) < low; blk = blk.next.Load() {
		blk.release()
	}
}

// noteFree publishes the state of free for ExcessEnd.
func (b *Buffer) noteFree() {
	end := int64(math.MaxInt64)
	if len(b.free) > maxFree && b.lowest != nil {
		end = b.free[0].start + int64(len(b.free[0].data))
	}
	b.excessEnd.Store(end)
}

// ExcessEnd returns the end offset of the oldest free block past the ones
// kept for reuse, which Release would let go of once the lowest offset
// any reader may touch passes it; math.MaxInt64 when there is none. It is
// safe to call from any goroutine (it may be stale): a reader whose
// lowest offset just passed it (the one that held those blocks, catching
// up) tells the owner of the lock to call Release, so that they go back
// without waiting for later appends.
func (b *Buffer) ExcessEnd() int64 { return b.excessEnd.Load() }

// unlinkFree cuts the link to the next block of every free block no
// reader can still touch. A free block is reused only for appends that
// fit a BlockSize block; until then its next link would keep alive every
// block appended after it (a stream of large appends never reuses one,
// and would be held whole).
func (b *Buffer) unlinkFree() {
	b.linked = min(b.linked, len(b.free))
	if b.linked == 0 {
		return
	}
	low := b.lowest()
	for _, blk := range b.free[len(b.free)-b.linked:] {
		if blk.start+int64(len(blk.data)) >= low {
			return // ordered by offset: the rest are later still
		}
		blk.next.Store(nil)
		b.linked--
	}
}

// wake closes the channel readers wait on, if any does.
func (b *Buffer) wake() {
	if b.wanted.Load() && b.wanted.Swap(false) {
		ch := make(chan struct{})
		close(*b.notify.Swap(&ch))
	}
}

// Changed returns a channel closed by the next Append or Reset. A reader
// calls it, then looks at its Cursor, and waits on the channel only if
// there was nothing to read: no append can slip between. It is safe to
// call from any goroutine.
func (b *Buffer) Changed() <-chan struct{} {
	ch := *b.notify.Load()
	b.wanted.Store(true)
	return ch
}

// CursorAt returns a Cursor reading from offset off, which must lie in
// Range() (a *RangeError otherwise).
func (b *Buffer) CursorAt(off int64) (Cursor, error) {
	first, end := b.Range()
	if off < first || off > end {
		return Cursor{}, &RangeError{Off: off, First: first, End: end}
	}
	blk := b.head
	for blk != b.tail && off >= blk.start+int64(len(blk.data)) {
		blk = blk.next.Load()
	}
	return Cursor{blk: blk, off: off}, nil
}

// A Cursor reads a Buffer's stream from an offset on, without copying. Its
// zero value reads nothing. It keeps alive the blocks from its position
// on, so a Cursor that is no longer read must be dropped.
type Cursor struct {
	blk *block
	off int64
}

// Offset returns the offset of the next byte the Cursor reads.
func (c *Cursor) Offset() int64 { return c.off }

// Next appends to dst the bytes available from the Cursor's offset, as
// slices of the Buffer's blocks (at most limit bytes in all; limit <= 0
// means no bound), moves the Cursor past them and returns dst. The slices
// must not be modified. They stay valid and unchanged for as long as they
// are referenced, unless the Buffer reuses their blocks: with SetLowest,
// not before the lowest offset passes them; with SetMapped, once no Cursor
// at or before them is reachable either (keep a copy of the Cursor made
// before Next for as long as the slices are used).
func (c *Cursor) Next(dst [][]byte, limit int) [][]byte {
	for c.blk != nil {
		n := c.blk.n.Load()
		i := c.off - c.blk.start
		if i < n {
			p := c.blk.data[i:n]
			if limit > 0 && len(p) > limit {
				p = p[:limit]
			}
			dst = append(dst, p)
			c.off += int64(len(p))
			if limit > 0 {
				if limit -= len(p); limit == 0 {
					return dst
				}
			}
			continue
		}
		if n < int64(len(c.blk.data)) {
			return dst // the block is still filling
		}
		next := c.blk.next.Load()
		if next == nil {
			return dst
		}
		c.blk = next
	}
	return dst
}

// ReadAt copies the stream's bytes from offset off into p, with the
// semantics of Ring.ReadAt: n = min(len(p), End()-off), io.EOF when
// n < len(p), a *RangeError when off is not in Range().
func (b *Buffer) ReadAt(p []byte, off int64) (int, error) {
	c, err := b.CursorAt(off)
	if err != nil {
		return 0, err
	}
	start := c // holds the blocks read from while they are copied (SetMapped)
	n := 0
	for _, part := range c.Next(nil, len(p)) {
		n += copy(p[n:], part)
	}
	runtime.KeepAlive(start.blk)
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}
