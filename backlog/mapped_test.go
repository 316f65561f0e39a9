package backlog

import (
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func skipUnmapped(t *testing.T) {
	t.Helper()
	if !mapSupported {
		t.Skip("mapped memory is used on 64-bit Linux only")
	}
}

// residentBytes returns the process's resident set size.
func residentBytes(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skip("no /proc/self/statm:", err)
	}
	f := strings.Fields(string(b))
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return pages * int64(os.Getpagesize())
}

// waitInUse runs the garbage collector (and so the blocks' cleanups)
// until at most want slots are in use, or fails after a while.
func waitInUse(t *testing.T, want int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for pool.inUse.Load() > want {
		if time.Now().After(deadline) {
			t.Fatalf("%d mapped slots still in use, want at most %d", pool.inUse.Load(), want)
		}
		runtime.GC()
		time.Sleep(5 * time.Millisecond)
	}
}

// TestMappedSlotsGiveBackPages: a slot handed back to the pool gives its
// pages back to the operating system at once (the RSS drops), but for the
// few the pool keeps resident (maxDirty), and a stale read of it sees
// zeros instead of faulting.
func TestMappedSlotsGiveBackPages(t *testing.T) {
	skipUnmapped(t)
	const n = 64 << 20 / BlockSize
	slots := make([][]byte, 0, n)
	for range n {
		p := getSlot()
		if p == nil {
			t.Fatal("no mapped slot")
		}
		for i := range p {
			p[i] = 0xab
		}
		slots = append(slots, p)
	}
	before := residentBytes(t)
	returned := pool.returned.Load()
	for _, p := range slots {
		putSlot(p)
	}
	after := residentBytes(t)
	if drop, want := before-after, int64(64<<20-maxDirty-8<<20); drop < want {
		t.Errorf("RSS dropped by %d MiB when 64 MiB of slots went back, want at least %d", drop>>20, want>>20)
	}
	if got := pool.returned.Load() - returned; got != n {
		t.Errorf("%d slots returned, want %d", got, n)
	}
	zeros := 0
	for _, p := range slots {
		if p[0] == 0 && p[len(p)-1] == 0 {
			zeros++
		}
	}
	if want := n - maxDirty/BlockSize; zeros < want {
		t.Errorf("%d slots handed back read zeros, want at least %d (all but the pool's resident reserve)", zeros, want)
	}
}

// streamByte is the byte at offset off of the test stream of history salt.
func streamByte(off int64, salt byte) byte {
	return byte(uint64(off)*2654435761>>13) ^ salt
}

func appendStream(b *Buffer, n int, salt byte) {
	p := make([]byte, n)
	for i := range p {
		p[i] = streamByte(b.End()+int64(i), salt)
	}
	b.Append(p)
}

// TestMappedBufferGivesBlocksBack: the blocks a lagging reader held go back
// to the pool once it lets go (through the garbage collector's cleanup),
// and the free blocks no reader can touch go back at once when the free
// list overflows; a stale Cursor read after that does not fault.
func TestMappedBufferGivesBlocksBack(t *testing.T) {
	skipUnmapped(t)
	waitInUse(t, 0)
	b := NewBuffer(4 * BlockSize)
	b.SetMapped(true)
	var low atomic.Int64
	b.SetLowest(low.Load)
	slow, _ := b.CursorAt(0) // lags: low stays 0
	for b.End() < 16<<20 {
		appendStream(b, 1000, 1)
	}
	if got := pool.inUse.Load(); got < 16<<20/BlockSize {
		t.Fatalf("%d slots in use for 16 MiB held by a reader", got)
	}
	start := slow
	off := slow.Offset()
	for _, p := range slow.Next(nil, 0) {
		for i, c := range p {
			if c != streamByte(off+int64(i), 1) {
				t.Fatalf("byte at %d: the lagging reader read other bytes", off+int64(i))
			}
		}
		off += int64(len(p))
	}
	runtime.KeepAlive(start)

	// The reader is past everything: free blocks that overflow the free
	// list go back at once, without the collector (slow still holds them).
	low.Store(b.End())
	returned := pool.returned.Load()
	for range maxFree * 2 {
		appendStream(b, 2*BlockSize, 1) // too large to reuse a free block
		low.Store(b.End())
	}
	if pool.returned.Load() == returned {
		t.Error("no free block went back to the pool once no reader could touch it")
	}
	readAll(&start) // stale: may read anything, but must not fault
	runtime.KeepAlive(slow)

	// The reader lets go: the rest go back (released, or through the
	// collector's cleanups).
	slow, start = Cursor{}, Cursor{}
	waitInUse(t, 4+maxFree+2)
	runtime.KeepAlive(b)
}

