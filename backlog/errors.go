package backlog

import (
	"errors"
	"fmt"
)

// ErrNotCovered is matched (with errors.Is) by every *RangeError: the
// requested offset is not inside the bytes the Ring still holds.
var ErrNotCovered = errors.New("backlog: offset not covered")

// RangeError reports a request for an offset outside [First, End]: either
// older than the oldest byte still held (the ring has overwritten it) or
// beyond the end of the stream.
type RangeError struct {
	Off   int64 // the offset asked for
	First int64 // First() at the time of the request
	End   int64 // End() at the time of the request
}

// Error describes the offset and the range the ring held.
func (e *RangeError) Error() string {
	where := "before the oldest byte held"
	if e.Off > e.End {
		where = "beyond the end of the stream"
	}
	return fmt.Sprintf("backlog: offset %d not covered: %s (ring holds [%d, %d))", e.Off, where, e.First, e.End)
}

// Unwrap returns ErrNotCovered, so errors.Is(err, ErrNotCovered) holds.
func (e *RangeError) Unwrap() error { return ErrNotCovered }
