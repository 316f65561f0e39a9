package backlog

import "io"

// Ring is a fixed-capacity ring buffer of the newest bytes of a stream,
// addressed by absolute offset. The zero value is not usable; create one with
// New. A Ring is not safe for concurrent use.
type Ring struct {
	buf  []byte
	head int   // index in buf where the next appended byte goes
	n    int   // number of bytes held, 0 <= n <= len(buf)
	end  int64 // absolute offset of the next appended byte
}

// New returns an empty Ring holding at most capacity bytes, whose stream
// starts at offset 0 (see Reset to start elsewhere). It allocates the whole
// buffer up front; nothing else in the Ring allocates. New panics if
// capacity <= 0: that is a programming error, not an input error.
func New(capacity int) *Ring {
	if capacity <= 0 {
		panic("backlog: New with capacity <= 0")
	}
	return &Ring{buf: make([]byte, capacity)}
}

// Cap returns the capacity given to New: the most bytes the ring holds.
func (r *Ring) Cap() int { return len(r.buf) }

// Len returns the number of bytes the ring holds, End() - First().
func (r *Ring) Len() int { return r.n }

// First returns the absolute offset of the oldest byte held (equal to End()
// when the ring is empty).
func (r *Ring) First() int64 { return r.end - int64(r.n) }

// End returns the absolute offset one past the newest byte held: the total
// number of bytes ever appended, plus the offset given to the last Reset.
func (r *Ring) End() int64 { return r.end }

// Range returns First() and End(): the ring covers [first, end).
func (r *Ring) Range() (first, end int64) { return r.First(), r.end }

// Covers reports whether a reader that wants the stream from offset off on
// can be served from the ring, that is First() <= off <= End(). Note that
// off == End() is covered: there is simply nothing to send yet.
func (r *Ring) Covers(off int64) bool { return off >= r.First() && off <= r.end }

// Reset empties the ring and makes offset the position of the next appended
// byte; afterwards First() == End() == offset. A replica calls it after
// loading a snapshot tagged with offset X: its stream continues at X.
func (r *Ring) Reset(offset int64) {
	r.head, r.n, r.end = 0, 0, offset
}

// Append copies p into the ring, overwriting the oldest bytes when it is
// full, and advances End() by len(p). If len(p) > Cap() only the last Cap()
// bytes of p are kept. Append never allocates.
func (r *Ring) Append(p []byte) {
	r.end += int64(len(p))
	c := len(r.buf)
	if len(p) >= c {
		copy(r.buf, p[len(p)-c:])
		r.head, r.n = 0, c
		return
	}
	k := copy(r.buf[r.head:], p)
	copy(r.buf, p[k:])
	r.head += len(p)
	if r.head >= c {
		r.head -= c
	}
	r.n = min(r.n+len(p), c)
}

// Write is Append in the form of io.Writer; it always returns len(p), nil.
func (r *Ring) Write(p []byte) (int, error) {
	r.Append(p)
	return len(p), nil
}

// Slices returns the bytes of [from, End()) as at most two slices that alias
// the ring's buffer (a comes first in the stream, b may be empty). They are
// valid only until the next Append or Reset. If from is not covered it
// returns a *RangeError.
func (r *Ring) Slices(from int64) (a, b []byte, err error) {
	if !r.Covers(from) {
		return nil, nil, r.rangeError(from)
	}
	want := int(r.end - from)
	i := r.head - want
	if i >= 0 {
		return r.buf[i:r.head], nil, nil
	}
	i += len(r.buf)
	return r.buf[i:], r.buf[:r.head], nil
}

// ReadAt copies bytes of the stream starting at absolute offset off into p,
// with io.ReaderAt semantics: it returns n = min(len(p), End()-off) and, when
// n < len(p), the error io.EOF (so off == End() with a non-empty p returns
// 0, io.EOF, and an empty p always returns 0, nil for a covered off). If off
// is not covered (off < First() or off > End()) it returns 0 and a
// *RangeError matching ErrNotCovered.
func (r *Ring) ReadAt(p []byte, off int64) (int, error) {
	a, b, err := r.Slices(off)
	if err != nil {
		return 0, err
	}
	n := copy(p, a)
	n += copy(p[n:], b)
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Copy writes the bytes [from, End()) to w, in at most two Write calls and
// without allocating, and returns the number of bytes written. If from is
// not covered it writes nothing and returns a *RangeError. A write that
// returns fewer bytes than asked without an error yields io.ErrShortWrite.
func (r *Ring) Copy(w io.Writer, from int64) (int64, error) {
	a, b, err := r.Slices(from)
	if err != nil {
		return 0, err
	}
	var total int64
	for _, s := range [2][]byte{a, b} {
		if len(s) == 0 {
			continue
		}
		n, err := w.Write(s)
		total += int64(n)
		if err != nil {
			return total, err
		}
		if n < len(s) {
			return total, io.ErrShortWrite
		}
	}
	return total, nil
}

func (r *Ring) rangeError(off int64) error {
	return &RangeError{Off: off, First: r.First(), End: r.end}
}
