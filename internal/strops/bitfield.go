package strops

import "math"

// FieldOpKind is a BITFIELD subcommand.
type FieldOpKind uint8

const (
	FieldGet FieldOpKind = iota
	FieldSet
	FieldIncrBy
)

// Overflow is BITFIELD's OVERFLOW behaviour.
type Overflow uint8

const (
	OverflowWrap Overflow = iota
	OverflowSat
	OverflowFail
)

// String returns the name OVERFLOW takes.
func (o Overflow) String() string {
	switch o {
	case OverflowSat:
		return "SAT"
	case OverflowFail:
		return "FAIL"
	}
	return "WRAP"
}

// FieldOp is one GET, SET or INCRBY of BITFIELD, with the OVERFLOW in
// effect for it.
type FieldOp struct {
	Kind     FieldOpKind
	Signed   bool
	Bits     int   // 1..64 signed, 1..63 unsigned
	Offset   int64 // in bits, absolute ("#n" already multiplied)
	Value    int64 // SET's value or INCRBY's increment
	Overflow Overflow
}

// FieldResult is one reply of BITFIELD: a value, or Nil when an
// OVERFLOW FAIL refused the write.
type FieldResult struct {
	Value int64
	Nil   bool
}

// ParseFieldType parses a BITFIELD type: i1..i64 or u1..u63.
func ParseFieldType(b []byte) (signed bool, nbits int, err error) {
	if len(b) == 0 || (b[0] != 'i' && b[0] != 'u') {
		return false, 0, ErrBitFieldType
	}
	signed = b[0] == 'i'
	n, ok := parseCInt(b[1:])
	if !ok || n < 1 || (signed && n > 64) || (!signed && n > 63) {
		return false, 0, ErrBitFieldType
	}
	return signed, int(n), nil
}

// parseCInt is ParseInt for an argument Redis reads as a C string: it
// stops at the first NUL byte.
func parseCInt(b []byte) (int64, bool) {
	for i, c := range b {
		if c == 0 {
			b = b[:i]
			break
		}
	}
	return ParseInt(b)
}

// ParseBitField parses the arguments of BITFIELD after the key, as Redis
// 7.0 does: the first error in argument order wins, and BITFIELD_RO
// (readOnly) refuses SET and INCRBY once everything else parsed. maxBulk
// bounds the offsets (offset/8 < maxBulk). The ops slice grows with the
// number of arguments only.
func ParseBitField(args [][]byte, readOnly bool, maxBulk int64) ([]FieldOp, error) {
	var ops []FieldOp
	ow := OverflowWrap
	writes := false
	for j := 0; j < len(args); j++ {
		rem := len(args) - j - 1
		sub := args[j]
		var op FieldOp
		switch {
		case equalFold(sub, "GET") && rem >= 2:
			op.Kind = FieldGet
		case equalFold(sub, "SET") && rem >= 3:
			op.Kind = FieldSet
		case equalFold(sub, "INCRBY") && rem >= 3:
			op.Kind = FieldIncrBy
		case equalFold(sub, "OVERFLOW") && rem >= 1:
			j++
			switch t := args[j]; {
			case equalFold(t, "WRAP"):
				ow = OverflowWrap
			case equalFold(t, "SAT"):
				ow = OverflowSat
			case equalFold(t, "FAIL"):
				ow = OverflowFail
			default:
				return nil, ErrOverflowType
			}
			continue
		default:
			return nil, ErrSyntax
		}
		var err error
		if op.Signed, op.Bits, err = ParseFieldType(args[j+1]); err != nil {
			return nil, err
		}
		if op.Offset, err = ParseBitOffset(args[j+2], true, op.Bits, maxBulk); err != nil {
			return nil, err
		}
		if op.Kind != FieldGet {
			writes = true
			var ok bool
			if op.Value, ok = ParseInt(args[j+3]); !ok {
				return nil, ErrNotInteger
			}
			j += 3
		} else {
			j += 2
		}
		op.Overflow = ow
		ops = append(ops, op)
	}
	if readOnly && writes {
		return nil, ErrBitFieldRO
	}
	return ops, nil
}

// FieldWriteEnd returns the length in bytes a value must have for ops'
// writes (0 when there are none): BITFIELD grows the value to reach its
// farthest written bit.
func FieldWriteEnd(ops []FieldOp) int64 {
	var end int64
	for _, op := range ops {
		if op.Kind != FieldGet {
			end = max(end, (op.Offset+int64(op.Bits)-1)>>3+1)
		}
	}
	return end
}

// BitField runs ops on old, as Redis's BITFIELD does. When ops write, the
// value first grows (zero-padded) to FieldWriteEnd(ops) bytes, whose size
// the caller has checked; out is then the new value (a fresh slice) and
// changed reports whether it differs from old in length or content — the
// condition under which Redis propagates the command. Without writes out
// is nil. results has one entry per op.
func BitField(old []byte, ops []FieldOp) (out []byte, results []FieldResult, changed bool) {
	if n := FieldValueLen(len(old), ops); n > 0 {
		out = make([]byte, n)
	}
	results, changed = BitFieldInto(out, old, ops)
	return out, results, changed
}

// FieldValueLen is the length of the value BITFIELD leaves when its ops
// write, 0 when they only read.
func FieldValueLen(oldLen int, ops []FieldOp) int64 {
	if end := FieldWriteEnd(ops); end > 0 {
		return max(int64(oldLen), end)
	}
	return 0
}

