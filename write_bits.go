package replikv

import (
	"fmt"
	"math/big"
	"strconv"
	"unsafe"

	"github.com/replikv/replikv/internal/strops"
)

// The string commands that work on parts of a value: ranges (SetRange,
// GetRange), bits (SetBit, GetBit, BitCount, BitPos, BitOp, BitField),
// LCS and IncrByFloat. They compute what Redis 7.0 computes, so that a
// replikv store and a Redis server replicate each other's streams.
//
// Memory: items are immutable once stored (readers hold slices of them),
// so every write here builds a new value: a write to a value of n bytes
// costs O(n) time and n bytes until the old value is released, however
// few bits it changes. A large offset costs memory even on a missing or
// short key: the value grows, zero-padded, to reach it (SetBit of offset
// 4294967295 makes a 512 MiB value). Offsets are bounded by
// Config.MaxBulkLen. When the new value has appendCopyFirst (64 KiB)
// bytes or more, it is built before the stream is locked, as Append does,
// so that the copy does not stall every other writer; it is stored if the
// key still holds the value it was built from, and built again under the
// locks otherwise.

// BitRange selects part of a value for BitCount and BitPos, as the start
// and end arguments of Redis's BITCOUNT and BITPOS do: from Start to End
// inclusive, a negative index counting from the end of the value (-1 is
// the last byte or bit), both clamped into the value.
type BitRange struct {
	Start, End int64
	// NoEnd gives only Start (BITPOS key bit start): the range runs to the
	// end of the value, and BitPos looking for a 0 bit past all ones
	// reports the first bit after the value. End is ignored.
	NoEnd bool
	// Bits counts Start and End in bits rather than bytes (the BIT
	// option).
	Bits bool
}

// span converts r (nil: the whole value) for strops.
func (r *BitRange) span() strops.Span {
	if r == nil {
		return strops.Whole
	}
	return strops.Span{Start: r.Start, End: r.End, HasStart: true, HasEnd: !r.NoEnd, Bit: r.Bits}
}

// BitOp is an operation of BitOp (Redis BITOP).
type BitOp int

const (
	BitAnd BitOp = BitOp(strops.BitAnd)
	BitOr  BitOp = BitOp(strops.BitOr)
	BitXor BitOp = BitOp(strops.BitXor)
	BitNot BitOp = BitOp(strops.BitNot)
)

// String returns the operation's name in BITOP: AND, OR, XOR or NOT.
func (op BitOp) String() string { return strops.BitOpKind(op).String() }

// BitFieldOpKind is the subcommand of a BitFieldOp.
type BitFieldOpKind uint8

const (
	BitFieldGet    BitFieldOpKind = BitFieldOpKind(strops.FieldGet)
	BitFieldSet    BitFieldOpKind = BitFieldOpKind(strops.FieldSet)
	BitFieldIncrBy BitFieldOpKind = BitFieldOpKind(strops.FieldIncrBy)
)

// BitFieldOverflow is what a BitFieldSet or BitFieldIncrBy does with a
// result that does not fit its field (BITFIELD … OVERFLOW).
type BitFieldOverflow uint8

const (
	// OverflowWrap keeps the low bits (two's complement for signed
	// fields), Redis's default.
	OverflowWrap BitFieldOverflow = BitFieldOverflow(strops.OverflowWrap)
	// OverflowSat stores the largest or smallest value of the field.
	OverflowSat BitFieldOverflow = BitFieldOverflow(strops.OverflowSat)
	// OverflowFail writes nothing and reports the operation Failed.
	OverflowFail BitFieldOverflow = BitFieldOverflow(strops.OverflowFail)
)

// BitFieldOp is one operation of BitField: read (Get), write (Set) or add
// to (IncrBy) the integer of Bits bits (1 to 64 signed, 1 to 63 unsigned)
// at bit Offset, most significant bit first. Offset is absolute: Redis's
// "#n" form is n*Bits.
type BitFieldOp struct {
	Op       BitFieldOpKind
	Signed   bool
	Bits     int
	Offset   int64
	Value    int64 // Set: the value; IncrBy: the increment
	Overflow BitFieldOverflow
}

