package resp

import (
	"errors"
	"fmt"
	"strings"
)

// ErrProtocol is matched (with errors.Is) by errors for malformed input: a
// bad length, a missing CRLF, an unexpected type byte, unbalanced quotes.
var ErrProtocol = errors.New("resp: protocol error")

// ErrTooLarge is matched (with errors.Is) by errors for input that exceeds
// one of the Limits: a bulk string, an array, a line or a nesting depth.
var ErrTooLarge = errors.New("resp: limit exceeded")

// Error is the error a Reader returns for bad input. It says what was wrong
// and where: Offset is a position in the stream as counted by Reader.Offset.
// For a bad or too large header it is the header's type byte ('*' or '$'),
// for a bulk string not followed by CRLF the byte after its data, for an
// element that is not a bulk string its type byte, for unbalanced quotes the
// opening quote, for a line that is too long its first byte, and for a
// stream cut short the position where it ended.
//
// Err is ErrProtocol, ErrTooLarge or io.ErrUnexpectedEOF, so
// errors.Is(err, ErrProtocol) and the like work on the returned error.
type Error struct {
	Offset int64  // stream position of the offending element
	Msg    string // what was wrong, e.g. `invalid bulk length "12a"`
	Err    error  // ErrProtocol, ErrTooLarge or io.ErrUnexpectedEOF

	// Reply is, for bad input to ReadCommand, what a Redis server tells
	// a client that sent it, after "ERR Protocol error: ": for example
	// "invalid bulk length" or "unauthenticated multibulk length". Empty
	// when Redis has no such error: then use Msg (see ErrorReply).
	Reply string
}

// Error formats the error as, for example,
// `resp: protocol error at byte 17: invalid bulk length "12a"`.
func (e *Error) Error() string {
	kind := "error"
	if e.Err != nil {
		kind = strings.TrimPrefix(e.Err.Error(), "resp: ")
	}
	return fmt.Sprintf("resp: %s at byte %d: %s", kind, e.Offset, e.Msg)
}

// Unwrap returns e.Err.
func (e *Error) Unwrap() error { return e.Err }

// ErrorReply returns the error reply (without '-' and CRLF) a Redis
// server sends before it closes a client whose input failed with err,
// such as "ERR Protocol error: invalid multibulk length", and false when
// err is not bad input (ErrProtocol or ErrTooLarge). Input Redis has no
// error for gets Msg, as in "ERR Protocol error: bulk string of 4 bytes
// not followed by CRLF".
func ErrorReply(err error) (string, bool) {
	if !errors.Is(err, ErrProtocol) && !errors.Is(err, ErrTooLarge) {
		return "", false
	}
	detail := err.Error()
	var e *Error
	if errors.As(err, &e) {
		detail = e.Msg
		if e.Reply != "" {
			detail = e.Reply
		}
	}
	return "ERR Protocol error: " + sanitizeLine(detail), true
}

// sanitizeLine replaces CR and LF, which would end an error reply early.
func sanitizeLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, s)
}
