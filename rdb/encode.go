package rdb

import (
	"encoding/binary"
	"math"
)

// appendLen appends n in RDB length encoding: 6 bits, 14 bits, or a 32- or
// 64-bit big-endian number after a marker byte.
func appendLen(b []byte, n uint64) []byte {
	switch {
	case n < 1<<6:
		return append(b, byte(n))
	case n < 1<<14:
		return append(b, 0x40|byte(n>>8), byte(n))
	case n <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, 0x80), uint32(n))
	default:
		return binary.BigEndian.AppendUint64(append(b, 0x81), n)
	}
}

// canonicalInt32 reports whether s is the canonical decimal form of an
// integer in the 32-bit range (no sign but '-', no leading zeros, not
// "-0"), and returns it. These are the strings Redis stores integer-encoded.
func canonicalInt32(s []byte) (int64, bool) {
	n := len(s)
	if n == 0 || n > 11 {
		return 0, false
	}
	i := 0
	if s[0] == '-' {
		if n == 1 {
			return 0, false
		}
		i = 1
	}
	if s[i] == '0' {
		return 0, n == 1 // "0" only: not "007", not "-0"
	}
	var v int64
	for ; i < n; i++ {
		d := s[i] - '0'
		if d > 9 {
			return 0, false
		}
		v = v*10 + int64(d)
	}
	if s[0] == '-' {
		v = -v
	}
	if v < math.MinInt32 || v > math.MaxInt32 {
		return 0, false
	}
	return v, true
}

// appendInt appends v in the smallest integer string encoding that holds it.
func appendInt(b []byte, v int64) []byte {
	switch {
	case v >= math.MinInt8 && v <= math.MaxInt8:
		return append(b, 0xC0|encInt8, byte(v))
	case v >= math.MinInt16 && v <= math.MaxInt16:
		return binary.LittleEndian.AppendUint16(append(b, 0xC0|encInt16), uint16(v))
	default:
		return binary.LittleEndian.AppendUint32(append(b, 0xC0|encInt32), uint32(v))
	}
}
