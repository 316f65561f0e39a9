package backlog

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
)

// model is the trivial reference: every byte ever appended since the last
// reset, and the offset of its first byte.
type model struct {
	base int64
	all  []byte
	cap  int
}

func (m *model) end() int64   { return m.base + int64(len(m.all)) }
func (m *model) first() int64 { return max(m.base, m.end()-int64(m.cap)) }

// checkRange asserts the ring's bookkeeping against the model.
func checkRange(t *testing.T, r *Ring, m *model) {
	t.Helper()
	first, end := r.Range()
	if first != m.first() || end != m.end() || r.First() != first || r.End() != end {
		t.Fatalf("Range() = [%d, %d), First %d End %d; model [%d, %d)", first, end, r.First(), r.End(), m.first(), m.end())
	}
	if r.Len() != int(end-first) || r.Cap() != m.cap {
		t.Fatalf("Len %d Cap %d, want %d %d", r.Len(), r.Cap(), end-first, m.cap)
	}
}

func TestRingAgainstModel(t *testing.T) {
	for _, capacity := range []int{1, 2, 7, 64, 1000} {
		rng := rand.New(rand.NewPCG(uint64(capacity), 42))
		r := New(capacity)
		m := &model{cap: capacity}
		var counter byte
		for step := 0; step < 3000; step++ {
			switch op := rng.IntN(10); {
			case op < 5: // append 0..3*capacity bytes
				p := make([]byte, rng.IntN(3*capacity+1))
				for i := range p {
					counter++
					p[i] = counter
				}
				r.Append(p)
				m.all = append(m.all, p...)
			case op < 7: // ReadAt at a random offset around the covered range
				off := m.first() - 3 + rng.Int64N(m.end()-m.first()+7)
				p := make([]byte, rng.IntN(2*capacity+2))
				n, err := r.ReadAt(p, off)
				if off < m.first() || off > m.end() {
					var re *RangeError
					if n != 0 || !errors.As(err, &re) || !errors.Is(err, ErrNotCovered) || re.Off != off || re.First != m.first() || re.End != m.end() {
						t.Fatalf("ReadAt(len %d, %d) outside [%d,%d) = %d, %v", len(p), off, m.first(), m.end(), n, err)
					}
					if r.Covers(off) {
						t.Fatalf("Covers(%d) true outside [%d,%d]", off, m.first(), m.end())
					}
					continue
				}
				if !r.Covers(off) {
					t.Fatalf("Covers(%d) false inside [%d,%d]", off, m.first(), m.end())
				}
				want := m.all[off-m.base:]
				if len(want) > len(p) {
					want = want[:len(p)]
				}
				var wantErr error
				if len(want) < len(p) {
					wantErr = io.EOF
				}
				if n != len(want) || err != wantErr || !bytes.Equal(p[:n], want) {
					t.Fatalf("ReadAt(len %d, %d) = %d, %v; want %d, %v", len(p), off, n, err, len(want), wantErr)
				}
			case op < 9: // Copy from a random covered (or not) offset
				off := m.first() - 2 + rng.Int64N(m.end()-m.first()+5)
				var w bytes.Buffer
				n, err := r.Copy(&w, off)
				if off < m.first() || off > m.end() {
					if n != 0 || !errors.Is(err, ErrNotCovered) || w.Len() != 0 {
						t.Fatalf("Copy(%d) outside = %d, %v", off, n, err)
					}
					continue
				}
				want := m.all[off-m.base:]
				if err != nil || n != int64(len(want)) || !bytes.Equal(w.Bytes(), want) {
					t.Fatalf("Copy(%d) = %d, %v; want %d bytes", off, n, err, len(want))
				}
			default: // Reset to a random later offset
				off := m.end() + rng.Int64N(1000)
				r.Reset(off)
				m.base, m.all = off, nil
			}
			checkRange(t, r, m)
		}
	}
}

