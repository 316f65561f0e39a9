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