// BitFieldResult is the reply of one BitFieldOp: the value read (Get), the
// previous value (Set), the new value (IncrBy), or Failed when
// OverflowFail refused the write.
type BitFieldResult struct {
	Value  int64
	Failed bool
}

// LCSMatch is one range of LCSIdx: bytes A[0] to A[1] of the first value
// match bytes B[0] to B[1] of the second (inclusive); Len is their length.
type LCSMatch struct {
	A, B [2]int
	Len  int
}

// prepared is a new item built outside the locks from the item a key
// held (see prepareLarge).
type prepared struct {
	it       slot
	was      unsafe.Pointer // the item it was built from; nil: the key was absent
	deadline int64
	ok       bool
}

// prepareLarge looks at key holding only its shard's read lock, then calls
// build without any lock with the value (nil when absent; the bytes of a
// stored item never change) and deadline it found. build returns the new
// item, or false when the result is small (below appendCopyFirst bytes),
// unchanged or refused: the write then runs wholly under the locks.
func (s *Store) prepareLarge(key string, build func(old []byte, deadline int64) (slot, bool)) prepared {
	h := hashKey(key)
	sh := s.shardOf(h)
	sh.mu.RLock()
	var sl slot
	var deadline int64
	if i := sh.t.find(key, h); i >= 0 {
		sl = sh.t.slots[i]
		deadline = sl.deadline()
	}
	sh.mu.RUnlock()
	var old []byte
	if sl.p != nil {
		old = sl.value()
	}
	it, ok := build(old, deadline)
	return prepared{it: it, was: sl.p, deadline: deadline, ok: ok}
}

// storePreparedLocked stores p's item if key still holds, with the same
// deadline (EXPIRE rewrites it in place), the item p was built from (or
// is still absent); it reports whether it did.
func (s *Store) storePreparedLocked(key string, p prepared) bool {
	if !p.ok {
		return false
	}
	sh, i := s.lookupLocked(key)
	if p.was == nil {
		if i >= 0 {
			return false
		}
	} else if i < 0 || sh.t.slots[i].p != p.was || sh.t.slots[i].deadline() != p.deadline {
		return false
	}
	s.putLocked(sh, i, p.it)
	return true
}

// maxStoredLen is the longest value a store holds with MaxBulkLen
// maxBulk: BITFIELD may write a 64-bit field at the last offset
// maxBulk allows, 8 bytes past it, as in Redis (whose snapshots load such
// values back), within what an item can hold.
func maxStoredLen(maxBulk int64) int64 { return min(maxBulk+8, maxValueLen) }

// keyBytes views an item's key as bytes for the stream encoder, which
// only reads them; the key of a stored item never changes.
func keyBytes(k string) []byte { return unsafe.Slice(unsafe.StringData(k), len(k)) }

var (
	nameSetRange = []byte("SETRANGE")
	nameSetBit   = []byte("SETBIT")
	nameBitOp    = []byte("BITOP")
	nameBitField = []byte("BITFIELD")
	nameSet      = []byte("SET")
	nameKeepTTL  = []byte("KEEPTTL")
)

// SetRange overwrites the value at key from byte offset on with value
// (Redis SETRANGE) and returns the new length. A missing key counts as
// empty, and a value shorter than offset is padded with zero bytes; the
// deadline is kept. An empty value writes nothing and returns the current
// length. offset must not be negative (ErrInvalidArgument), and the result
// must fit Config.MaxBulkLen (ErrTooLarge). The stream receives SETRANGE
// key offset value, as Redis propagates it.
//
// The whole value is copied (see the memory note above): a large offset
// on a short value costs that many bytes.
func (s *Store) SetRange(key string, offset int64, value []byte) (int, error) {
	if err := s.makeRoom(true); err != nil { // Redis: denyoom
		return 0, err
	}
	if err := s.checkSizes(key, nil); err != nil {
		return 0, err
	}
	p := s.prepareLarge(key, func(old []byte, deadline int64) (slot, bool) {
		n, ok := strops.SetRangeLen(len(old), offset, len(value), s.cfg.MaxBulkLen)
		if !ok || len(value) == 0 || n < appendCopyFirst {
			return slot{}, false
		}
		it, v := allocItem(key, int(n), deadline)
		strops.SetRangeInto(v, old, offset, value)
		return it, true
	})
	sh, err := s.lockWrite(key)
	if err != nil {
		return 0, err
	}
	defer s.unlockWrite(sh)
	if s.storePreparedLocked(key, p) {
		s.emitSetRangeLocked(p.it.key(), offset, value)
		return len(p.it.value()), nil
	}
	return s.setRangeLocked(key, offset, value)
}

