package strops

import (
	"bytes"
	"math/big"
	"testing"
)

// fuzzBulk is the proto-max-bulk-len of the fuzz targets: small, so that
// any allocation sized by an argument past the checks would stand out.
const fuzzBulk = 64

func splitFuzzArgs(b []byte) [][]byte {
	if len(b) == 0 {
		return nil
	}
	return bytes.Split(b, []byte{' '})
}

// FuzzArgs: the argument parsers of BITFIELD, BITFIELD_RO, BITCOUNT,
// BITPOS, LCS, SETBIT, GETBIT and INCRBYFLOAT accept or refuse any input
// without panicking, and what they accept stays within proto-max-bulk-len:
// running the parsed BITFIELD builds at most maxBulk+8 bytes, one result
// per operation, and never more operations than arguments allow.
func FuzzArgs(f *testing.F) {
	for _, s := range []string{
		"GET u8 0", "SET i64 #3 -5 OVERFLOW SAT INCRBY u63 #1 9223372036854775807", "OVERFLOW FAIL INCRBY u2 100 1",
		"SET u8 #2305843009213693953 1", "GET i64 511", "SET i64 511 1", "1 2 BIT", "0 -1 byte", "IDX MINMATCHLEN 4 WITHMATCHLEN",
		"LEN IDX", "0x1p-16445", "1e4932", "-inf", "4294967295",
	} {
		f.Add([]byte(s), []byte("foobar"))
	}
	f.Fuzz(func(t *testing.T, in, value []byte) {
		args := splitFuzzArgs(in)
		if len(value) > fuzzBulk {
			value = value[:fuzzBulk]
		}
		for _, ro := range []bool{false, true} {
			ops, err := ParseBitField(args, ro, fuzzBulk)
			if err != nil {
				continue
			}
			if 3*len(ops) > 2*len(args) {
				t.Fatalf("%d ops from %d arguments", len(ops), len(args))
			}
			for _, op := range ops {
				if op.Offset < 0 || op.Offset>>3 >= fuzzBulk || op.Bits < 1 || op.Bits > 64 || (!op.Signed && op.Bits > 63) {
					t.Fatalf("op %+v out of bounds", op)
				}
				if ro && op.Kind != FieldGet {
					t.Fatal("BITFIELD_RO accepted a write")
				}
			}
			end := FieldWriteEnd(ops)
			if end > fuzzBulk+8 {
				t.Fatalf("writes reach byte %d", end)
			}
			out, res, changed := BitField(value, ops)
			if len(res) != len(ops) || int64(len(out)) > max(int64(len(value)), end) {
				t.Fatalf("%d results, %d bytes out", len(res), len(out))
			}
			if end == 0 && (out != nil || changed) {
				t.Fatal("a read-only BITFIELD changed the value")
			}
			if end > 0 && !bytes.Equal(out, value) != changed && len(out) == len(value) {
				t.Fatalf("changed = %v, value %q -> %q", changed, value, out)
			}
		}
		if sp, err := ParseBitCountSpan(args); err == nil {
			if n := BitCount(value, sp); n < 0 || n > int64(8*len(value)) {
				t.Fatalf("BitCount = %d", n)
			}
		}
		if len(args) > 0 {
			if bit, err := ParseBitArg(args[0]); err == nil {
				if sp, err := ParseBitPosSpan(args[1:]); err == nil {
					if p := BitPos(value, bit, sp); p < -1 || p > int64(8*len(value))+8 {
						t.Fatalf("BitPos = %d", p)
					}
				}
			}
			if off, err := ParseBitOffset(args[0], false, 0, fuzzBulk); err == nil {
				if off>>3 >= fuzzBulk {
					t.Fatalf("offset %d accepted", off)
				}
				if v, _, _ := SetBit(value, off, 1); len(v) > fuzzBulk {
					t.Fatalf("SetBit built %d bytes", len(v))
				}
			}
			if x, ok := ParseLongDouble(args[0]); ok && !x.IsInf() {
				checkFormat(t, x)
			}
		}
		if o, err := ParseLCS(args); err == nil && o.MinMatchLen < 0 {
			t.Fatal("negative MINMATCHLEN")
		}
	})
}

// checkFormat: a long double printed and parsed again is within half a
// unit of the 17th decimal (plus the rounding of the parse) of itself.
func checkFormat(t *testing.T, x *big.Float) {
	s := FormatLongDouble(x)
	y, ok := ParseLongDouble(s)
	if !ok {
		t.Fatalf("%s (from %v) does not parse", s, x)
	}
	d := new(big.Float).SetPrec(40000).Sub(x, y)
	d.Abs(d)
	lim := new(big.Float).SetPrec(40000).Abs(x)
	lim.SetMantExp(lim, -62)
	lim.Add(lim, big.NewFloat(0.5e-17))
	if d.Cmp(lim) > 0 {
		t.Fatalf("%v printed as %s, which parses as %v", x, s, y)
	}
}

// naiveBitPos scans bit by bit what BitPos finds with words and masks.
func naiveBitPos(v []byte, bit int, first, last int64) int64 {
	for i := first; i <= last; i++ {
		if GetBit(v, i) == bit {
			return i
		}
	}
	return -1
}

