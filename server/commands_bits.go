package server

import (
	"errors"

	"github.com/replikv/replikv"
	"github.com/replikv/replikv/internal/strops"
)

// bitCommands are the string commands on ranges, bits and floats. Their
// arguments are parsed by internal/strops exactly as Redis 7.0 parses
// them (same checks, same order, same error texts); the store computes
// with the same functions.
func bitCommands() []*command {
	const r, w = fData, fData | fWrite
	return []*command{
		cmd("setrange", 4, w|fDenyOOM, 1, 1, 1, setrangeCmd),
		cmd("getrange", 4, r, 1, 1, 1, getrangeCmd),
		cmd("substr", 4, r, 1, 1, 1, getrangeCmd),
		cmd("setbit", 4, w|fDenyOOM, 1, 1, 1, setbitCmd),
		cmd("getbit", 3, r|fFast, 1, 1, 1, getbitCmd),
		cmd("bitcount", -2, r, 1, 1, 1, bitcountCmd),
		cmd("bitpos", -3, r, 1, 1, 1, bitposCmd),
		cmd("bitop", -4, w|fDenyOOM, 2, -1, 1, bitopCmd),
		cmd("bitfield", -2, w|fDenyOOM, 1, 1, 1, bitfieldCmd(false)),
		cmd("bitfield_ro", -2, r|fFast, 1, 1, 1, bitfieldCmd(true)),
		cmd("lcs", -3, r, 1, 2, 1, lcsCmd),
		cmd("incrbyfloat", 3, w|fDenyOOM|fFast, 1, 1, 1, incrbyfloatCmd),
	}
}

// maxBulk is the store's proto-max-bulk-len, which bounds bit offsets.
func (x *call) maxBulk() int64 { return x.s.store.Config().MaxBulkLen }

// argErr replies a parse error of internal/strops (Redis's text).
func (x *call) argErr(err error) { x.r.err("ERR " + err.Error()) }

// bitsFail replies an error of the partial string operations of the
// store, with Redis's texts for the errors of its own.
func (x *call) bitsFail(err error) {
	switch {
	case errors.Is(err, replikv.ErrBitOffset):
		x.argErr(strops.ErrBitOffset)
	case errors.Is(err, replikv.ErrNotFloat):
		x.argErr(strops.ErrNotFloat)
	case errors.Is(err, replikv.ErrNaNOrInfinity):
		x.argErr(strops.ErrNaNOrInfinity)
	default:
		x.fail(err)
	}
}

// setrangeCmd is SETRANGE key offset value.
func setrangeCmd(x *call) {
	offset, ok := parseInt(x.args[2])
	if !ok {
		x.r.err(errNotInteger)
		return
	}
	if offset < 0 {
		x.argErr(strops.ErrOffsetRange)
		return
	}
	n, err := x.db.SetRange(x.key(1), offset, x.args[3])
	if err != nil {
		x.bitsFail(err)
		return
	}
	x.r.int(int64(n))
}

// getrangeCmd is GETRANGE (and SUBSTR) key start end.
func getrangeCmd(x *call) {
	start, ok1 := parseInt(x.args[2])
	end, ok2 := parseInt(x.args[3])
	if !ok1 || !ok2 {
		x.r.err(errNotInteger)
		return
	}
	v, err := x.db.GetRange(x.key(1), start, end)
	if err != nil {
		x.fail(err)
		return
	}
	x.r.bulk(v)
}

// setbitCmd is SETBIT key offset bit.
func setbitCmd(x *call) {
	offset, err := strops.ParseBitOffset(x.args[2], false, 0, x.maxBulk())
	if err != nil {
		x.argErr(err)
		return
	}
	bit, err := strops.ParseBitValue(x.args[3])
	if err != nil {
		x.argErr(err)
		return
	}
	prev, err := x.db.SetBit(x.key(1), offset, bit)
	if err != nil {
		x.bitsFail(err)
		return
	}
	x.r.int(int64(prev))
}

// getbitCmd is GETBIT key offset.
func getbitCmd(x *call) {
	offset, err := strops.ParseBitOffset(x.args[2], false, 0, x.maxBulk())
	if err != nil {
		x.argErr(err)
		return
	}
	bit, err := x.db.GetBit(x.key(1), offset)
	if err != nil {
		x.bitsFail(err)
		return
	}
	x.r.int(int64(bit))
}

// bitRange converts a parsed range for the store (nil: the whole value).
func bitRange(sp strops.Span) *replikv.BitRange {
	if !sp.HasStart {
		return nil
	}
	return &replikv.BitRange{Start: sp.Start, End: sp.End, NoEnd: !sp.HasEnd, Bits: sp.Bit}
}