func (s *Store) emitSetRangeLocked(key string, offset int64, value []byte) {
	var num [20]byte
	s.st.emitArgsLocked(s.cfg.DB, nameSetRange, keyBytes(key), strconv.AppendInt(num[:0], offset, 10), value)
}

func (s *Store) setRangeLocked(key string, offset int64, value []byte) (int, error) {
	if offset < 0 {
		return 0, fmt.Errorf("%w: offset is out of range", ErrInvalidArgument)
	}
	sh, i := s.lookupLocked(key)
	var old []byte
	var deadline int64
	if i >= 0 {
		old, deadline = sh.t.slots[i].value(), sh.t.slots[i].deadline()
	}
	if len(value) == 0 {
		return len(old), nil
	}
	n, ok := strops.SetRangeLen(len(old), offset, len(value), s.cfg.MaxBulkLen)
	if !ok {
		return 0, fmt.Errorf("%w: string exceeds maximum allowed size (%d bytes)", ErrTooLarge, s.cfg.MaxBulkLen)
	}
	it, v := allocItem(key, int(n), deadline)
	strops.SetRangeInto(v, old, offset, value)
	s.putLocked(sh, i, it)
	s.emitSetRangeLocked(it.key(), offset, value)
	return int(n), nil
}

// GetRange returns a copy of the bytes of key's value from start to end
// inclusive (Redis GETRANGE): negative indexes count from the end, both
// are clamped into the value. A missing key reads as empty.
func (s *Store) GetRange(key string, start, end int64) ([]byte, error) {
	v, _, err := s.readValue(key)
	if err != nil {
		return nil, err
	}
	return cloneBytes(strops.GetRange(v, start, end)), nil
}

// readValue is readItem for the read-only commands that take a missing
// key as an empty value: the value in place (never to be changed), and
// whether the key exists.
func (s *Store) readValue(key string) ([]byte, bool, error) {
	it, err := s.readItem(key)
	switch err {
	case nil:
		return it.value(), true, nil
	case ErrNotFound:
		return nil, false, nil
	}
	return nil, false, err
}

func cloneBytes(b []byte) []byte { return append(make([]byte, 0, len(b)), b...) }

// checkBitOffset checks a bit offset as Redis does: not negative, its
// byte below Config.MaxBulkLen.
func (s *Store) checkBitOffset(offset int64) error {
	if offset < 0 || offset>>3 >= s.cfg.MaxBulkLen {
		return fmt.Errorf("%w: %d", ErrBitOffset, offset)
	}
	return nil
}