// TestMappedBufferReleasesWithoutCollector: once a lagging reader lets go
// (lowest passes the blocks it held), those blocks go back to the pool
// over the next appends, with the collector off: the RSS drops without
// waiting for a collection and its cleanups.
func TestMappedBufferReleasesWithoutCollector(t *testing.T) {
	skipUnmapped(t)
	waitInUse(t, 0)
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	gcs := ms.NumGC
	b := NewBuffer(4 * BlockSize)
	b.SetMapped(true)
	var low atomic.Int64
	b.SetLowest(low.Load)
	slow, _ := b.CursorAt(0) // lags: low stays 0
	for b.End() < 8<<20 {
		appendStream(b, 1000, 2)
	}
	if got := pool.inUse.Load(); got < 8<<20/BlockSize {
		t.Fatalf("%d slots in use for 8 MiB held by a reader", got)
	}
	low.Store(b.End()) // the reader lets go
	for range 8<<20/BlockSize/maxRelease + 4 {
		appendStream(b, 1000, 2)
		low.Store(b.End())
	}
	if got, want := pool.inUse.Load(), int64(4+maxFree+2); got > want {
		t.Errorf("%d slots in use after the reader let go, want at most %d (window and free list)", got, want)
	}
	runtime.ReadMemStats(&ms)
	if ms.NumGC != gcs {
		t.Fatalf("%d collections ran: the test cannot tell", ms.NumGC-gcs)
	}
	runtime.KeepAlive(slow) // its blocks went back all the same: stale
}

// TestMappedBufferConcurrentReaders: readers at different speeds read the
// exact stream of mapped blocks, through resets of the history (they go
// on reading the old history's blocks) and the reuse of blocks behind
// them, while the collector runs the cleanups of the blocks dropped.
// A reader keeps the Cursor it had before each Next while it checks the
// slices (as Subscription does), and the lowest offset counts only the
// readers of the current history (as the stream does).
func TestMappedBufferConcurrentReaders(t *testing.T) {
	skipUnmapped(t)
	b := NewBuffer(8 * BlockSize)
	b.SetMapped(true)
	var (
		mu    sync.Mutex // orders Append, Reset, CursorAt and lowest
		gen   int
		salt  byte
		total int64
	)
	type reader struct {
		gen  int // under mu
		held atomic.Int64
	}
	readers := make([]*reader, 4)
	for i := range readers {
		readers[i] = &reader{gen: -1}
	}
	b.SetLowest(func() int64 {
		low := b.End()
		for _, r := range readers {
			if r.gen == gen {
				low = min(low, r.held.Load())
			}
		}
		return low
	})
	returned := pool.returned.Load()
	var done atomic.Bool
	var wg sync.WaitGroup
	wg.Go(func() { // the collector, often
		for !done.Load() {
			runtime.GC()
			time.Sleep(2 * time.Millisecond)
		}
	})
	for i, r := range readers {
		wg.Go(func() {
			var parts [][]byte
			for {
				mu.Lock()
				first, _ := b.Range()
				c, err := b.CursorAt(first)
				if err != nil {
					mu.Unlock()
					t.Error(err)
					return
				}
				r.gen = gen
				r.held.Store(first)
				mySalt, myGen := salt, gen
				mu.Unlock()
				idle := 0
				for idle < 3 {
					start := c
					r.held.Store(c.Offset())
					off := c.Offset()
					parts = c.Next(parts[:0], 3000+i*5000)
					for _, p := range parts {
						for j, x := range p {
							if x != streamByte(off+int64(j), mySalt) {
								t.Errorf("reader %d, history %d: byte at %d is %d, want %d", i, myGen, off+int64(j), x, streamByte(off+int64(j), mySalt))
								return
							}
						}
						off += int64(len(p))
					}
					runtime.KeepAlive(start)
					clear(parts)
					if len(parts) == 0 {
						mu.Lock()
						moved := gen != myGen
						mu.Unlock()
						if moved || done.Load() {
							idle++
						}
						time.Sleep(time.Duration(i) * 100 * time.Microsecond)
					}
					if i > 0 && off%7 == 0 {
						time.Sleep(time.Duration(i) * time.Millisecond) // lag
					}
				}
				if done.Load() {
					return
				}
			}
		})
	}
	deadline := time.Now().Add(2 * time.Second)
	for n := 0; time.Now().Before(deadline) && total < 256<<20; n++ {
		mu.Lock()
		switch {
		case n%3000 == 2999:
			gen++
			salt++
			b.Reset(b.End() + int64(n%5))
		case n%50 == 0:
			total += 3 * BlockSize
			appendStream(b, 3*BlockSize, salt) // a block of its own
		default:
			total += int64(1 + n%2500)
			appendStream(b, 1+n%2500, salt)
		}
		mu.Unlock()
		if n%64 == 0 {
			time.Sleep(50 * time.Microsecond)
		}
	}
	done.Store(true)
	wg.Wait()
	if pool.returned.Load() == returned {
		t.Error("no block went back to the pool: the test did not exercise reuse")
	}
}