// bitcountCmd is BITCOUNT key [start end [BYTE|BIT]]. As in Redis 7.0, a
// missing key counts 0 before its other arguments are looked at.
func bitcountCmd(x *call) {
	sp, perr := strops.ParseBitCountSpan(x.args[2:])
	if perr != nil {
		if !x.db.Exists(x.key(1)) {
			x.r.int(0)
			return
		}
		x.argErr(perr)
		return
	}
	n, err := x.db.BitCount(x.key(1), bitRange(sp))
	if err != nil {
		x.fail(err)
		return
	}
	x.r.int(n)
}

// bitposCmd is BITPOS key bit [start [end [BYTE|BIT]]]. As in Redis 7.0,
// the bit is checked first, then a missing key answers before the range
// is looked at.
func bitposCmd(x *call) {
	bit, err := strops.ParseBitArg(x.args[2])
	if err != nil {
		x.argErr(err)
		return
	}
	sp, perr := strops.ParseBitPosSpan(x.args[3:])
	if perr != nil {
		if !x.db.Exists(x.key(1)) {
			x.r.int(int64(-bit)) // -1 looking for a 1, 0 for a 0
			return
		}
		x.argErr(perr)
		return
	}
	n, err := x.db.BitPos(x.key(1), bit, bitRange(sp))
	if err != nil {
		x.fail(err)
		return
	}
	x.r.int(n)
}

// bitopCmd is BITOP AND|OR|XOR|NOT destkey key [key ...].
func bitopCmd(x *call) {
	op, ok := strops.ParseBitOp(x.args[1])
	if !ok {
		x.r.err(errSyntax)
		return
	}
	if op == strops.BitNot && len(x.args) != 4 {
		x.argErr(strops.ErrBitOpNot)
		return
	}
	n, err := x.db.BitOp(replikv.BitOp(op), x.key(2), x.keys(3)...)
	if err != nil {
		x.fail(err)
		return
	}
	x.r.int(int64(n))
}

// bitfieldCmd is BITFIELD key [GET type offset | SET type offset value |
// INCRBY type offset increment | OVERFLOW WRAP|SAT|FAIL] ..., or
// BITFIELD_RO key [GET type offset ...] (ro).
func bitfieldCmd(ro bool) func(*call) {
	return func(x *call) {
		parsed, err := strops.ParseBitField(x.args[2:], ro, x.maxBulk())
		if err != nil {
			x.argErr(err)
			return
		}
		ops := make([]replikv.BitFieldOp, len(parsed))
		for i, op := range parsed {
			ops[i] = replikv.BitFieldOp{Op: replikv.BitFieldOpKind(op.Kind), Signed: op.Signed, Bits: op.Bits,
				Offset: op.Offset, Value: op.Value, Overflow: replikv.BitFieldOverflow(op.Overflow)}
		}
		var res []replikv.BitFieldResult
		if ro {
			res, err = x.db.BitFieldRO(x.key(1), ops)
		} else {
			res, err = x.db.BitField(x.key(1), ops)
		}
		if err != nil {
			x.bitsFail(err)
			return
		}
		x.r.array(len(res))
		for _, r := range res {
			if r.Failed {
				x.r.null()
			} else {
				x.r.int(r.Value)
			}
		}
	}
}

// lcsCmd is LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN].
func lcsCmd(x *call) {
	o, err := strops.ParseLCS(x.args[3:])
	if err != nil {
		x.argErr(err)
		return
	}
	a, b := x.key(1), x.key(2)
	lcsErr := func(err error) {
		if errors.Is(err, replikv.ErrTooLarge) {
			x.argErr(strops.ErrLCSMemory)
			return
		}
		x.fail(err)
	}
	switch {
	case o.Len:
		n, err := x.db.LCSLen(a, b)
		if err != nil {
			lcsErr(err)
			return
		}
		x.r.int(int64(n))
	case o.Idx:
		ms, n, err := x.db.LCSIdx(a, b, int(min(o.MinMatchLen, 1<<31)))
		if err != nil {
			lcsErr(err)
			return
		}
		x.r.array(4)
		x.r.bulkString("matches")
		x.r.array(len(ms))
		for _, m := range ms {
			if o.WithMatchLen {
				x.r.array(3)
			} else {
				x.r.array(2)
			}
			x.r.array(2)
			x.r.int(int64(m.A[0]))
			x.r.int(int64(m.A[1]))
			x.r.array(2)
			x.r.int(int64(m.B[0]))
			x.r.int(int64(m.B[1]))
			if o.WithMatchLen {
				x.r.int(int64(m.Len))
			}
		}
		x.r.bulkString("len")
		x.r.int(int64(n))
	default:
		v, err := x.db.LCS(a, b)
		if err != nil {
			lcsErr(err)
			return
		}
		x.r.bulk(v)
	}
}

// incrbyfloatCmd is INCRBYFLOAT key increment.
func incrbyfloatCmd(x *call) {
	v, err := x.db.IncrByFloatText(x.key(1), string(x.args[2]))
	if err != nil {
		x.bitsFail(err)
		return
	}
	x.r.bulkString(v)
}