// BitFieldInto is BitField building the new value in dst, zeroed and of
// length FieldValueLen (nil when the ops only read).
func BitFieldInto(dst, old []byte, ops []FieldOp) (results []FieldResult, changed bool) {
	results = make([]FieldResult, len(ops))
	v := old
	if dst != nil {
		copy(dst, old)
		changed = len(dst) != len(old)
		v = dst
	}
	for i, op := range ops {
		if op.Kind == FieldGet {
			u := getField(v, op.Offset, op.Bits)
			if op.Signed {
				results[i].Value = signExtend(u, op.Bits)
			} else {
				results[i].Value = int64(u)
			}
			continue
		}
		var oldU, newU uint64
		var ret int64
		var overflow bool
		oldU = getField(v, op.Offset, op.Bits)
		if op.Signed {
			oldV := signExtend(oldU, op.Bits)
			var newV, wrapped int64
			if op.Kind == FieldIncrBy {
				var o int
				o, wrapped = signedOverflow(oldV, op.Value, op.Bits, op.Overflow)
				overflow = o != 0
				newV = oldV + op.Value
				if overflow {
					newV = wrapped
				}
				ret = newV
			} else {
				newV = op.Value
				var o int
				o, wrapped = signedOverflow(newV, 0, op.Bits, op.Overflow)
				overflow = o != 0
				if overflow {
					newV = wrapped
				}
				ret = oldV
			}
			newU = uint64(newV)
		} else {
			var wrapped uint64
			if op.Kind == FieldIncrBy {
				newU = oldU + uint64(op.Value)
				var o int
				o, wrapped = unsignedOverflow(oldU, op.Value, op.Bits, op.Overflow)
				overflow = o != 0
				if overflow {
					newU = wrapped
				}
				ret = int64(newU)
			} else {
				newU = uint64(op.Value)
				var o int
				o, wrapped = unsignedOverflow(newU, 0, op.Bits, op.Overflow)
				overflow = o != 0
				if overflow {
					newU = wrapped
				}
				ret = int64(oldU)
			}
		}
		if overflow && op.Overflow == OverflowFail {
			results[i].Nil = true
			continue
		}
		results[i].Value = ret
		setField(v, op.Offset, op.Bits, newU)
		if getMask(oldU, op.Bits) != getMask(newU, op.Bits) {
			changed = true
		}
	}
	return results, changed
}

// getMask keeps the low n bits of u: what setField stores of it.
func getMask(u uint64, n int) uint64 {
	if n == 64 {
		return u
	}
	return u & (1<<n - 1)
}

// getField reads an n-bit big-endian unsigned field at bit offset off;
// bits past the end of v read as 0.
func getField(v []byte, off int64, n int) uint64 {
	var u uint64
	for j := range int64(n) {
		u = u<<1 | uint64(GetBit(v, off+j))
	}
	return u
}

// setField writes the low n bits of u at bit offset off (within v).
func setField(v []byte, off int64, n int, u uint64) {
	for j := range int64(n) {
		b := (u >> (n - 1 - int(j))) & 1
		o := off + j
		mask := byte(1) << (7 - o&7)
		if b != 0 {
			v[o>>3] |= mask
		} else {
			v[o>>3] &^= mask
		}
	}
}

func signExtend(u uint64, n int) int64 {
	v := int64(u)
	if n < 64 && v&(1<<(n-1)) != 0 {
		v |= -1 << n
	}
	return v
}

// unsignedOverflow is Redis's checkUnsignedBitfieldOverflow: 1 on
// overflow, -1 on underflow, 0 otherwise, with the value to store under
// WRAP or SAT.
func unsignedOverflow(value uint64, incr int64, n int, ow Overflow) (int, uint64) {
	maxV := uint64(math.MaxUint64)
	if n < 64 {
		maxV = 1<<n - 1
	}
	maxIncr := int64(maxV - value)
	minIncr := -int64(value)
	wrap := func() uint64 {
		res := value + uint64(incr)
		if n < 64 {
			res &= 1<<n - 1
		}
		return res
	}
	if value > maxV || (incr > 0 && incr > maxIncr) {
		switch ow {
		case OverflowWrap:
			return 1, wrap()
		case OverflowSat:
			return 1, maxV
		}
		return 1, 0
	} else if incr < 0 && incr < minIncr {
		switch ow {
		case OverflowWrap:
			return -1, wrap()
		case OverflowSat:
			return -1, 0
		}
		return -1, 0
	}
	return 0, 0
}

// signedOverflow is Redis's checkSignedBitfieldOverflow.
func signedOverflow(value, incr int64, n int, ow Overflow) (int, int64) {
	maxV := int64(math.MaxInt64)
	if n < 64 {
		maxV = 1<<(n-1) - 1
	}
	minV := -maxV - 1
	maxIncr := int64(uint64(maxV) - uint64(value))
	minIncr := minV - value
	wrap := func() int64 {
		c := uint64(value) + uint64(incr)
		if n < 64 {
			mask := uint64(math.MaxUint64) << n
			if c&(1<<(n-1)) != 0 {
				c |= mask
			} else {
				c &^= mask
			}
		}
		return int64(c)
	}
	if value > maxV || (n != 64 && incr > maxIncr) || (value >= 0 && incr > 0 && incr > maxIncr) {
		switch ow {
		case OverflowWrap:
			return 1, wrap()
		case OverflowSat:
			return 1, maxV
		}
		return 1, 0
	} else if value < minV || (n != 64 && incr < minIncr) || (value < 0 && incr < 0 && incr < minIncr) {
		switch ow {
		case OverflowWrap:
			return -1, wrap()
		case OverflowSat:
			return -1, minV
		}
		return -1, 0
	}
	return 0, 0
}