// SetBit sets or clears (bit 1 or 0) the bit at offset of key's value
// (Redis SETBIT), bit 0 being the most significant bit of the first byte,
// and returns the bit's previous value. The value grows, zero-padded, to
// reach the bit (a missing key counts as empty); the deadline is kept.
// offset/8 must be below Config.MaxBulkLen (ErrBitOffset): SetBit of
// 4294967295 is allowed by the default limit and makes a 512 MiB value.
// When the bit already has that value and the value does not grow,
// nothing is written. Otherwise the stream receives SETBIT key offset bit,
// as Redis propagates it.
//
// Every change copies the whole value (see the memory note above).
func (s *Store) SetBit(key string, offset int64, bit int) (int, error) {
	if err := s.makeRoom(true); err != nil { // Redis: denyoom
		return 0, err
	}
	if err := s.checkSetBit(key, offset, bit); err != nil {
		return 0, err
	}
	var prev int
	p := s.prepareLarge(key, func(old []byte, deadline int64) (slot, bool) {
		var n int64
		prev, n = strops.SetBitPlan(old, offset, bit)
		if n < appendCopyFirst { // unchanged (0) or small
			return slot{}, false
		}
		it, v := allocItem(key, int(n), deadline)
		strops.SetBitInto(v, old, offset, bit)
		return it, true
	})
	sh, err := s.lockWrite(key)
	if err != nil {
		return 0, err
	}
	defer s.unlockWrite(sh)
	if s.storePreparedLocked(key, p) {
		s.emitSetBitLocked(p.it.key(), offset, bit)
		return prev, nil
	}
	return s.setBitLocked(key, offset, bit), nil
}

func (s *Store) emitSetBitLocked(key string, offset int64, bit int) {
	var num [20]byte
	b := []byte{'0' + byte(bit)}
	s.st.emitArgsLocked(s.cfg.DB, nameSetBit, keyBytes(key), strconv.AppendInt(num[:0], offset, 10), b)
}

func (s *Store) checkSetBit(key string, offset int64, bit int) error {
	if bit != 0 && bit != 1 {
		return fmt.Errorf("%w: bit %d is not 0 or 1", ErrInvalidArgument, bit)
	}
	if err := s.checkSizes(key, nil); err != nil {
		return err
	}
	return s.checkBitOffset(offset)
}

func (s *Store) setBitLocked(key string, offset int64, bit int) int {
	sh, i := s.lookupLocked(key)
	var old []byte
	var deadline int64
	if i >= 0 {
		old, deadline = sh.t.slots[i].value(), sh.t.slots[i].deadline()
	}
	prev, n := strops.SetBitPlan(old, offset, bit)
	if n == 0 {
		return prev
	}
	it, v := allocItem(key, int(n), deadline)
	strops.SetBitInto(v, old, offset, bit)
	s.putLocked(sh, i, it)
	s.emitSetBitLocked(it.key(), offset, bit)
	return prev
}

// GetBit returns the bit at offset of key's value (Redis GETBIT); bits
// past the end, and of a missing key, are 0. The offset is checked as in
// SetBit (ErrBitOffset).
func (s *Store) GetBit(key string, offset int64) (int, error) {
	if err := s.checkBitOffset(offset); err != nil {
		return 0, err
	}
	v, _, err := s.readValue(key)
	if err != nil {
		return 0, err
	}
	return strops.GetBit(v, offset), nil
}

// BitCount counts the bits set in key's value, or in the part r selects
// (nil: all of it), as Redis BITCOUNT does. A missing key counts 0.
func (s *Store) BitCount(key string, r *BitRange) (int64, error) {
	v, _, err := s.readValue(key)
	if err != nil {
		return 0, err
	}
	return strops.BitCount(v, r.span()), nil
}

// BitPos returns the position of the first bit equal to bit (0 or 1) in
// key's value, or in the part r selects (nil: all of it), as Redis BITPOS
// does: -1 when there is none, except that a search for 0 without an end
// (r nil or r.NoEnd) that finds only ones reports the first bit after the
// value, which counts as followed by zeros. A missing key gives -1 for 1
// and 0 for 0. Positions count from the start of the value, in bits.
func (s *Store) BitPos(key string, bit int, r *BitRange) (int64, error) {
	if bit != 0 && bit != 1 {
		return 0, fmt.Errorf("%w: bit %d is not 0 or 1", ErrInvalidArgument, bit)
	}
	v, found, err := s.readValue(key)
	switch {
	case err != nil:
		return 0, err
	case !found && bit == 1:
		return -1, nil
	case !found:
		return 0, nil
	}
	return strops.BitPos(v, bit, r.span()), nil
}

