package rdb

import (
	"errors"
	"fmt"
)

// Sentinel errors. Errors returned by this package wrap one of these (test
// with errors.Is) together with the detail and, for decoding errors, an
// *Error giving the byte offset.
var (
	// ErrCorrupt means the input is not a well-formed RDB stream: an
	// unknown opcode or type, a bad length encoding, invalid LZF data, a
	// structure that contradicts itself.
	ErrCorrupt = errors.New("rdb: corrupt data")
	// ErrChecksum means the CRC-64 stored at the end does not match the data.
	ErrChecksum = errors.New("rdb: checksum mismatch")
	// ErrVersion means the RDB version is one this package does not read
	// (or, for a Writer, cannot write).
	ErrVersion = errors.New("rdb: unsupported version")
	// ErrTooLarge means a length in the input exceeds a configured limit
	// (ReaderOptions.MaxStringLen) or a built-in sanity bound.
	ErrTooLarge = errors.New("rdb: length exceeds limit")
	// ErrUnsupportedType means a key holds a value type other than string.
	// The error is a *TypeError naming the key and type.
	ErrUnsupportedType = errors.New("rdb: unsupported value type")
	// ErrClosed is returned by a Writer used after Close.
	ErrClosed = errors.New("rdb: writer closed")
)

// Error is the error type returned by Reader. It records the byte offset,
// from the start of the stream, of the item that could not be decoded and,
// when the failure happened inside a key's entry, the key.
type Error struct {
	Offset int64  // byte offset in the stream where the failing item starts
	Key    []byte // the key being decoded, or nil (owned by the Error)
	Err    error  // what went wrong; wraps one of the sentinel errors or an I/O error
}

// Error formats the error as "rdb: at byte N[, key "K"]: cause".
func (e *Error) Error() string {
	if e.Key != nil {
		return fmt.Sprintf("rdb: at byte %d, key %q: %v", e.Offset, e.Key, e.Err)
	}
	return fmt.Sprintf("rdb: at byte %d: %v", e.Offset, e.Err)
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// TypeError reports a key whose value is of a type the Reader does not
// return (anything but a string). It matches ErrUnsupportedType with
// errors.Is.
type TypeError struct {
	Key      []byte // the key (a copy, owned by the error)
	Type     byte   // the RDB type byte
	TypeName string // a readable name of the type, as TypeName returns
	DB       int    // the database the key is in
}

// Error describes the key, its database and its type.
func (e *TypeError) Error() string {
	return fmt.Sprintf("rdb: key %q in db %d holds a %s (RDB type %d); only strings are supported", e.Key, e.DB, e.TypeName, e.Type)
}

// Unwrap returns ErrUnsupportedType.
func (e *TypeError) Unwrap() error { return ErrUnsupportedType }
