package resp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
)

const (
	// defaultBufSize is the buffer a Reader starts with and shrinks back to
	// after a command that needed more.
	defaultBufSize = 64 << 10
	// minGrow is the smallest step the buffer grows by once it is full.
	minGrow = 1 << 20
	// maxEmptyReads is how many (0, nil) reads in a row are tolerated.
	maxEmptyReads = 100
)

// errLineTooLong is internal: findLF saw more than the allowed bytes without
// a line feed. Callers turn it into an *Error with context.
var errLineTooLong = errors.New("line too long")

// Reader reads RESP from an underlying io.Reader through its own buffer.
//
// Slices returned by ReadCommand and ReadLine alias that buffer and are
// valid only until the next call of any Read method; copy what you keep.
// Values returned by ReadReply are copies and stay valid.
//
// After malformed input (an error matching ErrProtocol or ErrTooLarge) the
// stream position is lost, and every later call returns the same error.
// An error from the underlying reader in the middle of a command or reply
// consumes nothing: the next call starts that command again, so a read
// deadline may be retried. A Reader is not safe for concurrent use.
type Reader struct {
	rd     io.Reader
	lim    Limits
	buf    []byte
	r, w   int   // buf[r:w] is buffered, not yet consumed
	off    int64 // stream offset of buf[r]
	err    error // error from rd, to return once buffered bytes are used up
	fatal  error // sticky error after malformed input
	unauth bool  // SetUnauthenticated: Redis's lower limits for a peer before AUTH

	small []byte // a NewReaderSize buffer smaller than 64 KiB, kept to return to
	full  bool   // the last read filled the room it was given

	spans   []span   // argument positions, reused
	args    [][]byte // returned Command.Args, reused
	scratch []byte   // unquoted inline arguments, reused
}

// span is the position of one argument, relative to the command's start
// (arrays) or to the scratch buffer (inline).
type span struct{ start, end int }

// NewReader returns a Reader of rd that enforces lim (zero fields mean the
// defaults documented on Limits). The Reader buffers internally (64 KiB to
// start with), so rd need not be buffered; a *bufio.Reader works too, it
// only adds a copy.
func NewReader(rd io.Reader, lim Limits) *Reader {
	return &Reader{rd: rd, lim: lim.withDefaults(), buf: make([]byte, defaultBufSize)}
}

// minBufSize is the smallest buffer NewReaderSize gives.
const minBufSize = 16

// NewReaderSize is NewReader with a buffer that starts at size bytes
// (at least 16) instead of 64 KiB, for a server holding many mostly idle
// connections. When reads fill it (a pipeline, a large command) it gives
// way to a 64 KiB buffer, shared through a pool between the Readers that
// need one, or to a larger one for a larger command; it goes back to the
// small one whenever everything buffered has been consumed, so an idle
// connection holds size bytes.
func NewReaderSize(rd io.Reader, lim Limits, size int) *Reader {
	if size >= defaultBufSize {
		return NewReader(rd, lim)
	}
	buf := make([]byte, max(size, minBufSize))
	return &Reader{rd: rd, lim: lim.withDefaults(), buf: buf, small: buf}
}

// bigBufs holds the 64 KiB buffers of NewReaderSize Readers while they
// are drained.
var bigBufs = sync.Pool{New: func() any { return new([defaultBufSize]byte) }}

// Offset returns the number of bytes consumed from the stream so far by all
// methods (ReadCommand, ReadReply, ReadLine, Read): the stream position of
// the next byte the Reader will return. Bytes buffered but not yet returned
// are not counted.
func (r *Reader) Offset() int64 { return r.off }

// Buffered returns the number of bytes read from the underlying reader and
// held in the buffer, not yet consumed.
func (r *Reader) Buffered() int { return r.w - r.r }

// BufferSize returns the size of the Reader's buffer now, in bytes: what
// it holds in memory, used or not.
func (r *Reader) BufferSize() int { return len(r.buf) }

// Read reads up to len(p) raw bytes of the stream into p: from the buffer if
// it holds any, otherwise with one read of the underlying reader (straight
// into p when p is at least as large as the buffer). It implements
// io.Reader. Use it for the bytes
// that are not RESP, such as the RDB payload after a "$<len>" header read
// with ReadLine. It counts in Offset like every other method.
func (r *Reader) Read(p []byte) (int, error) {
	if r.fatal != nil {
		return 0, r.fatal
	}
	r.shrink()
	if len(p) == 0 {
		if r.Buffered() > 0 {
			return 0, nil
		}
		return 0, r.takeErr()
	}
	if r.r == r.w {
		if r.err != nil {
			return 0, r.takeErr()
		}
		if len(p) >= len(r.buf) {
			// Large read, empty buffer: read straight into p.
			n, err := r.rd.Read(p)
			if n < 0 || n > len(p) {
				return 0, errBadRead(n)
			}
			r.off += int64(n)
			return n, err
		}
		r.r, r.w = 0, 0
		if err := r.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, r.buf[r.r:r.w])
	r.consume(n)
	return n, nil
}

