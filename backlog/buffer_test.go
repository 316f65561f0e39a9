package backlog

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// readAll drains c into one slice.
func readAll(c *Cursor) []byte {
	var out []byte
	for _, p := range c.Next(nil, 0) {
		out = append(out, p...)
	}
	return out
}

func TestBufferWindowAndCursors(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, size := range []int{1, 100, BlockSize - 1, BlockSize, 3*BlockSize + 7} {
		b := NewBuffer(size)
		var all []byte
		for range 300 {
			n := rng.IntN(3 * BlockSize / 2)
			if rng.IntN(10) == 0 {
				n = rng.IntN(4)
			}
			p := make([]byte, n)
			for i := range p {
				p[i] = byte(rng.Uint32())
			}
			b.Append(p)
			all = append(all, p...)
			first, end := b.Range()
			if end != int64(len(all)) || first != max(0, end-int64(size)) {
				t.Fatalf("size %d: Range = [%d, %d), appended %d", size, first, end, len(all))
			}
			// A cursor at a random covered offset reads exactly the stream from there.
			off := first + rng.Int64N(end-first+1)
			c, err := b.CursorAt(off)
			if err != nil {
				t.Fatal(err)
			}
			if got := readAll(&c); !bytes.Equal(got, all[off:]) {
				t.Fatalf("size %d: cursor at %d read %d bytes, want %d", size, off, len(got), len(all)-int(off))
			}
			if c.Offset() != end {
				t.Fatalf("cursor offset %d after reading, want %d", c.Offset(), end)
			}
			// Held blocks stay within one block (plus one large append) of the window.
			held := b.tail.start + int64(len(b.tail.data)) - b.head.start
			if held > int64(size)+2*BlockSize+3*BlockSize/2 {
				t.Fatalf("size %d: %d bytes held for a window of %d", size, held, size)
			}
		}
		first, end := b.Range()
		for _, off := range []int64{first - 1, end + 1} {
			if _, err := b.CursorAt(off); !errors.Is(err, ErrNotCovered) && !(off < 0) {
				t.Fatalf("CursorAt(%d) outside [%d, %d]: %v", off, first, end, err)
			}
		}
	}
}

func TestBufferCursorLimitAndResume(t *testing.T) {
	b := NewBuffer(1 << 20)
	want := bytes.Repeat([]byte("0123456789"), 5000)
	b.Append(want)
	c, _ := b.CursorAt(0)
	var got []byte
	for range 1000 {
		parts := c.Next(nil, 777)
		n := 0
		for _, p := range parts {
			got = append(got, p...)
			n += len(p)
		}
		if n > 777 {
			t.Fatalf("Next with limit 777 gave %d bytes", n)
		}
		if n == 0 {
			break
		}
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes, want %d", len(got), len(want))
	}
	// A cursor at the end follows later appends, across a full block.
	b.Append([]byte("tail"))
	if got := readAll(&c); string(got) != "tail" {
		t.Fatalf("after append: %q", got)
	}
}

func TestBufferResetAndShrink(t *testing.T) {
	b := NewBuffer(100)
	b.Append(bytes.Repeat([]byte("x"), 250))
	old, _ := b.CursorAt(200)
	b.Reset(1000)
	if first, end := b.Range(); first != 1000 || end != 1000 {
		t.Fatalf("after Reset: [%d, %d)", first, end)
	}
	b.Append([]byte("new"))
	if got := readAll(&old); string(got) != "" && !bytes.Equal(got, bytes.Repeat([]byte("x"), 50)) {
		t.Fatalf("an old cursor read %q from the new history", got)
	}
	c, err := b.CursorAt(1000)
	if err != nil || string(readAll(&c)) != "new" {
		t.Fatalf("cursor at the reset offset: %v", err)
	}
	b.Append(bytes.Repeat([]byte("y"), 97))
	b.SetSize(10)
	if first, end := b.Range(); first != end-10 {
		t.Fatalf("after SetSize(10): [%d, %d)", first, end)
	}
}