// BitOp stores in dest the bitwise op of the values at srcs (Redis BITOP)
// and returns its length, that of the longest source: shorter sources
// and missing keys count as zero-padded. NOT takes exactly one source.
// When every source is empty or missing, dest is deleted instead. dest
// loses its deadline. The stream receives BITOP op dest src…, as Redis
// propagates it, but only when something changed (a missing dest that
// stays missing gives nothing).
func (s *Store) BitOp(op BitOp, dest string, srcs ...string) (int, error) {
	if err := s.makeRoom(true); err != nil { // Redis: denyoom
		return 0, err
	}
	if err := s.checkBitOp(op, dest, srcs); err != nil {
		return 0, err
	}
	s.awaitWritable()
	idx := s.lockKeys(append([]string{dest}, srcs...))
	defer s.unlockKeys(idx)
	if err := s.admitLocked(); err != nil {
		return 0, err
	}
	return s.bitOpLocked(op, dest, srcs), nil
}

func (s *Store) checkBitOp(op BitOp, dest string, srcs []string) error {
	switch {
	case op < BitAnd || op > BitNot:
		return fmt.Errorf("%w: BitOp %d", ErrInvalidArgument, int(op))
	case len(srcs) == 0:
		return fmt.Errorf("%w: BitOp without a source key", ErrInvalidArgument)
	case op == BitNot && len(srcs) != 1:
		return fmt.Errorf("%w: BitOp NOT takes a single source key", ErrInvalidArgument)
	}
	return s.checkSizes(dest, nil)
}

func (s *Store) bitOpLocked(op BitOp, dest string, srcs []string) int {
	vals := make([][]byte, len(srcs))
	for j, k := range srcs {
		if sh, i := s.lookupLocked(k); i >= 0 {
			vals[j] = sh.t.slots[i].value()
		}
	}
	n := strops.BitOpLen(vals)
	sh, i := s.lookupLocked(dest)
	if n == 0 {
		if i < 0 {
			return 0
		}
		s.preserveLocked(sh, dest, i)
		sh.t.deleteAt(i)
	} else {
		it, v := allocItem(dest, n, 0)
		strops.BitOpInto(v, strops.BitOpKind(op), vals)
		s.putLocked(sh, i, it)
	}
	args := make([][]byte, 0, 3+len(srcs))
	args = append(args, nameBitOp, []byte(op.String()), []byte(dest))
	for _, k := range srcs {
		args = append(args, keyBytes(k))
	}
	s.st.emitArgsLocked(s.cfg.DB, args...)
	return n
}

// fieldOps converts and checks BitField operations; writes reports
// whether any operation writes.
func (s *Store) fieldOps(ops []BitFieldOp) (out []strops.FieldOp, writes bool, err error) {
	out = make([]strops.FieldOp, len(ops))
	for j, op := range ops {
		switch {
		case op.Op > BitFieldIncrBy:
			return nil, false, fmt.Errorf("%w: BitField operation %d", ErrInvalidArgument, op.Op)
		case op.Overflow > OverflowFail:
			return nil, false, fmt.Errorf("%w: BitField overflow %d", ErrInvalidArgument, op.Overflow)
		case op.Bits < 1 || op.Bits > 64 || (!op.Signed && op.Bits > 63):
			return nil, false, fmt.Errorf("%w: BitField of %d bits (signed %v): want i1..i64 or u1..u63", ErrInvalidArgument, op.Bits, op.Signed)
		}
		if err := s.checkBitOffset(op.Offset); err != nil {
			return nil, false, err
		}
		out[j] = strops.FieldOp{Kind: strops.FieldOpKind(op.Op), Signed: op.Signed, Bits: op.Bits, Offset: op.Offset,
			Value: op.Value, Overflow: strops.Overflow(op.Overflow)}
		writes = writes || op.Op != BitFieldGet
	}
	// An offset just below the limit with a wide field reaches a few
	// bytes past it, as in Redis; the item format bounds that.
	if end := strops.FieldWriteEnd(out); end > maxStoredLen(s.cfg.MaxBulkLen) {
		return nil, false, fmt.Errorf("%w: BitField up to byte %d", ErrTooLarge, end)
	}
	return out, writes, nil
}

