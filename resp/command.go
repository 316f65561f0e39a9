package resp

import (
	"fmt"
	"math"
)

// Command is one command read by ReadCommand.
//
// Its slices alias the Reader's buffers and are valid only until the next
// call of any Read method on that Reader.
type Command struct {
	// Args are the command's arguments, name first. For a RESP array they
	// are sub-slices of Raw (no copy); for an inline command they hold the
	// arguments with quotes and escapes resolved. Each has its capacity
	// clipped to its length, so appending to one never overwrites another.
	Args [][]byte

	// Raw is every byte the command occupied on the wire, terminators
	// included: what a replica appends to its backlog and adds to its
	// replication offset.
	Raw []byte

	// Inline reports that the command was an inline text line rather than
	// a RESP array.
	Inline bool

	// Empty reports a command with no arguments: a bare "\n" or "\r\n"
	// keepalive, a line of spaces, "*0\r\n" or a negative count such as
	// "*-1\r\n". Callers skip it, but its bytes still count in Raw (and
	// in Offset).
	Empty bool
}

// ReadCommand reads the next command: a RESP array of bulk strings (what
// clients and primaries send), or, when the first byte is not '*', an inline
// command, a text line split into arguments like redis-cli and Redis do it
// (spaces separate arguments; "..." understands \n \r \t \b \a \\ \" and
// \xHH escapes; '...' understands \'; unbalanced quotes are an error; a NUL
// byte ends the line's arguments, as in Redis).
//
// Following Redis, array and bulk lengths are decimal without '+' or
// leading zeros, bulk lengths are not negative, an array length of 0 or
// below means an empty command (Redis ignores it), each
// header ends with "\r\n", every element is a bulk string, and every bulk
// string is followed by exactly "\r\n".
//
// It returns io.EOF only when the stream ends cleanly between commands; if
// it ends inside one, the error matches io.ErrUnexpectedEOF. Malformed input
// yields an *Error matching ErrProtocol or ErrTooLarge. Steady-state calls
// do not allocate.
func (r *Reader) ReadCommand() (Command, error) {
	if err := r.begin(); err != nil {
		return Command{}, err
	}
	if r.buf[r.r] == '*' {
		return r.readArray()
	}
	return r.readInline()
}

// Redis's replies to malformed commands (after "ERR Protocol error: ").
const (
	replyBadArray    = "invalid multibulk length"
	replyBadBulk     = "invalid bulk length"
	replyUnauthArray = "unauthenticated multibulk length"
	replyUnauthBulk  = "unauthenticated bulk length"
)

// readArray reads a command sent as a RESP array of bulk strings; the '*'
// is buffered at r.
func (r *Reader) readArray() (Command, error) {
	n, pos, err := r.readHeader(0, "multibulk length", replyBadArray, "too big mbulk count string", true)
	if err != nil {
		return Command{}, err
	}
	if r.unauth && n > UnauthMaxArrayLen && n <= max(r.lim.MaxArrayLen, math.MaxInt32) {
		return Command{}, r.badCommand(0, ErrTooLarge, replyUnauthArray, "multibulk length %d exceeds the limit of %d before authentication", n, UnauthMaxArrayLen)
	}
	if n > r.lim.MaxArrayLen {
		return Command{}, r.badCommand(0, ErrTooLarge, replyBadArray, "multibulk length %d exceeds the limit of %d", n, r.lim.MaxArrayLen)
	}
	r.spans = r.spans[:0]
	for range n { // n <= 0 runs no iteration
		if err := r.need(pos + 1); err != nil {
			return Command{}, r.ioErr(err, "a command")
		}
		if c := r.buf[r.r+pos]; c != '$' {
			return Command{}, r.badCommand(pos, ErrProtocol, fmt.Sprintf("expected '$', got '%c'", c), "expected '$', got %q", c)
		}
		size, start, err := r.readHeader(pos, "bulk length", replyBadBulk, "too big bulk count string", false)
		if err != nil {
			return Command{}, err
		}
		end, err := r.readBulkData(pos, start, size)
		if err != nil {
			return Command{}, err
		}
		r.spans = append(r.spans, span{start, end})
		pos = end + 2
	}
	raw := r.buf[r.r : r.r+pos : r.r+pos]
	r.args = r.args[:0]
	for _, s := range r.spans {
		r.args = append(r.args, raw[s.start:s.end:s.end])
	}
	r.consume(pos)
	return Command{Args: r.args, Raw: raw, Empty: n <= 0}, nil
}