func TestRingEdges(t *testing.T) {
	r := New(4)
	if first, end := r.Range(); first != 0 || end != 0 || !r.Covers(0) || r.Covers(1) || r.Covers(-1) {
		t.Fatalf("empty ring: [%d,%d) covers0=%v", first, end, r.Covers(0))
	}
	if n, err := r.ReadAt(nil, 0); n != 0 || err != nil {
		t.Fatalf("ReadAt(nil, End) = %d, %v; want 0, nil", n, err)
	}
	if n, err := r.ReadAt(make([]byte, 1), 0); n != 0 || err != io.EOF {
		t.Fatalf("ReadAt(1 byte, End) = %d, %v; want 0, EOF", n, err)
	}

	// Exactly the capacity.
	r.Append([]byte("abcd"))
	mustRead(t, r, 0, "abcd")
	// Wrap around: head is at 0 again, then one more byte overwrites 'a'.
	r.Append([]byte("e"))
	mustRead(t, r, 1, "bcde")
	// Wrap in the middle of an append.
	r.Append([]byte("fg"))
	mustRead(t, r, 3, "defg")
	// Larger than capacity: only the last 4 bytes are kept.
	r.Append([]byte("0123456789"))
	mustRead(t, r, 13, "6789")
	if r.First() != 13 || r.End() != 17 {
		t.Fatalf("range [%d,%d), want [13,17)", r.First(), r.End())
	}
	_, err := r.ReadAt(make([]byte, 1), 12)
	if want := "backlog: offset 12 not covered: before the oldest byte held (ring holds [13, 17))"; err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
	_, err = r.ReadAt(make([]byte, 1), 18)
	if want := "backlog: offset 18 not covered: beyond the end of the stream (ring holds [13, 17))"; err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
	// Empty append changes nothing.
	r.Append(nil)
	mustRead(t, r, 13, "6789")

	// Reset continues the stream at the given offset.
	r.Reset(1000)
	if !r.Covers(1000) || r.Covers(999) || r.Len() != 0 {
		t.Fatalf("after Reset: covers(1000)=%v covers(999)=%v len=%d", r.Covers(1000), r.Covers(999), r.Len())
	}
	r.Append([]byte("xyz"))
	mustRead(t, r, 1000, "xyz")
	mustRead(t, r, 1002, "z")
}

func TestNewPanicsOnBadCapacity(t *testing.T) {
	for _, c := range []int{0, -1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New(%d) did not panic", c)
				}
			}()
			New(c)
		}()
	}
}

type shortWriter struct{}

func (shortWriter) Write(p []byte) (int, error) { return len(p) / 2, nil }

type failWriter struct{ err error }

func (f failWriter) Write(p []byte) (int, error) { return 1, f.err }

// countingWriter records the number of Write calls.
type countingWriter struct {
	calls int
	bytes.Buffer
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.calls++
	return c.Buffer.Write(p)
}

func TestCopyWrites(t *testing.T) {
	r := New(8)
	r.Append([]byte("0123"))
	r.Append([]byte("4567"))
	r.Append([]byte("89ab")) // holds 456789ab, head at 4: wrapped
	var cw countingWriter
	n, err := r.Copy(&cw, 4)
	if err != nil || n != 8 || cw.String() != "456789ab" || cw.calls != 2 {
		t.Fatalf("Copy = %d, %v, %q in %d writes", n, err, cw.String(), cw.calls)
	}
	cw = countingWriter{}
	if n, err := r.Copy(&cw, 12); n != 0 || err != nil || cw.calls != 0 {
		t.Fatalf("Copy(End) = %d, %v with %d writes; want no write", n, err, cw.calls)
	}
	if _, err := r.Copy(shortWriter{}, 4); err != io.ErrShortWrite {
		t.Fatalf("short write: err = %v", err)
	}
	boom := errors.New("boom")
	if n, err := r.Copy(failWriter{boom}, 4); n != 1 || err != boom {
		t.Fatalf("failing writer: %d, %v", n, err)
	}
}

func mustRead(t *testing.T, r *Ring, off int64, want string) {
	t.Helper()
	p := make([]byte, len(want))
	n, err := r.ReadAt(p, off)
	if err != nil || string(p[:n]) != want {
		t.Fatalf("ReadAt(%d) = %q, %v; want %q", off, p[:n], err, want)
	}
	var b bytes.Buffer
	if _, err := r.Copy(&b, off); err != nil || b.String() != want {
		t.Fatalf("Copy(%d) = %q, %v; want %q (to the end)", off, b.String(), err, want)
	}
}

func TestAppendDoesNotAllocate(t *testing.T) {
	r := New(1000)
	p := make([]byte, 64)
	if a := testing.AllocsPerRun(100, func() { r.Append(p) }); a != 0 {
		t.Fatalf("Append allocates %v times per call", a)
	}
	if a := testing.AllocsPerRun(100, func() { _, _ = r.Copy(io.Discard, r.First()) }); a != 0 {
		t.Fatalf("Copy allocates %v times per call", a)
	}
}

func BenchmarkAppend64(b *testing.B) {
	r := New(1 << 20)
	p := bytes.Repeat([]byte("x"), 64)
	b.SetBytes(64)
	b.ReportAllocs()
	for b.Loop() {
		r.Append(p)
	}
}

func BenchmarkReadAt4K(b *testing.B) {
	r := New(1 << 20)
	r.Append(make([]byte, 3<<19)) // wrapped
	p := make([]byte, 4096)
	b.SetBytes(4096)
	b.ReportAllocs()
	off := r.First()
	for b.Loop() {
		if _, err := r.ReadAt(p, off); err != nil {
			b.Fatal(err)
		}
		off += 4096
		if off+4096 > r.End() {
			off = r.First()
		}
	}
}
