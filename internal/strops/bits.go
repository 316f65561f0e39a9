package strops

import (
	"encoding/binary"
	"math/bits"
)

// GetBit returns bit offset of v (bit 0 is the most significant bit of the
// first byte); bits past the end are 0.
func GetBit(v []byte, offset int64) int {
	if offset < 0 || offset>>3 >= int64(len(v)) {
		return 0
	}
	return int(v[offset>>3]>>(7-offset&7)) & 1
}

// SetBit sets bit offset of old to bit (0 or 1). It returns the bit's
// previous value and, when the value changes (the bit flips or the value
// grows to reach it), the new value: a fresh slice of max(len(old),
// offset/8+1) bytes, zero-padded. When nothing changes, changed is false
// and out is nil. The caller has checked offset against its size limit.
func SetBit(old []byte, offset int64, bit int) (out []byte, prev int, changed bool) {
	prev, n := SetBitPlan(old, offset, bit)
	if n == 0 {
		return nil, prev, false
	}
	out = make([]byte, n)
	SetBitInto(out, old, offset, bit)
	return out, prev, true
}

// SetBitPlan returns the previous value of bit offset of old and the
// length of the value SETBIT builds: max(len(old), offset/8+1), or 0 when
// nothing changes (the bit has that value already, within the value).
func SetBitPlan(old []byte, offset int64, bit int) (prev int, n int64) {
	prev = GetBit(old, offset)
	if offset>>3 < int64(len(old)) && prev == bit {
		return prev, 0
	}
	return prev, max(int64(len(old)), offset>>3+1)
}

// SetBitInto builds in dst (zeroed, of the length SetBitPlan returned)
// old with bit offset set to bit.
func SetBitInto(dst, old []byte, offset int64, bit int) {
	copy(dst, old)
	mask := byte(1) << (7 - offset&7)
	if bit != 0 {
		dst[offset>>3] |= mask
	} else {
		dst[offset>>3] &^= mask
	}
}

// Span is the range argument of BITCOUNT and BITPOS: Start and End
// inclusive, negative from the end, counted in bytes, or in bits when Bit
// (the BIT option). HasStart false means the whole value; HasEnd false
// (BITPOS key bit start) means up to the end of the value, which then
// counts as followed by zero bits.
type Span struct {
	Start, End       int64
	HasStart, HasEnd bool
	Bit              bool
}

// Whole is the Span of the whole value.
var Whole = Span{}

// BitCount counts the bits set in the part of v that sp selects, as Redis
// 7.0's BITCOUNT does.
func BitCount(v []byte, sp Span) int64 {
	if !sp.HasStart {
		return popcount(v)
	}
	start, end := sp.Start, sp.End
	if start < 0 && end < 0 && start > end {
		return 0
	}
	total := int64(len(v))
	if sp.Bit {
		total <<= 3
	}
	start, end = clampRange(start, end, total)
	if start > end {
		return 0
	}
	if !sp.Bit {
		return popcount(v[start : end+1])
	}
	sb, eb := start>>3, end>>3
	n := popcount(v[sb : eb+1])
	n -= int64(bits.OnesCount8(v[sb] & ^byte(0xff>>(start&7))))
	n -= int64(bits.OnesCount8(v[eb] & byte(0xff>>(end&7+1))))
	return n
}

// clampRange converts negative indexes and clamps them as BITCOUNT,
// BITPOS and GETRANGE do.
func clampRange(start, end, total int64) (int64, int64) {
	if start < 0 {
		start += total
	}
	if end < 0 {
		end += total
	}
	start, end = max(start, 0), max(end, 0)
	if end >= total {
		end = total - 1
	}
	return start, end
}

func popcount(v []byte) int64 {
	var n int
	for len(v) >= 8 {
		n += bits.OnesCount64(binary.LittleEndian.Uint64(v))
		v = v[8:]
	}
	for _, c := range v {
		n += bits.OnesCount8(c)
	}
	return int64(n)
}

