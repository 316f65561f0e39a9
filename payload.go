package replikv

import (
	"bytes"
	"fmt"
	"io"
)

// eofReader delivers a snapshot framed as "$EOF:<mark>\r\n<rdb><mark>": the
// bytes before the 40-byte mark, then io.EOF. It reads ahead of what it
// delivers (to recognise the mark), so bytes that follow the mark, the
// start of the command stream, are kept and returned by Leftover.
type eofReader struct {
	r         io.Reader
	mark      []byte
	buf       []byte // read from r, not yet delivered; may end with part of the mark
	found     bool   // buf holds everything before the mark
	leftover  []byte // read from r after the mark
	delivered int64
}

func newEOFReader(r io.Reader, mark []byte) *eofReader {
	return &eofReader{r: r, mark: mark, buf: make([]byte, 0, 64<<10)}
}

func (e *eofReader) Read(p []byte) (int, error) {
	for {
		// Deliver what is certainly not part of the mark.
		safe := len(e.buf)
		if !e.found {
			safe -= len(e.mark)
		}
		if safe > 0 {
			n := copy(p, e.buf[:safe])
			e.buf = append(e.buf[:0], e.buf[n:]...)
			e.delivered += int64(n)
			return n, nil
		}
		if e.found {
			return 0, io.EOF
		}
		if len(e.buf) == cap(e.buf) {
			e.buf = append(e.buf, 0)[:len(e.buf)]
		}
		n, err := e.r.Read(e.buf[len(e.buf):cap(e.buf)])
		e.buf = e.buf[:len(e.buf)+n]
		if i := bytes.Index(e.buf, e.mark); i >= 0 {
			e.leftover = bytes.Clone(e.buf[i+len(e.mark):])
			e.buf = e.buf[:i]
			e.found = true
			continue
		}
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 0, fmt.Errorf("snapshot payload before its end mark: %w", err)
		}
	}
}

// finish checks that the snapshot decoder consumed exactly the bytes
// before the mark: used bytes were decoded, the rest must be nothing. It
// reads on to the mark when the decoder stopped before it.
func (e *eofReader) finish(used int64) error {
	if _, err := io.Copy(io.Discard, e); err != nil {
		return err
	}
	if extra := e.delivered - used; extra != 0 {
		return fmt.Errorf("snapshot is longer than its RDB content: %d bytes follow the end of the RDB", extra)
	}
	return nil
}

// Leftover returns the bytes read past the mark.
func (e *eofReader) Leftover() []byte { return e.leftover }

// lengthReader delivers a snapshot framed as "$<n>\r\n<n bytes>".
type lengthReader struct {
	io.LimitedReader
	total int64
}

func newLengthReader(r io.Reader, n int64) *lengthReader {
	return &lengthReader{LimitedReader: io.LimitedReader{R: r, N: n}, total: n}
}

func (l *lengthReader) finish(used int64) error {
	if used != l.total {
		return fmt.Errorf("snapshot announced %d bytes but its RDB content ends after %d", l.total, used)
	}
	return nil
}
