package rdb

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// source is the Reader's view of its input: a window of bytes peeked from a
// bufio.Reader and a parse position inside it. Bytes are discarded from the
// bufio.Reader only once parsed, so the bufio.Reader is left exactly after
// the last byte the Reader consumed. The CRC is folded over each parsed
// stretch just before it is discarded.
type source struct {
	br     *bufio.Reader
	win    []byte // peeked, not yet discarded
	pos    int    // parse position in win
	crcPos int    // win[:crcPos] is already folded into crc
	crc    uint64
	base   int64 // stream offset of win[0]
}

func (s *source) offset() int64 { return s.base + int64(s.pos) }

// foldCRC adds the bytes parsed so far to the checksum.
func (s *source) foldCRC() {
	if s.pos > s.crcPos {
		s.crc = CRC64(s.crc, s.win[s.crcPos:s.pos])
		s.crcPos = s.pos
	}
}

// release hands the parsed bytes back to the bufio.Reader.
func (s *source) release() {
	s.foldCRC()
	if s.pos > 0 {
		// Cannot fail: pos never exceeds what is buffered.
		_, _ = s.br.Discard(s.pos)
		s.base += int64(s.pos)
	}
	s.win, s.pos, s.crcPos = nil, 0, 0
}

// fill makes at least n bytes available at win[pos:]; n must not exceed
// the bufio.Reader's size. It blocks only until n bytes are there, so it
// never waits for input beyond what the RDB stream needs.
func (s *source) fill(n int) error {
	s.release()
	win, err := s.br.Peek(n)
	if len(win) < n {
		s.win = win
		if err == nil || errors.Is(err, io.EOF) {
			return fmt.Errorf("truncated input: need %d more bytes, have %d: %w", n, len(win), io.ErrUnexpectedEOF)
		}
		return fmt.Errorf("reading input: %w", err)
	}
	// Take everything already buffered; this does no I/O.
	s.win, _ = s.br.Peek(s.br.Buffered())
	return nil
}

// need ensures n bytes (n ≤ 9) are available at win[pos:].
func (s *source) need(n int) error {
	if len(s.win)-s.pos >= n {
		return nil
	}
	return s.fill(n)
}

func (s *source) readByte() (byte, error) {
	if s.pos >= len(s.win) {
		if err := s.fill(1); err != nil {
			return 0, err
		}
	}
	b := s.win[s.pos]
	s.pos++
	return b, nil
}

// next returns the next n bytes (n ≤ 9) without copying; the slice is
// valid until the next call on s.
func (s *source) next(n int) ([]byte, error) {
	if err := s.need(n); err != nil {
		return nil, err
	}
	b := s.win[s.pos : s.pos+n]
	s.pos += n
	return b, nil
}

// appendN appends the next n bytes to dst. The destination grows with the
// data actually received, so a huge declared length backed by a short input
// fails with a truncation error before much memory is spent.
func (s *source) appendN(dst []byte, n int64) ([]byte, error) {
	for n > 0 {
		if s.pos >= len(s.win) {
			if err := s.fill(1); err != nil {
				return dst, err
			}
		}
		k := int64(len(s.win) - s.pos)
		if k > n {
			k = n
		}
		dst = append(dst, s.win[s.pos:s.pos+int(k)]...)
		s.pos += int(k)
		n -= k
	}
	return dst, nil
}

// skip consumes n bytes without keeping them.
func (s *source) skip(n int64) error {
	for n > 0 {
		if s.pos >= len(s.win) {
			if err := s.fill(1); err != nil {
				return err
			}
		}
		k := int64(len(s.win) - s.pos)
		if k > n {
			k = n
		}
		s.pos += int(k)
		n -= k
	}
	return nil
}