// ReadLine returns one line without its terminator, which is "\r\n" or a
// bare "\n". The line may be at most Limits.MaxInlineLen bytes long. Use it
// for handshake replies such as "+FULLRESYNC <replid> <offset>" and for the
// "$EOF:<40 bytes>" header, which is not valid RESP. An empty line (a
// keepalive) is returned as an empty slice. The slice aliases the buffer
// (see Reader). At the very end of the stream it returns io.EOF; if the
// stream ends inside a line, an error matching io.ErrUnexpectedEOF.
func (r *Reader) ReadLine() ([]byte, error) {
	if err := r.begin(); err != nil {
		return nil, err
	}
	lf, err := r.findLF(0, r.lim.MaxInlineLen+1)
	if err != nil {
		return nil, r.failLine(err, 0, "line")
	}
	line := r.buf[r.r : r.r+lf : r.r+lf]
	line = bytes.TrimSuffix(line, []byte{'\r'})
	if len(line) > r.lim.MaxInlineLen {
		return nil, r.tooLarge(0, "line longer than %d bytes", r.lim.MaxInlineLen)
	}
	r.consume(lf + 1)
	return line, nil
}

// begin starts a ReadCommand, ReadReply or ReadLine: it returns the sticky
// error if any, shrinks an oversized buffer, and makes sure at least one
// byte is buffered, returning io.EOF if the stream ended cleanly.
func (r *Reader) begin() error {
	if r.fatal != nil {
		return r.fatal
	}
	r.shrink()
	if r.r < r.w {
		return nil
	}
	return r.more(1)
}

// consume marks n buffered bytes as returned.
func (r *Reader) consume(n int) {
	r.r += n
	r.off += int64(n)
}

// shrink returns to a default-sized buffer after a large command, once what
// is buffered fits in one. The previous results alias the old buffer, and
// they are invalid from this call on anyway.
//
// A Reader made by NewReaderSize goes back to its small buffer whenever
// everything buffered has been consumed.
func (r *Reader) shrink() {
	if r.small != nil && r.r == r.w {
		if len(r.buf) != len(r.small) {
			if len(r.buf) == defaultBufSize {
				bigBufs.Put((*[defaultBufSize]byte)(r.buf))
			}
			r.buf = r.small
			r.dropScratch()
		}
		r.r, r.w = 0, 0
		return
	}
	if len(r.buf) <= defaultBufSize || r.w-r.r > defaultBufSize {
		return
	}
	nb := make([]byte, defaultBufSize)
	r.w = copy(nb, r.buf[r.r:r.w])
	r.r, r.buf = 0, nb
	r.dropScratch()
}

// dropScratch lets go of the argument slices a large command grew.
// Called when the buffer changes, it also forgets the slices of the old
// one that the reused argument list still holds beyond its length, which
// would keep the old buffer alive.
func (r *Reader) dropScratch() {
	if cap(r.spans) > 64 || cap(r.scratch) > len(r.buf) {
		r.spans, r.args, r.scratch = nil, nil, nil
	}
	clear(r.args[:cap(r.args)])
}

// more reads at least one more byte into the buffer, keeping buf[r:w] and
// making room for a total of need bytes from r if it can. The buffer grows
// only when it is full of unconsumed data, by at most
// max(1 MiB, a quarter of its size) and never past need, so its size stays
// close to what the peer actually sent however large the declared lengths.
func (r *Reader) more(need int) error {
	if r.err != nil {
		return r.takeErr()
	}
	if r.w == len(r.buf) || (r.r > 0 && need > len(r.buf)-r.r) {
		r.makeRoom(need)
	}
	return r.fill()
}

