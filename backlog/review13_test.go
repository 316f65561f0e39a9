package backlog

// Adversarial review of issue 13: the shared Buffer, its window and the
// reuse of its blocks.

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

// review13Model drives a Buffer beside the true stream, with the lowest
// offset given by a set of live cursors (as the stream's subscribers
// publish it), and checks every offset it covers.
type review13Model struct {
	t       *testing.T
	b       *Buffer
	size    int
	base    int64 // offset of all[0]
	floor   int64 // the latest first byte the window may have: end-size, or where a smaller window moved it
	all     []byte
	readers []*Cursor
}

func (m *review13Model) lowest() int64 {
	low := m.b.End()
	for _, c := range m.readers {
		low = min(low, c.Offset())
	}
	return low
}

func (m *review13Model) append(p []byte) {
	m.b.Append(p)
	m.all = append(m.all, p...)
	m.floor = max(m.floor, m.b.End()-int64(m.size))
}

// check compares Range with the model and reads from offsets around every
// block boundary and the window's edges.
func (m *review13Model) check() {
	t := m.t
	t.Helper()
	first, end := m.b.Range()
	// The window holds at least the newest size bytes (all since the
	// reset, or since a smaller window let go of the older ones), and
	// nothing older than the reset.
	if end != m.base+int64(len(m.all)) || first > m.floor || first < m.base {
		t.Fatalf("Range = [%d, %d), want [%d or before, %d) from %d on", first, end, m.floor, m.base+int64(len(m.all)), m.base)
	}
	offs := map[int64]bool{first: true, end: true, first + 1: true, end - 1: true}
	for o := first - first%BlockSize; o <= end+BlockSize; o += BlockSize {
		for d := int64(-2); d <= 2; d++ {
			offs[o+d] = true
		}
	}
	for range 8 {
		offs[first+rand.Int64N(end-first+1)] = true
	}
	for off := range offs {
		c, err := m.b.CursorAt(off)
		if off < first || off > end {
			var re *RangeError
			if !errors.As(err, &re) {
				t.Fatalf("CursorAt(%d) outside [%d, %d]: err %v", off, first, end, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("CursorAt(%d) in [%d, %d]: %v", off, first, end, err)
		}
		if got, want := readAll(&c), m.all[off-m.base:]; !bytes.Equal(got, want) {
			t.Fatalf("cursor at %d read %d bytes differing from the stream's %d", off, len(got), len(want))
		}
		p := make([]byte, 1+rand.IntN(3*BlockSize))
		n, err := m.b.ReadAt(p, off)
		want := m.all[off-m.base:]
		if n != min(len(p), len(want)) || !bytes.Equal(p[:n], want[:n]) || (n < len(p)) != (err != nil) {
			t.Fatalf("ReadAt(%d bytes, %d) = %d, %v", len(p), off, n, err)
		}
	}
	// The live readers read exactly the stream.
	for _, c := range m.readers {
		from := c.Offset()
		if got, want := readAll(c), m.all[from-m.base:]; !bytes.Equal(got, want) {
			t.Fatalf("reader from %d read other bytes", from)
		}
	}
}

// Every offset of the window, block boundaries and its edges included,
// reads the stream exactly, through appends of every size, window shrinks
// and growths, resets, and block reuse behind readers parked at block ends.
func TestReview13EveryCoveredOffset(t *testing.T) {
	for seed := range uint64(8) {
		r := rand.New(rand.NewPCG(seed, 13))
		m := &review13Model{t: t, size: 3*BlockSize + 100}
		m.b = NewBuffer(m.size)
		m.b.SetLowest(m.lowest)
		for step := range 300 {
			switch k := r.IntN(20); {
			case k < 14:
				var n int
				switch r.IntN(4) {
				case 0:
					n = 1 + r.IntN(16)
				case 1:
					n = BlockSize - int(m.b.End()%BlockSize) // up to a block end exactly
				case 2:
					n = 1 + r.IntN(BlockSize)
				default:
					n = 1 + r.IntN(3*BlockSize)
				}
				p := make([]byte, n)
				for i := range p {
					p[i] = byte(r.Uint32())
				}
				m.append(p)
			case k < 16:
				m.size = BlockSize/2 + r.IntN(5*BlockSize)
				m.b.SetSize(m.size)
				m.floor = max(m.floor, m.b.End()-int64(m.size))
			case k < 17:
				off := m.b.End() + int64(r.IntN(3)*BlockSize) - 5
				m.b.Reset(off)
				m.base, m.floor, m.all, m.readers = off, off, nil, nil
			default:
				// A reader parked at the window's first byte or at a block
				// end (the lowest offset it may touch pins the blocks).
				first, end := m.b.Range()
				off := first + r.Int64N(end-first+1)
				if r.IntN(2) == 0 {
					off = min(end, off-off%BlockSize+BlockSize)
				}
				c, err := m.b.CursorAt(off)
				if err != nil {
					t.Fatal(err)
				}
				if len(m.readers) > 3 {
					m.readers = m.readers[1:]
				}
				m.readers = append(m.readers, &c)
			}
			if step%7 == 0 {
				m.check()
			}
		}
		m.check()
	}
}