// readHeader reads a "*<n>\r\n" or "$<n>\r\n" line of a command whose
// type byte is at relative position pos, and returns n and the position
// after the line. With negative, n may be below 0. reply and tooLong are
// Redis's replies to a bad line and to one too long.
func (r *Reader) readHeader(pos int, what, reply, tooLong string, negative bool) (n int64, next int, err error) {
	lf, err := r.findLF(pos, r.lim.MaxInlineLen+1)
	if err != nil {
		return 0, 0, r.failLineReply(err, pos, what+" line", tooLong)
	}
	if lf-pos < 2 || r.buf[r.r+lf-1] != '\r' {
		return 0, 0, r.badCommand(pos, ErrProtocol, reply, "%s line not terminated by CRLF", what)
	}
	digits := r.buf[r.r+pos+1 : r.r+lf-1]
	n, ok := parseInt(digits)
	if !ok || (n < 0 && !negative) {
		return 0, 0, r.badCommand(pos, ErrProtocol, reply, "invalid %s %q", what, digits)
	}
	return n, lf + 1, nil
}

// readBulkData checks the size of a bulk string whose header is at relative
// position pos and whose data starts at start, waits until its data and the
// CRLF after it are buffered, and returns the position where the data ends.
func (r *Reader) readBulkData(pos, start int, size int64) (end int, err error) {
	if r.unauth && size > UnauthMaxBulkLen && size <= max(r.lim.MaxBulkLen, DefaultMaxBulkLen) {
		return 0, r.badCommand(pos, ErrTooLarge, replyUnauthBulk, "bulk length %d exceeds the limit of %d before authentication", size, UnauthMaxBulkLen)
	}
	if size > r.lim.MaxBulkLen || size > int64(math.MaxInt-4-start) {
		return 0, r.badCommand(pos, ErrTooLarge, replyBadBulk, "bulk length %d exceeds the limit of %d", size, r.lim.MaxBulkLen)
	}
	end = start + int(size)
	if err := r.need(end + 2); err != nil {
		return 0, r.ioErr(err, "a bulk string")
	}
	if r.buf[r.r+end] != '\r' || r.buf[r.r+end+1] != '\n' {
		return 0, r.protocol(end, "bulk string of %d bytes not followed by CRLF", size)
	}
	return end, nil
}

// readInline reads a command sent as one text line; its first byte is
// buffered at r.
func (r *Reader) readInline() (Command, error) {
	lf, err := r.findLF(0, r.lim.MaxInlineLen+1)
	if err != nil {
		return Command{}, r.failLineReply(err, 0, "inline command", "too big inline request")
	}
	line := r.buf[r.r : r.r+lf]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	if len(line) > r.lim.MaxInlineLen {
		return Command{}, r.badCommand(0, ErrTooLarge, "too big inline request", "inline command longer than %d bytes", r.lim.MaxInlineLen)
	}
	var bad int
	var msg string
	r.scratch, r.spans, bad, msg = splitArgs(line, r.scratch[:0], r.spans[:0])
	if msg != "" {
		return Command{}, r.badCommand(bad, ErrProtocol, "unbalanced quotes in request", "%s", msg)
	}
	if int64(len(r.spans)) > r.lim.MaxArrayLen {
		return Command{}, r.tooLarge(0, "inline command has %d arguments, more than the limit of %d", len(r.spans), r.lim.MaxArrayLen)
	}
	r.args = r.args[:0]
	for _, s := range r.spans {
		r.args = append(r.args, r.scratch[s.start:s.end:s.end])
	}
	raw := r.buf[r.r : r.r+lf+1 : r.r+lf+1]
	r.consume(lf + 1)
	return Command{Args: r.args, Raw: raw, Inline: true, Empty: len(r.args) == 0}, nil
}