// FuzzBits compares the word-at-a-time bit functions with bit-by-bit
// versions, and SETRANGE/GETRANGE/SETBIT/BITOP with their definitions.
func FuzzBits(f *testing.F) {
	f.Add([]byte("foobar"), []byte("\x00\xff"), int64(3), int64(-2), uint8(1), false)
	f.Add([]byte("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xf0"), []byte{}, int64(0), int64(-1), uint8(0), true)
	f.Fuzz(func(t *testing.T, v, w []byte, start, end int64, bit uint8, isBit bool) {
		if len(v) > 4096 {
			v = v[:4096]
		}
		b := int(bit & 1)
		sp := Span{Start: start, End: end, HasStart: true, HasEnd: true, Bit: isBit}
		// BitCount: the bits of the selected range, one at a time.
		var want int64
		total := int64(len(v))
		if isBit {
			total *= 8
		}
		if !(start < 0 && end < 0 && start > end) {
			s, e := clampRange(start, end, total)
			if !isBit {
				s, e = s*8, e*8+7
			}
			for i := s; i <= e; i++ {
				want += int64(GetBit(v, i))
			}
		}
		if got := BitCount(v, sp); got != want {
			t.Fatalf("BitCount(%q, %+v) = %d, want %d", v, sp, got, want)
		}
		if got, want := BitCount(v, Whole), BitCount(v, Span{Start: 0, End: -1, HasStart: true, HasEnd: true}); got != want {
			t.Fatalf("whole %d, 0..-1 %d", got, want)
		}
		// BitPos with an end: the first matching bit of the range.
		s, e := clampRange(start, end, total)
		if !isBit {
			s, e = s*8, e*8+7
		}
		wantPos := int64(-1)
		if s <= e {
			wantPos = naiveBitPos(v, b, s, e)
		}
		if got := BitPos(v, b, sp); got != wantPos {
			t.Fatalf("BitPos(%q, %d, %+v) = %d, want %d", v, b, sp, got, wantPos)
		}
		// GetRange is a slice of the value.
		r := GetRange(v, start, end)
		if len(r) > 0 && !bytes.Contains(v, r) {
			t.Fatalf("GetRange(%q, %d, %d) = %q", v, start, end, r)
		}
		// SetRange then GetRange reads back what was written.
		if off := start & 1023; off >= 0 && len(w) > 0 {
			if n, ok := SetRangeLen(len(v), off, len(w), 1<<20); ok {
				out := SetRange(v, off, w)
				if int64(len(out)) != n || !bytes.Equal(GetRange(out, off, off+int64(len(w))-1), w) || !bytes.Equal(out[:min(len(v), int(off))], v[:min(len(v), int(off))]) {
					t.Fatalf("SetRange(%q, %d, %q) = %q", v, off, w, out)
				}
			}
		}
		// SetBit changes exactly one bit.
		off := end & 8191
		if off >= 0 {
			out, prev, changed := SetBit(v, off, b)
			if prev != GetBit(v, off) {
				t.Fatal("SetBit's previous bit")
			}
			if changed {
				if GetBit(out, off) != b || BitCount(out, Whole)-BitCount(v, Whole) != int64(b-prev) {
					t.Fatalf("SetBit(%q, %d, %d) = %q", v, off, b, out)
				}
			}
		}
		// BitOp, byte by byte.
		for _, op := range []BitOpKind{BitAnd, BitOr, BitXor} {
			out := BitOp(op, [][]byte{v, w})
			for i := range max(len(v), len(w)) {
				x, y := byteAt(v, i), byteAt(w, i)
				var z byte
				switch op {
				case BitAnd:
					z = x & y
				case BitOr:
					z = x | y
				default:
					z = x ^ y
				}
				if out[i] != z {
					t.Fatalf("%v(%q, %q) = %q", op, v, w, out)
				}
			}
		}
	})
}

func byteAt(v []byte, i int) byte {
	if i < len(v) {
		return v[i]
	}
	return 0
}

// FuzzLCS: the subsequence LCS returns is common to both values and as
// long as the plain dynamic programming says; LEN agrees; every range of
// IDX matches bytes for bytes.
func FuzzLCS(f *testing.F) {
	f.Add([]byte("ohmytext"), []byte("mynewtext"), int64(0))
	f.Add([]byte("aaaa"), []byte("aa"), int64(2))
	f.Fuzz(func(t *testing.T, a, b []byte, minLen int64) {
		if len(a) > 300 {
			a = a[:300]
		}
		if len(b) > 300 {
			b = b[:300]
		}
		minLen = max(minLen, 0)
		r, err := LCS(a, b, false, minLen, 512<<20)
		if err != nil {
			t.Fatal(err)
		}
		l, _ := LCS(a, b, true, 0, 512<<20)
		if l.Len != r.Len || int64(len(r.Seq)) != r.Len {
			t.Fatalf("LEN %d, LCS %d (%q)", l.Len, r.Len, r.Seq)
		}
		if !isSubseq(r.Seq, a) || !isSubseq(r.Seq, b) {
			t.Fatalf("%q is not a subsequence of %q and %q", r.Seq, a, b)
		}
		for _, m := range r.Matches {
			if m.Len != m.A[1]-m.A[0]+1 || m.Len != m.B[1]-m.B[0]+1 || (minLen > 0 && m.Len < minLen) ||
				!bytes.Equal(a[m.A[0]:m.A[1]+1], b[m.B[0]:m.B[1]+1]) {
				t.Fatalf("match %+v of %q and %q", m, a, b)
			}
		}
	})
}

func isSubseq(s, v []byte) bool {
	for _, c := range v {
		if len(s) > 0 && s[0] == c {
			s = s[1:]
		}
	}
	return len(s) == 0
}
