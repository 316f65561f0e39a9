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
// and where: Offset is the position in the stream (as counted by
// Reader.Offset) of the first byte of the offending element, for example the
// '$' of a bulk header whose length is invalid. Err is ErrProtocol,
// ErrTooLarge or io.ErrUnexpectedEOF, so errors.Is(err, ErrProtocol) and the
// like work on the returned error.
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