func fieldResults(res []strops.FieldResult) []BitFieldResult {
	out := make([]BitFieldResult, len(res))
	for j, r := range res {
		out[j] = BitFieldResult{Value: r.Value, Failed: r.Nil}
	}
	return out
}

// BitField runs ops on key's value in order (Redis BITFIELD) and returns
// one result per op. Writes grow the value, zero-padded, to reach the
// farthest bit they write (a missing key counts as empty; the deadline
// is kept), even when OverflowFail then refuses them. Offsets are checked
// as in SetBit (ErrBitOffset); a field may end up to 8 bytes past
// Config.MaxBulkLen, as in Redis. Like Redis's BITFIELD it is a write
// even when every op is a Get (ErrReadOnly on a replica; BitFieldRO reads
// anywhere). When the value changed, the stream receives BITFIELD key
// with the ops (OVERFLOW given where it changes), as Redis propagates
// BITFIELD; otherwise nothing.
//
// Every change copies the whole value (see the memory note above).
func (s *Store) BitField(key string, ops []BitFieldOp) ([]BitFieldResult, error) {
	if err := s.makeRoom(true); err != nil { // Redis: denyoom
		return nil, err
	}
	fops, writes, err := s.fieldOps(ops)
	if err != nil {
		return nil, err
	}
	var p prepared
	var res []strops.FieldResult
	if writes {
		if err := s.checkSizes(key, nil); err != nil {
			return nil, err
		}
		p = s.prepareLarge(key, func(old []byte, deadline int64) (slot, bool) {
			n := strops.FieldValueLen(len(old), fops)
			if n < appendCopyFirst {
				return slot{}, false
			}
			it, v := allocItem(key, int(n), deadline)
			var changed bool
			res, changed = strops.BitFieldInto(v, old, fops)
			return it, changed
		})
	}
	sh, err := s.lockWrite(key)
	if err != nil {
		return nil, err
	}
	defer s.unlockWrite(sh)
	if s.storePreparedLocked(key, p) {
		s.st.emitArgsLocked(s.cfg.DB, bitFieldArgs(p.it.key(), fops)...)
		return fieldResults(res), nil
	}
	return s.bitFieldLocked(key, fops), nil
}

func (s *Store) bitFieldLocked(key string, ops []strops.FieldOp) []BitFieldResult {
	sh, i := s.lookupLocked(key)
	var old []byte
	var deadline int64
	if i >= 0 {
		old, deadline = sh.t.slots[i].value(), sh.t.slots[i].deadline()
	}
	var it slot
	var v []byte
	if n := strops.FieldValueLen(len(old), ops); n > 0 {
		it, v = allocItem(key, int(n), deadline)
	}
	res, changed := strops.BitFieldInto(v, old, ops)
	if changed {
		s.putLocked(sh, i, it)
		s.st.emitArgsLocked(s.cfg.DB, bitFieldArgs(it.key(), ops)...)
	}
	return fieldResults(res)
}

// bitFieldArgs encodes ops as a BITFIELD command.
func bitFieldArgs(key string, ops []strops.FieldOp) [][]byte {
	args := make([][]byte, 0, 2+5*len(ops))
	args = append(args, nameBitField, keyBytes(key))
	ow := strops.OverflowWrap
	for _, op := range ops {
		if op.Kind != strops.FieldGet && op.Overflow != ow {
			ow = op.Overflow
			args = append(args, []byte("OVERFLOW"), []byte(ow.String()))
		}
		typ := []byte{'u'}
		if op.Signed {
			typ[0] = 'i'
		}
		typ = strconv.AppendInt(typ, int64(op.Bits), 10)
		off := strconv.AppendInt(nil, op.Offset, 10)
		switch op.Kind {
		case strops.FieldGet:
			args = append(args, []byte("GET"), typ, off)
		case strops.FieldSet:
			args = append(args, []byte("SET"), typ, off, strconv.AppendInt(nil, op.Value, 10))
		default:
			args = append(args, []byte("INCRBY"), typ, off, strconv.AppendInt(nil, op.Value, 10))
		}
	}
	return args
}