// BitPos returns the position of the first bit equal to bit (0 or 1) in
// the part of v that sp selects, as Redis 7.0's BITPOS does: -1 when
// there is none, except that looking for a 0 without an explicit end
// finds the first bit past the value (a value is followed by zeros).
func BitPos(v []byte, bit int, sp Span) int64 {
	var start, end int64
	if !sp.HasStart {
		start, end = 0, int64(len(v))-1
	} else {
		total := int64(len(v))
		end = sp.End
		if !sp.HasEnd {
			if sp.Bit {
				end = total<<3 + 7
			} else {
				end = total - 1
			}
		}
		if sp.Bit {
			total <<= 3
		}
		start, end = clampRange(sp.Start, end, total)
	}
	if start > end {
		return -1
	}
	first, last := start<<3, end<<3+7 // bit indexes
	if sp.Bit {
		first, last = start, end
	}
	if p := findBit(v, bit, first, last); p >= 0 {
		return p
	}
	if bit == 1 || sp.HasEnd {
		return -1
	}
	return last + 1
}

// findBit returns the index of the first bit equal to bit in bits
// [first, last] of v (all within v), or -1.
func findBit(v []byte, bit int, first, last int64) int64 {
	skip := byte(0)
	if bit == 0 {
		skip = 0xff
	}
	i := first
	for i <= last {
		if i&7 == 0 && last-i >= 7 {
			// A whole byte: skip runs of bytes without the bit, a word at a time.
			b := i >> 3
			lastByte := (last+1)>>3 - 1 // the last whole byte
			for b+8 <= lastByte+1 {
				w := binary.LittleEndian.Uint64(v[b:])
				if (bit == 1 && w != 0) || (bit == 0 && w != ^uint64(0)) {
					break
				}
				b += 8
			}
			for b <= lastByte && v[b] == skip {
				b++
			}
			i = b << 3
			if b > lastByte {
				continue
			}
		}
		if GetBit(v, i) == bit {
			return i
		}
		i++
	}
	return -1
}

// BitOpKind is the operation of BITOP.
type BitOpKind int

const (
	BitAnd BitOpKind = iota
	BitOr
	BitXor
	BitNot
)

// String returns the operation's name as BITOP takes it.
func (k BitOpKind) String() string {
	switch k {
	case BitAnd:
		return "AND"
	case BitOr:
		return "OR"
	case BitXor:
		return "XOR"
	case BitNot:
		return "NOT"
	}
	return "?"
}

// ParseBitOp parses the operation argument of BITOP.
func ParseBitOp(b []byte) (BitOpKind, bool) {
	switch {
	case equalFold(b, "AND"):
		return BitAnd, true
	case equalFold(b, "OR"):
		return BitOr, true
	case equalFold(b, "XOR"):
		return BitXor, true
	case equalFold(b, "NOT"):
		return BitNot, true
	}
	return 0, false
}

// BitOpLen is the length of BITOP's result: that of the longest source.
// Zero means that BITOP deletes the destination.
func BitOpLen(srcs [][]byte) int {
	n := 0
	for _, s := range srcs {
		n = max(n, len(s))
	}
	return n
}

// BitOp computes BITOP op over srcs (a missing key is an empty value;
// NOT takes exactly one). The result is as long as the longest source,
// shorter ones counting as zero-padded; it is nil when every source is
// empty (BITOP then deletes the destination).
func BitOp(op BitOpKind, srcs [][]byte) []byte {
	n := BitOpLen(srcs)
	if n == 0 {
		return nil
	}
	out := make([]byte, n)
	BitOpInto(out, op, srcs)
	return out
}

