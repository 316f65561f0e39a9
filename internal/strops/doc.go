// Package strops holds the pure functions behind the string commands that
// work on parts of a value: ranges (GETRANGE, SETRANGE), bits (GETBIT,
// SETBIT, BITCOUNT, BITPOS, BITOP), bit fields (BITFIELD), the longest
// common subsequence (LCS) and Redis's long double arithmetic
// (INCRBYFLOAT), with the parsing of their arguments.
//
// Everything here works on []byte and plain values: no locks, no
// goroutines, no knowledge of the store. Functions never change their
// inputs; those that produce a new value return a fresh slice. They follow
// Redis 7.0 exactly, quirks included, since a replica must compute what its
// primary computed.
//
// Sizes: nothing is allocated from a number a client supplied without a
// cap. Offsets are checked against the maxBulk limit (Redis
// proto-max-bulk-len) by the parsers, and the callers check the size of
// any value they are about to build before calling the function that
// builds it.
package strops

import "errors"

// Errors whose texts are Redis's (without the "ERR " prefix), so that a
// server can reply "ERR " + err.Error().
var (
	ErrSyntax        = errors.New("syntax error")
	ErrNotInteger    = errors.New("value is not an integer or out of range")
	ErrBitOffset     = errors.New("bit offset is not an integer or out of range")
	ErrBitValue      = errors.New("bit is not an integer or out of range")
	ErrBitArg        = errors.New("The bit argument must be 1 or 0.")
	ErrOffsetRange   = errors.New("offset is out of range")
	ErrTooLarge      = errors.New("string exceeds maximum allowed size (proto-max-bulk-len)")
	ErrBitFieldType  = errors.New("Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.")
	ErrOverflowType  = errors.New("Invalid OVERFLOW type specified")
	ErrBitFieldRO    = errors.New("BITFIELD_RO only supports the GET subcommand")
	ErrBitOpNot      = errors.New("BITOP NOT must be called with a single source key.")
	ErrLCSLenIdx     = errors.New("If you want both the length and indexes, please just use IDX.")
	ErrLCSMemory     = errors.New("Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len")
	ErrNotFloat      = errors.New("value is not a valid float")
	ErrNaNOrInfinity = errors.New("increment would produce NaN or Infinity")
)

// equalFold reports whether b is the ASCII word s (upper case), ignoring
// case, as Redis's strcasecmp sees it: b ends at its first NUL byte.
func equalFold(b []byte, s string) bool {
	for i, c := range b {
		if c == 0 {
			b = b[:i]
			break
		}
	}
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		c := b[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// ParseInt parses b as Redis's string2ll does: optional '-', no '+', no
// leading zeros or spaces, at most 20 characters, within int64.
func ParseInt(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	if len(b) == 1 && b[0] == '0' {
		return 0, true
	}
	neg := b[0] == '-'
	if neg {
		b = b[1:]
		if len(b) == 0 {
			return 0, false
		}
	}
	if b[0] < '1' || b[0] > '9' {
		return 0, false
	}
	var u uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if u > (1<<64-1-d)/10 {
			return 0, false
		}
		u = u*10 + d
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return -int64(u), true
	}
	if u > 1<<63-1 {
		return 0, false
	}
	return int64(u), true
}