// BitFieldRO is BitField for Get operations only (Redis BITFIELD_RO): a
// read, allowed on replicas. Another kind of operation gives
// ErrInvalidArgument.
func (s *Store) BitFieldRO(key string, ops []BitFieldOp) ([]BitFieldResult, error) {
	fops, writes, err := s.fieldOps(ops)
	if err != nil {
		return nil, err
	}
	if writes {
		return nil, fmt.Errorf("%w: BitFieldRO only supports Get", ErrInvalidArgument)
	}
	v, _, err := s.readValue(key)
	if err != nil {
		return nil, err
	}
	_, res, _ := strops.BitField(v, fops)
	return fieldResults(res), nil
}

// LCS returns the longest common subsequence of the values at keyA and
// keyB (Redis LCS; missing keys count as empty), the one Redis picks
// among several of the same length. Like Redis it needs a table of
// (len(a)+1)*(len(b)+1) 32-bit cells, and refuses with ErrTooLarge when
// that exceeds Config.MaxBulkLen bytes: about 11,500-byte values for the
// default 512 MiB. It takes time proportional to the table's cells.
func (s *Store) LCS(keyA, keyB string) ([]byte, error) {
	r, err := s.lcs(keyA, keyB, false, 0)
	return r.Seq, err
}

// LCSLen is LCS returning only the length (Redis LCS … LEN). The same
// limit applies, but the table is not allocated: two rows suffice.
func (s *Store) LCSLen(keyA, keyB string) (int, error) {
	r, err := s.lcs(keyA, keyB, true, 0)
	return int(r.Len), err
}

// LCSIdx is LCS returning the matching ranges, from the end of the values
// to their start, and the length (Redis LCS … IDX [MINMATCHLEN n]):
// ranges shorter than minMatchLen are left out.
func (s *Store) LCSIdx(keyA, keyB string, minMatchLen int) ([]LCSMatch, int, error) {
	r, err := s.lcs(keyA, keyB, false, max(int64(minMatchLen), 0))
	if err != nil {
		return nil, 0, err
	}
	return lcsMatches(r.Matches), int(r.Len), nil
}

func lcsMatches(ms []strops.LCSMatch) []LCSMatch {
	out := make([]LCSMatch, len(ms))
	for j, m := range ms {
		out[j] = LCSMatch{A: [2]int{int(m.A[0]), int(m.A[1])}, B: [2]int{int(m.B[0]), int(m.B[1])}, Len: int(m.Len)}
	}
	return out
}

func (s *Store) lcs(keyA, keyB string, lenOnly bool, minMatchLen int64) (strops.LCSResult, error) {
	a, b, err := s.readPair(keyA, keyB)
	if err != nil {
		return strops.LCSResult{}, err
	}
	return s.lcsOf(a, b, lenOnly, minMatchLen)
}

func (s *Store) lcsOf(a, b []byte, lenOnly bool, minMatchLen int64) (strops.LCSResult, error) {
	r, err := strops.LCS(a, b, lenOnly, minMatchLen, s.cfg.MaxBulkLen)
	if err != nil {
		return r, fmt.Errorf("%w: transient memory for LCS of %d and %d bytes exceeds MaxBulkLen", ErrTooLarge, len(a), len(b))
	}
	if r.Seq == nil && !lenOnly {
		r.Seq = []byte{}
	}
	return r, nil
}