// TestBufferConcurrentReaders has readers follow a writer with Changed,
// under -race: every reader sees the exact stream.
func TestBufferConcurrentReaders(t *testing.T) {
	b := NewBuffer(4 << 10)
	var mu sync.Mutex // the writer's lock, as the stream's
	const total = 2 << 20
	var want []byte
	rng := rand.New(rand.NewPCG(5, 6))
	for len(want) < total {
		p := make([]byte, 1+rng.IntN(3000))
		for i := range p {
			p[i] = byte(rng.Uint32())
		}
		want = append(want, p...)
	}
	var wg sync.WaitGroup
	got := make([][]byte, 4)
	for r := range got {
		mu.Lock()
		c, _ := b.CursorAt(0)
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			deadline := time.After(time.Minute)
			for len(got[r]) < len(want) { // want is total bytes or a little more
				ch := b.Changed()
				parts := c.Next(nil, 0)
				if len(parts) == 0 {
					select {
					case <-ch:
					case <-deadline:
						return
					}
				}
				for _, p := range parts {
					got[r] = append(got[r], p...)
				}
			}
		}()
	}
	for p := want; len(p) > 0; {
		n := min(len(p), 1+rng.IntN(5000))
		mu.Lock()
		b.Append(p[:n])
		mu.Unlock()
		p = p[n:]
	}
	wg.Wait()
	for r, g := range got {
		if !bytes.Equal(g, want) {
			t.Fatalf("reader %d read %d bytes, not the stream of %d", r, len(g), len(want))
		}
	}
}

func BenchmarkBufferAppend(b *testing.B) {
	buf := NewBuffer(1 << 20)
	p := make([]byte, 100)
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		buf.Append(p)
	}
}

// TestBufferReusesBlocksBehindReaders: blocks that left the window are
// used again only once the lowest reader is past them, and a reader behind
// keeps reading the right bytes.
func TestBufferReusesBlocksBehindReaders(t *testing.T) {
	b := NewBuffer(BlockSize)
	var lowest int64
	b.SetLowest(func() int64 { return lowest })
	slow, _ := b.CursorAt(0)
	var all []byte
	chunk := func(i int) []byte { return bytes.Repeat([]byte{byte(i)}, 1000) }
	seen := map[*block]bool{}
	for i := range 200 {
		p := chunk(i)
		b.Append(p)
		all = append(all, p...)
		seen[b.tail] = true
	}
	// The slow reader pinned everything: no block was used twice.
	if len(seen) < 200*1000/BlockSize {
		t.Fatalf("%d distinct blocks for %d bytes while a reader was behind", len(seen), len(all))
	}
	if got := readAll(&slow); !bytes.Equal(got, all) {
		t.Fatal("the slow reader read other bytes")
	}
	lowest = b.End()
	reused := 0
	for i := range 200 {
		all = append(all, chunk(i)...)
		b.Append(chunk(i))
		if seen[b.tail] {
			reused++
		}
		seen[b.tail] = true
		lowest = b.End()
	}
	if reused == 0 {
		t.Fatal("no block was reused once every reader was past them")
	}
	c, _ := b.CursorAt(b.End() - BlockSize/2)
	if got := readAll(&c); !bytes.Equal(got, all[len(all)-BlockSize/2:]) {
		t.Fatal("reused blocks hold the wrong bytes")
	}
}

// TestBufferFreeBlocksHoldNoStream: a free block waiting to be reused
// must not keep alive the blocks appended after it. A stream of appends
// larger than a block never reuses one, so a free block's link to its
// next would have held the whole stream (issue 13's buffer made an idle
// server hold every SET of 64 KiB ever made).
func TestBufferFreeBlocksHoldNoStream(t *testing.T) {
	b := NewBuffer(BlockSize)
	b.SetLowest(func() int64 { return b.End() })
	// Small appends first, so some blocks of BlockSize leave the window
	// and wait in the free list.
	for range 4 * BlockSize / 100 {
		b.Append(make([]byte, 100))
	}
	if len(b.free) == 0 {
		t.Fatal("no free block to test with")
	}
	// Then only appends larger than a block: none of them reuses a free block.
	for range 200 {
		b.Append(make([]byte, 4*BlockSize))
	}
	reachable := map[*block]bool{}
	for _, blk := range b.free {
		for ; blk != nil && !reachable[blk]; blk = blk.next.Load() {
			reachable[blk] = true
		}
	}
	held := 0
	for blk := range reachable {
		held += len(blk.data)
	}
	if limit := (maxFree + 2) * BlockSize; held > limit {
		t.Fatalf("the free blocks keep %d bytes of stream alive, want at most %d", held, limit)
	}
}