// BitOpInto computes BITOP into dst, zeroed and of length BitOpLen(srcs)
// (at least one source).
func BitOpInto(out []byte, op BitOpKind, srcs [][]byte) {
	copy(out, srcs[0])
	if op == BitNot {
		for i := range out {
			out[i] = ^out[i]
		}
		return
	}
	for _, s := range srcs[1:] {
		switch op {
		case BitAnd:
			for i := range out {
				if i < len(s) {
					out[i] &= s[i]
				} else {
					out[i] = 0
				}
			}
		case BitOr:
			for i := range s {
				out[i] |= s[i]
			}
		case BitXor:
			for i := range s {
				out[i] ^= s[i]
			}
		}
	}
}

// ParseBitOffset parses a bit offset argument as Redis does for SETBIT,
// GETBIT and BITFIELD: a non-negative integer whose byte (offset/8) lies
// below maxBulk. With hash (BITFIELD) and bits > 0, "#n" means n*bits,
// multiplied with Redis's wrap-around on overflow.
func ParseBitOffset(arg []byte, hash bool, nbits int, maxBulk int64) (int64, error) {
	use := hash && nbits > 0 && len(arg) > 0 && arg[0] == '#'
	if use {
		arg = arg[1:]
	}
	n, ok := ParseInt(arg)
	if !ok {
		return 0, ErrBitOffset
	}
	if use {
		n *= int64(nbits) // wraps as Redis's long long multiplication does
	}
	if n < 0 || n>>3 >= maxBulk {
		return 0, ErrBitOffset
	}
	return n, nil
}

// ParseBitValue parses SETBIT's bit argument.
func ParseBitValue(arg []byte) (int, error) {
	n, ok := ParseInt(arg)
	if !ok || n&^1 != 0 {
		return 0, ErrBitValue
	}
	return int(n), nil
}

// ParseBitArg parses BITPOS's bit argument.
func ParseBitArg(arg []byte) (int, error) {
	n, ok := ParseInt(arg)
	if !ok {
		return 0, ErrNotInteger
	}
	if n != 0 && n != 1 {
		return 0, ErrBitArg
	}
	return int(n), nil
}

// parseUnit parses BYTE or BIT.
func parseUnit(b []byte) (bit bool, err error) {
	switch {
	case equalFold(b, "BIT"):
		return true, nil
	case equalFold(b, "BYTE"):
		return false, nil
	}
	return false, ErrSyntax
}

// ParseBitCountSpan parses the arguments of BITCOUNT after the key:
// nothing, or start end [BYTE|BIT].
func ParseBitCountSpan(args [][]byte) (Span, error) {
	var sp Span
	switch len(args) {
	case 0:
		return sp, nil
	case 2, 3:
	default:
		return sp, ErrSyntax
	}
	var ok bool
	if sp.Start, ok = ParseInt(args[0]); !ok {
		return sp, ErrNotInteger
	}
	if sp.End, ok = ParseInt(args[1]); !ok {
		return sp, ErrNotInteger
	}
	sp.HasStart, sp.HasEnd = true, true
	if len(args) == 3 {
		var err error
		if sp.Bit, err = parseUnit(args[2]); err != nil {
			return sp, err
		}
	}
	return sp, nil
}

// ParseBitPosSpan parses the arguments of BITPOS after the bit: nothing,
// start, start end, or start end BYTE|BIT.
func ParseBitPosSpan(args [][]byte) (Span, error) {
	var sp Span
	if len(args) == 0 {
		return sp, nil
	}
	if len(args) > 3 {
		return sp, ErrSyntax
	}
	var ok bool
	if sp.Start, ok = ParseInt(args[0]); !ok {
		return sp, ErrNotInteger
	}
	sp.HasStart = true
	if len(args) == 3 {
		var err error
		if sp.Bit, err = parseUnit(args[2]); err != nil {
			return sp, err
		}
	}
	if len(args) >= 2 {
		if sp.End, ok = ParseInt(args[1]); !ok {
			return sp, ErrNotInteger
		}
		sp.HasEnd = true
	}
	return sp, nil
}