// readPair reads the values of two keys at the same instant (both shards
// read-locked), missing keys as empty. The values are the store's own.
func (s *Store) readPair(keyA, keyB string) ([]byte, []byte, error) {
	if err := s.readable(); err != nil {
		return nil, nil, err
	}
	ha, hb := hashKey(keyA), hashKey(keyB)
	sa, sb := s.shardOf(ha), s.shardOf(hb)
	first, second := sa, sb
	if ha>>s.shift > hb>>s.shift {
		first, second = sb, sa
	}
	first.mu.RLock()
	if second != first {
		second.mu.RLock()
	}
	now := int64(-1)
	get := func(sh *shard, key string, h uint64) ([]byte, bool) {
		i := sh.t.find(key, h)
		if i < 0 {
			sh.misses.Add(1)
			return nil, false
		}
		sl := &sh.t.slots[i]
		if sl.hasTTL() {
			if now < 0 {
				now = s.nowMs()
			}
			if s.expired(sl, now) {
				sh.misses.Add(1)
				return nil, true
			}
		}
		sh.hits.Add(1)
		return sl.value(), false
	}
	a, expA := get(sa, keyA, ha)
	b, expB := get(sb, keyB, hb)
	if second != first {
		second.mu.RUnlock()
	}
	first.mu.RUnlock()
	if expA {
		s.expireIfNeeded(keyA)
	}
	if expB {
		s.expireIfNeeded(keyB)
	}
	return a, b, nil
}

// IncrByFloat adds incr to the number at key (a missing key counts as 0)
// and returns the result as stored, keeping the deadline (Redis
// INCRBYFLOAT). Redis computes with x86-64 long doubles (64-bit
// significand) and stores "%.17Lf" without trailing zeros; so does this
// (the float64 is converted exactly: 0.1 adds 0.1000000000000000055…; use
// IncrByFloatText for a decimal increment). A value that is not a number
// gives ErrNotFloat; a result that is not finite, ErrNaNOrInfinity. The
// stream receives SET key result KEEPTTL, as Redis propagates it. A
// result longer than Config.MaxBulkLen (numbers near the long double's
// limits print thousands of digits) gives ErrTooLarge.
func (s *Store) IncrByFloat(key string, incr float64) (string, error) {
	if err := s.makeRoom(true); err != nil { // Redis: denyoom
		return "", err
	}
	x, ok := strops.Float64LD(incr)
	if !ok {
		return "", fmt.Errorf("%w: NaN increment", ErrNaNOrInfinity)
	}
	return s.incrByFloat(key, x)
}

// IncrByFloatText is IncrByFloat with the increment as text, read as
// Redis reads INCRBYFLOAT's argument: a decimal or hexadecimal C long
// double ("1.5", "5.0e3", "0x1p-3", "inf"); otherwise ErrNotFloat.
func (s *Store) IncrByFloatText(key string, incr string) (string, error) {
	if err := s.makeRoom(true); err != nil { // Redis: denyoom
		return "", err
	}
	x, ok := strops.ParseLongDouble([]byte(incr))
	if !ok {
		return "", ErrNotFloat
	}
	return s.incrByFloat(key, x)
}

func (s *Store) incrByFloat(key string, x *big.Float) (string, error) {
	if err := s.checkSizes(key, nil); err != nil {
		return "", err
	}
	sh, err := s.lockWrite(key)
	if err != nil {
		return "", err
	}
	defer s.unlockWrite(sh)
	return s.incrByFloatLocked(key, x)
}

func (s *Store) incrByFloatLocked(key string, x *big.Float) (string, error) {
	sh, i := s.lookupLocked(key)
	var old []byte
	var deadline int64
	if i >= 0 {
		old, deadline = sh.t.slots[i].value(), sh.t.slots[i].deadline()
	}
	v, err := strops.IncrByFloat(old, i >= 0, x)
	switch err {
	case strops.ErrNotFloat:
		return "", ErrNotFloat
	case strops.ErrNaNOrInfinity:
		return "", ErrNaNOrInfinity
	}
	if int64(len(v)) > s.cfg.MaxBulkLen { // up to 4,951 bytes: only a tiny MaxBulkLen refuses it
		return "", fmt.Errorf("%w: a result of %d bytes", ErrTooLarge, len(v))
	}
	it := newItem(key, v, deadline)
	s.putLocked(sh, i, it)
	s.st.emitArgsLocked(s.cfg.DB, nameSet, keyBytes(it.key()), v, nameKeepTTL)
	return string(v), nil
}
