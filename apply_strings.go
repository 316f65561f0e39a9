package replikv

import (
	"fmt"

	"github.com/replikv/replikv/internal/strops"
)

// stringApplyHandlers are the apply handlers of the string commands that
// work on parts of a value (ranges, bits, floats).
//
// A replica applies what its primary propagated: the command as the
// client sent it (SETRANGE, SETBIT, BITOP, BITFIELD) or, for a primary
// that sends it raw, INCRBYFLOAT (Redis propagates SET … KEEPTTL
// instead). It computes with the same functions as the primary
// (internal/strops), on the value it holds whatever its deadline (the
// primary's DEL removes expired keys), so it ends with the primary's
// value byte for byte, zero padding included. Values are bounded by
// Config.MaxBulkLen as on the primary: a command the primary accepted
// under a larger limit fails here (counted in Info().Master).
func stringApplyHandlers() map[string]applyHandler {
	return map[string]applyHandler{
		"setrange":    {minArgs: 4, fn: applySetRange},
		"setbit":      {minArgs: 4, fn: applySetBit},
		"bitop":       {minArgs: 4, multiKey: true, keysOf: bitOpKeys, fn: applyBitOp},
		"bitfield":    {minArgs: 2, fn: applyBitField},
		"incrbyfloat": {minArgs: 3, fn: applyIncrByFloat},
	}
}

// applyValue returns key's bucket, value and deadline as applying sees
// them: present whatever the deadline.
func (s *Store) applyValue(key string) (*shard, int, []byte, int64) {
	sh, i := s.findLocked(key)
	if i < 0 {
		return sh, i, nil, 0
	}
	return sh, i, sh.t.slots[i].value(), sh.t.slots[i].deadline()
}

func applySetRange(s *Store, args [][]byte) error {
	key := unsafeString(args[1])
	offset, ok := parseInt(args[2])
	if !ok || offset < 0 {
		return fmt.Errorf("%w: SETRANGE offset %q", ErrSyntax, args[2])
	}
	if len(args[3]) == 0 {
		return nil
	}
	sh, i, old, deadline := s.applyValue(key)
	n, ok := strops.SetRangeLen(len(old), offset, len(args[3]), s.cfg.MaxBulkLen)
	if !ok {
		return ErrTooLarge
	}
	it, v := allocItem(key, int(n), deadline)
	strops.SetRangeInto(v, old, offset, args[3])
	s.putLocked(sh, i, it)
	return nil
}

func applySetBit(s *Store, args [][]byte) error {
	key := unsafeString(args[1])
	offset, err := strops.ParseBitOffset(args[2], false, 0, s.cfg.MaxBulkLen)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBitOffset, err)
	}
	bit, err := strops.ParseBitValue(args[3])
	if err != nil {
		return fmt.Errorf("%w: SETBIT bit %q", ErrSyntax, args[3])
	}
	sh, i, old, deadline := s.applyValue(key)
	if _, n := strops.SetBitPlan(old, offset, bit); n > 0 {
		it, v := allocItem(key, int(n), deadline)
		strops.SetBitInto(v, old, offset, bit)
		s.putLocked(sh, i, it)
	}
	return nil
}

// bitOpKeys lists BITOP's keys: the destination and the sources.
func bitOpKeys(args [][]byte) []string {
	keys := make([]string, 0, len(args)-2)
	for _, a := range args[2:] {
		keys = append(keys, unsafeString(a))
	}
	return keys
}

func applyBitOp(s *Store, args [][]byte) error {
	op, ok := strops.ParseBitOp(args[1])
	if !ok {
		return fmt.Errorf("%w: BITOP operation %q", ErrSyntax, args[1])
	}
	if op == strops.BitNot && len(args) != 4 {
		return fmt.Errorf("%w: BITOP NOT with %d source keys", ErrSyntax, len(args)-3)
	}
	vals := make([][]byte, len(args)-3)
	for j, k := range args[3:] {
		_, _, vals[j], _ = s.applyValue(unsafeString(k))
	}
	n := strops.BitOpLen(vals)
	dest := unsafeString(args[2])
	if n == 0 {
		s.removeLocked(dest)
		return nil
	}
	it, v := allocItem(dest, n, 0)
	strops.BitOpInto(v, op, vals)
	sh, i := s.findLocked(dest)
	s.putLocked(sh, i, it)
	return nil
}

func applyBitField(s *Store, args [][]byte) error {
	ops, err := strops.ParseBitField(args[2:], false, s.cfg.MaxBulkLen)
	if err != nil {
		return fmt.Errorf("%w: BITFIELD: %v", ErrSyntax, err)
	}
	if strops.FieldWriteEnd(ops) > maxStoredLen(s.cfg.MaxBulkLen) {
		return ErrTooLarge
	}
	key := unsafeString(args[1])
	sh, i, old, deadline := s.applyValue(key)
	n := strops.FieldValueLen(len(old), ops)
	if n == 0 {
		return nil
	}
	it, v := allocItem(key, int(n), deadline)
	if _, changed := strops.BitFieldInto(v, old, ops); changed {
		s.putLocked(sh, i, it)
	}
	return nil
}

func applyIncrByFloat(s *Store, args [][]byte) error {
	incr, ok := strops.ParseLongDouble(args[2])
	if !ok {
		return ErrNotFloat
	}
	key := unsafeString(args[1])
	sh, i, old, deadline := s.applyValue(key)
	v, err := strops.IncrByFloat(old, i >= 0, incr)
	if err != nil {
		return fmt.Errorf("%w: INCRBYFLOAT: %v", ErrSyntax, err)
	}
	if int64(len(v)) > s.cfg.MaxBulkLen {
		return ErrTooLarge
	}
	s.putLocked(sh, i, newItem(key, v, deadline))
	return nil
}
