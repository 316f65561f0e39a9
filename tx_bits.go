package replikv

import (
	"fmt"

	"github.com/replikv/replikv/internal/strops"
)

// The partial string operations of write_bits.go inside a transaction:
// same semantics, same stream commands (collected with the transaction's
// others).

// valueLocked returns key's value for a read inside the transaction (nil
// when missing or expired).
func (tx *Tx) valueLocked(key string) []byte {
	sh, i := tx.s.lookupLocked(key)
	if i < 0 || tx.s.expired(&sh.t.slots[i], tx.s.nowMs()) {
		return nil
	}
	return sh.t.slots[i].value()
}

// SetRange is Store.SetRange inside the transaction.
func (tx *Tx) SetRange(key string, offset int64, value []byte) (int, error) {
	if err := tx.grow(); err != nil {
		return 0, err
	}
	if err := tx.checkKey(key, true); err != nil {
		return 0, err
	}
	if err := tx.s.checkSizes(key, nil); err != nil {
		return 0, err
	}
	return tx.s.setRangeLocked(key, offset, value)
}

// GetRange is Store.GetRange inside the transaction.
func (tx *Tx) GetRange(key string, start, end int64) ([]byte, error) {
	if err := tx.checkKey(key, false); err != nil {
		return nil, err
	}
	return cloneBytes(strops.GetRange(tx.valueLocked(key), start, end)), nil
}

// SetBit is Store.SetBit inside the transaction.
func (tx *Tx) SetBit(key string, offset int64, bit int) (int, error) {
	if err := tx.grow(); err != nil {
		return 0, err
	}
	if err := tx.checkKey(key, true); err != nil {
		return 0, err
	}
	if err := tx.s.checkSetBit(key, offset, bit); err != nil {
		return 0, err
	}
	return tx.s.setBitLocked(key, offset, bit), nil
}

// GetBit is Store.GetBit inside the transaction.
func (tx *Tx) GetBit(key string, offset int64) (int, error) {
	if err := tx.checkKey(key, false); err != nil {
		return 0, err
	}
	if err := tx.s.checkBitOffset(offset); err != nil {
		return 0, err
	}
	return strops.GetBit(tx.valueLocked(key), offset), nil
}

// BitCount is Store.BitCount inside the transaction.
func (tx *Tx) BitCount(key string, r *BitRange) (int64, error) {
	if err := tx.checkKey(key, false); err != nil {
		return 0, err
	}
	return strops.BitCount(tx.valueLocked(key), r.span()), nil
}

// BitPos is Store.BitPos inside the transaction.
func (tx *Tx) BitPos(key string, bit int, r *BitRange) (int64, error) {
	if err := tx.checkKey(key, false); err != nil {
		return 0, err
	}
	if bit != 0 && bit != 1 {
		return 0, fmt.Errorf("%w: bit %d is not 0 or 1", ErrInvalidArgument, bit)
	}
	sh, i := tx.s.lookupLocked(key)
	if i < 0 || tx.s.expired(&sh.t.slots[i], tx.s.nowMs()) {
		if bit == 1 {
			return -1, nil
		}
		return 0, nil
	}
	return strops.BitPos(sh.t.slots[i].value(), bit, r.span()), nil
}

// BitOp is Store.BitOp inside the transaction.
func (tx *Tx) BitOp(op BitOp, dest string, srcs ...string) (int, error) {
	if err := tx.grow(); err != nil {
		return 0, err
	}
	if err := tx.checkKey(dest, true); err != nil {
		return 0, err
	}
	for _, k := range srcs {
		if err := tx.checkKey(k, false); err != nil {
			return 0, err
		}
	}
	if err := tx.s.checkBitOp(op, dest, srcs); err != nil {
		return 0, err
	}
	return tx.s.bitOpLocked(op, dest, srcs), nil
}

// BitField is Store.BitField inside the transaction.
func (tx *Tx) BitField(key string, ops []BitFieldOp) ([]BitFieldResult, error) {
	if err := tx.grow(); err != nil {
		return nil, err
	}
	if err := tx.checkKey(key, true); err != nil {
		return nil, err
	}
	fops, writes, err := tx.s.fieldOps(ops)
	if err != nil {
		return nil, err
	}
	if writes {
		if err := tx.s.checkSizes(key, nil); err != nil {
			return nil, err
		}
	}
	return tx.s.bitFieldLocked(key, fops), nil
}

// BitFieldRO is Store.BitFieldRO inside the transaction.
func (tx *Tx) BitFieldRO(key string, ops []BitFieldOp) ([]BitFieldResult, error) {
	if err := tx.checkKey(key, false); err != nil {
		return nil, err
	}
	fops, writes, err := tx.s.fieldOps(ops)
	if err != nil {
		return nil, err
	}
	if writes {
		return nil, fmt.Errorf("%w: BitFieldRO only supports Get", ErrInvalidArgument)
	}
	_, res, _ := strops.BitField(tx.valueLocked(key), fops)
	return fieldResults(res), nil
}

func (tx *Tx) lcs(keyA, keyB string, lenOnly bool, minMatchLen int64) (strops.LCSResult, error) {
	if err := tx.checkKey(keyA, false); err != nil {
		return strops.LCSResult{}, err
	}
	if err := tx.checkKey(keyB, false); err != nil {
		return strops.LCSResult{}, err
	}
	return tx.s.lcsOf(tx.valueLocked(keyA), tx.valueLocked(keyB), lenOnly, minMatchLen)
}

// LCS is Store.LCS inside the transaction.
func (tx *Tx) LCS(keyA, keyB string) ([]byte, error) {
	r, err := tx.lcs(keyA, keyB, false, 0)
	return r.Seq, err
}

// LCSLen is Store.LCSLen inside the transaction.
func (tx *Tx) LCSLen(keyA, keyB string) (int, error) {
	r, err := tx.lcs(keyA, keyB, true, 0)
	return int(r.Len), err
}

// LCSIdx is Store.LCSIdx inside the transaction.
func (tx *Tx) LCSIdx(keyA, keyB string, minMatchLen int) ([]LCSMatch, int, error) {
	r, err := tx.lcs(keyA, keyB, false, max(int64(minMatchLen), 0))
	if err != nil {
		return nil, 0, err
	}
	return lcsMatches(r.Matches), int(r.Len), nil
}

// IncrByFloat is Store.IncrByFloat inside the transaction.
func (tx *Tx) IncrByFloat(key string, incr float64) (string, error) {
	if err := tx.grow(); err != nil {
		return "", err
	}
	if err := tx.checkKey(key, true); err != nil {
		return "", err
	}
	x, ok := strops.Float64LD(incr)
	if !ok {
		return "", fmt.Errorf("%w: NaN increment", ErrNaNOrInfinity)
	}
	if err := tx.s.checkSizes(key, nil); err != nil {
		return "", err
	}
	return tx.s.incrByFloatLocked(key, x)
}

// IncrByFloatText is Store.IncrByFloatText inside the transaction.
func (tx *Tx) IncrByFloatText(key string, incr string) (string, error) {
	if err := tx.grow(); err != nil {
		return "", err
	}
	if err := tx.checkKey(key, true); err != nil {
		return "", err
	}
	x, ok := strops.ParseLongDouble([]byte(incr))
	if !ok {
		return "", ErrNotFloat
	}
	if err := tx.s.checkSizes(key, nil); err != nil {
		return "", err
	}
	return tx.s.incrByFloatLocked(key, x)
}