// makeRoom moves the unconsumed bytes to the front of the buffer, or to a
// larger one if the buffer is full (or small and reads keep filling it).
func (r *Reader) makeRoom(need int) {
	buffered := r.w - r.r
	if buffered == len(r.buf) {
		size := len(r.buf) + max(minGrow, len(r.buf)/4)
		if need > len(r.buf) {
			size = min(size, need)
		}
		var nb []byte
		if r.small != nil && len(r.buf) < defaultBufSize && size <= defaultBufSize {
			nb = bigBufs.Get().(*[defaultBufSize]byte)[:]
		} else {
			nb = make([]byte, size)
		}
		copy(nb, r.buf[r.r:r.w])
		r.buf = nb
	} else if r.full && len(r.buf) < defaultBufSize {
		// Reads keep filling the small buffer: a pipeline, read it in
		// larger chunks.
		nb := bigBufs.Get().(*[defaultBufSize]byte)[:]
		copy(nb, r.buf[r.r:r.w])
		r.buf = nb
	} else {
		copy(r.buf, r.buf[r.r:r.w])
	}
	r.r, r.w = 0, buffered
}

// fill does one successful read into buf[w:], which must have room. An
// error that arrives with data is kept for the next call.
func (r *Reader) fill() error {
	for range maxEmptyReads {
		n, err := r.rd.Read(r.buf[r.w:])
		if n < 0 || n > len(r.buf)-r.w {
			return errBadRead(n)
		}
		r.full = n == len(r.buf)-r.w
		r.w += n
		if n > 0 {
			r.err = err
			return nil
		}
		if err != nil {
			return err
		}
	}
	return io.ErrNoProgress
}

func errBadRead(n int) error {
	return fmt.Errorf("resp: underlying reader returned invalid count %d", n)
}

// takeErr returns and clears the pending error of the underlying reader.
func (r *Reader) takeErr() error {
	err := r.err
	r.err = nil
	return err
}

// findLF returns the index, relative to r, of the first '\n' at or after
// relative position start. It returns errLineTooLong if more than limit bytes
// come before it, and the underlying reader's error (io.EOF included) if
// the stream ends or fails first.
func (r *Reader) findLF(start, limit int) (int, error) {
	scanned := start
	for {
		if i := bytes.IndexByte(r.buf[r.r+scanned:r.w], '\n'); i >= 0 {
			if lf := scanned + i; lf-start <= limit {
				return lf, nil
			}
			return 0, errLineTooLong
		}
		scanned = r.w - r.r
		if scanned-start > limit {
			return 0, errLineTooLong
		}
		if err := r.more(start + limit + 1); err != nil {
			return 0, err
		}
	}
}

// need makes sure at least n bytes (relative to r) are buffered.
func (r *Reader) need(n int) error {
	for r.w-r.r < n {
		if err := r.more(n); err != nil {
			return err
		}
	}
	return nil
}

// failLine turns an error from findLF for a line starting at relative
// position start into the error to return.
func (r *Reader) failLine(err error, start int, what string) error {
	return r.failLineReply(err, start, what, "")
}

// failLineReply is failLine for a line of a command, with Redis's reply
// to one that is too long.
func (r *Reader) failLineReply(err error, start int, what, reply string) error {
	if err == errLineTooLong {
		return r.badCommand(start, ErrTooLarge, reply, "%s longer than %d bytes", what, r.lim.MaxInlineLen)
	}
	return r.ioErr(err, what)
}

// ioErr passes an error of the underlying reader through, except io.EOF in
// the middle of an element, which becomes io.ErrUnexpectedEOF with the
// offset where the stream ended. Such errors are not sticky: nothing was
// consumed.
func (r *Reader) ioErr(err error, inside string) error {
	if err != io.EOF {
		return err
	}
	return &Error{
		Offset: r.off + int64(r.w-r.r),
		Msg:    "stream ended inside " + inside,
		Err:    io.ErrUnexpectedEOF,
	}
}

// protocol records and returns a sticky ErrProtocol error at relative
// position pos.
func (r *Reader) protocol(pos int, format string, args ...any) error {
	return r.setFatal(pos, ErrProtocol, "", format, args)
}

// tooLarge records and returns a sticky ErrTooLarge error at relative
// position pos.
func (r *Reader) tooLarge(pos int, format string, args ...any) error {
	return r.setFatal(pos, ErrTooLarge, "", format, args)
}

// badCommand records and returns a sticky error of kind at relative
// position pos for input to ReadCommand, with Redis's reply to it.
func (r *Reader) badCommand(pos int, kind error, reply, format string, args ...any) error {
	return r.setFatal(pos, kind, reply, format, args)
}

func (r *Reader) setFatal(pos int, kind error, reply, format string, args []any) error {
	r.fatal = &Error{Offset: r.off + int64(pos), Msg: fmt.Sprintf(format, args...), Err: kind, Reply: reply}
	return r.fatal
}
