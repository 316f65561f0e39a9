package strops

import (
	"bytes"
	"errors"
	"math"
	"math/big"
	"testing"
)

func args(s ...string) [][]byte {
	out := make([][]byte, len(s))
	for i, a := range s {
		out[i] = []byte(a)
	}
	return out
}

func TestGetRange(t *testing.T) {
	v := []byte("This is a string")
	for _, c := range []struct {
		start, end int64
		want       string
	}{
		{0, 3, "This"}, {-3, -1, "ing"}, {0, -1, "This is a string"}, {10, 100, "string"},
		{5, 3, ""}, {-1, -5, ""}, {0, -100, "T"}, {-100, 2, "Thi"}, {100, 200, ""},
		{-9223372036854775808, 9223372036854775807, "This is a string"},
	} {
		if got := GetRange(v, c.start, c.end); string(got) != c.want {
			t.Errorf("GetRange(%d, %d) = %q, want %q", c.start, c.end, got, c.want)
		}
	}
	if got := GetRange(nil, 0, -1); len(got) != 0 {
		t.Errorf("GetRange of an empty value = %q", got)
	}
}

func TestSetRange(t *testing.T) {
	if got := SetRange([]byte("Hello World"), 6, []byte("Redis")); string(got) != "Hello Redis" {
		t.Errorf("got %q", got)
	}
	if got := SetRange(nil, 6, []byte("Redis")); string(got) != "\x00\x00\x00\x00\x00\x00Redis" {
		t.Errorf("got %q", got)
	}
	if got := SetRange([]byte("abcdef"), 1, []byte("X")); string(got) != "aXcdef" {
		t.Errorf("got %q", got)
	}
	for _, c := range []struct {
		old     int
		off     int64
		n       int
		maxBulk int64
		want    int64
		ok      bool
	}{
		{0, 0, 1, 10, 1, true}, {0, 9, 1, 10, 10, true}, {0, 10, 1, 10, 0, false},
		{20, 1, 1, 10, 0, true}, // an existing value over the limit stays as long as it is
		{0, 1<<63 - 1, 1, 10, 0, false}, {0, -1, 1, 10, 0, false},
	} {
		got, ok := SetRangeLen(c.old, c.off, c.n, c.maxBulk)
		if c.old == 20 {
			if !ok || got != 20 {
				t.Errorf("SetRangeLen(%d, %d, %d) = %d, %v", c.old, c.off, c.n, got, ok)
			}
			continue
		}
		if ok != c.ok || got != c.want {
			t.Errorf("SetRangeLen(%d, %d, %d, %d) = %d, %v; want %d, %v", c.old, c.off, c.n, c.maxBulk, got, ok, c.want, c.ok)
		}
	}
}

func TestBits(t *testing.T) {
	v, prev, changed := SetBit(nil, 7, 1)
	if string(v) != "\x01" || prev != 0 || !changed {
		t.Fatalf("SetBit(nil, 7, 1) = %q, %d, %v", v, prev, changed)
	}
	if _, prev, changed := SetBit(v, 7, 1); prev != 1 || changed {
		t.Errorf("setting a set bit: %d, %v", prev, changed)
	}
	if out, _, changed := SetBit(nil, 7, 0); !changed || string(out) != "\x00" {
		t.Errorf("SETBIT of 0 on a missing key creates it: %q, %v", out, changed)
	}
	if out, prev, _ := SetBit([]byte("a"), 20, 1); string(out) != "a\x00\x08" || prev != 0 {
		t.Errorf("growing SetBit = %q", out)
	}
	if GetBit([]byte("\x80"), 0) != 1 || GetBit([]byte("\x80"), 1) != 0 || GetBit([]byte("\x80"), 100) != 0 {
		t.Error("GetBit")
	}

	foobar := []byte("foobar")
	for _, c := range []struct {
		sp   Span
		want int64
	}{
		{Whole, 26},
		{Span{Start: 0, End: 0, HasStart: true, HasEnd: true}, 4},
		{Span{Start: 1, End: 1, HasStart: true, HasEnd: true}, 6},
		{Span{Start: 5, End: 30, HasStart: true, HasEnd: true, Bit: true}, 17},
		{Span{Start: -1, End: -2, HasStart: true, HasEnd: true}, 0},
		{Span{Start: 0, End: -1, HasStart: true, HasEnd: true, Bit: true}, 26},
		{Span{Start: 3, End: 3, HasStart: true, HasEnd: true, Bit: true}, 0},
		{Span{Start: 1, End: 2, HasStart: true, HasEnd: true, Bit: true}, 2},
	} {
		if got := BitCount(foobar, c.sp); got != c.want {
			t.Errorf("BitCount(foobar, %+v) = %d, want %d", c.sp, got, c.want)
		}
	}

	for _, c := range []struct {
		v    string
		bit  int
		sp   Span
		want int64
	}{
		{"\xff\xf0\x00", 0, Whole, 12},
		{"\x00\xff\xf0", 1, Span{Start: 0, HasStart: true}, 8},
		{"\x00\xff\xf0", 1, Span{Start: 2, HasStart: true}, 16},
		{"\x00\xff\xf0", 1, Span{Start: 2, End: -1, HasStart: true, HasEnd: true}, 16},
		{"\x00\xff\xf0", 1, Span{Start: 7, End: 15, HasStart: true, HasEnd: true, Bit: true}, 8},
		{"\x00\x00\x00", 1, Whole, -1},
		{"\xff\xff\xff", 0, Whole, 24},
		{"\xff\xff\xff", 0, Span{Start: 0, End: -1, HasStart: true, HasEnd: true}, -1},
		{"", 0, Whole, -1},
		{"\xff\xfe", 0, Span{Start: 1, End: 15, HasStart: true, HasEnd: true, Bit: true}, 15},
	} {
		if got := BitPos([]byte(c.v), c.bit, c.sp); got != c.want {
			t.Errorf("BitPos(%q, %d, %+v) = %d, want %d", c.v, c.bit, c.sp, got, c.want)
		}
	}

	if got := BitOp(BitAnd, [][]byte{[]byte("foobar"), []byte("abcdef")}); string(got) != "`bc`ab" {
		t.Errorf("AND = %q", got)
	}
	if got := BitOp(BitOr, [][]byte{[]byte("foobar"), []byte("ab")}); string(got) != "gobar" && string(got) != "\x67\x6f\x6f\x62\x61\x72" {
		t.Errorf("OR = %q", got)
	}
	if got := BitOp(BitNot, [][]byte{[]byte("\x0f")}); string(got) != "\xf0" {
		t.Errorf("NOT = %q", got)
	}
	if got := BitOp(BitAnd, [][]byte{nil, nil}); got != nil {
		t.Errorf("AND of missing keys = %q, want nil", got)
	}
	if got := BitOp(BitAnd, [][]byte{[]byte("ab"), nil}); string(got) != "\x00\x00" {
		t.Errorf("AND with a missing key = %q", got)
	}
}

func TestParseArgs(t *testing.T) {
	const maxBulk = 512 << 20
	for _, c := range []struct {
		in      []string
		want    int64
		wantErr error
	}{
		{[]string{"0"}, 0, nil}, {[]string{"4294967295"}, 4294967295, nil},
		{[]string{"4294967296"}, 0, ErrBitOffset}, {[]string{"-1"}, 0, ErrBitOffset},
		{[]string{"x"}, 0, ErrBitOffset}, {[]string{"#1"}, 0, ErrBitOffset},
	} {
		got, err := ParseBitOffset([]byte(c.in[0]), false, 0, maxBulk)
		if got != c.want || err != c.wantErr {
			t.Errorf("ParseBitOffset(%q) = %d, %v", c.in[0], got, err)
		}
	}
	if got, err := ParseBitOffset([]byte("#3"), true, 8, maxBulk); got != 24 || err != nil {
		t.Errorf("#3 with u8 = %d, %v", got, err)
	}
	// Redis multiplies with wrap-around: (2^61+1)*8 wraps to 8.
	if got, err := ParseBitOffset([]byte("#2305843009213693953"), true, 8, maxBulk); got != 8 || err != nil {
		t.Errorf("wrapping #offset = %d, %v", got, err)
	}

	for _, c := range []struct {
		in      []string
		ro      bool
		wantErr error
		n       int
	}{
		{[]string{"GET", "u8", "0"}, false, nil, 1},
		{[]string{"get", "i64", "#1", "overflow", "sat", "incrby", "u63", "0", "-5", "set", "i1", "9", "1"}, false, nil, 3},
		{[]string{"GET", "u64", "0"}, false, ErrBitFieldType, 0},
		{[]string{"GET", "i65", "0"}, false, ErrBitFieldType, 0},
		{[]string{"GET", "u0", "0"}, false, ErrBitFieldType, 0},
		{[]string{"GET", "u8"}, false, ErrSyntax, 0},
		{[]string{"OVERFLOW", "foo"}, false, ErrOverflowType, 0},
		{[]string{"OVERFLOW"}, false, ErrSyntax, 0},
		{[]string{"FOO"}, false, ErrSyntax, 0},
		{[]string{"SET", "u8", "0", "x"}, false, ErrNotInteger, 0},
		{[]string{"SET", "u8", "-1", "1"}, false, ErrBitOffset, 0},
		{[]string{"SET", "u8", "0", "1"}, true, ErrBitFieldRO, 0},
		{[]string{"GET", "u8", "0", "SET", "u8", "0", "1", "GET", "i99", "0"}, true, ErrBitFieldType, 0},
		{[]string{}, false, nil, 0},
	} {
		ops, err := ParseBitField(args(c.in...), c.ro, maxBulk)
		if err != c.wantErr || len(ops) != c.n {
			t.Errorf("ParseBitField(%q, ro=%v) = %d ops, %v; want %d, %v", c.in, c.ro, len(ops), err, c.n, c.wantErr)
		}
	}

	if sp, err := ParseBitCountSpan(args("1", "-1", "bit")); err != nil || sp != (Span{1, -1, true, true, true}) {
		t.Errorf("BITCOUNT span = %+v, %v", sp, err)
	}
	for _, in := range [][]string{{"1"}, {"1", "2", "3", "4"}, {"1", "2", "bits"}} {
		if _, err := ParseBitCountSpan(args(in...)); err != ErrSyntax {
			t.Errorf("BITCOUNT %q: %v, want a syntax error", in, err)
		}
	}
	if _, err := ParseBitCountSpan(args("a", "1")); err != ErrNotInteger {
		t.Errorf("BITCOUNT a 1: %v", err)
	}
	if sp, err := ParseBitPosSpan(args("3")); err != nil || sp != (Span{Start: 3, HasStart: true}) {
		t.Errorf("BITPOS span = %+v, %v", sp, err)
	}
	if _, err := ParseBitPosSpan(args("1", "2", "3", "4")); err != ErrSyntax {
		t.Errorf("BITPOS with too many arguments: %v", err)
	}
	if _, err := ParseBitArg([]byte("2")); err != ErrBitArg {
		t.Errorf("BITPOS bit 2: %v", err)
	}
	if _, err := ParseBitValue([]byte("2")); err != ErrBitValue {
		t.Errorf("SETBIT bit 2: %v", err)
	}

	if o, err := ParseLCS(args("idx", "minmatchlen", "-3", "withmatchlen")); err != nil || !o.Idx || !o.WithMatchLen || o.MinMatchLen != 0 {
		t.Errorf("ParseLCS = %+v, %v", o, err)
	}
	for in, want := range map[string]error{"LEN IDX": ErrLCSLenIdx, "MINMATCHLEN": ErrSyntax, "MINMATCHLEN x": ErrNotInteger, "FOO": ErrSyntax} {
		var a []string
		for _, f := range bytes.Fields([]byte(in)) {
			a = append(a, string(f))
		}
		if _, err := ParseLCS(args(a...)); err != want {
			t.Errorf("ParseLCS(%q) = %v, want %v", in, err, want)
		}
	}
	// strcasecmp stops at a NUL, as in Redis.
	if _, err := ParseLCS(args("LEN\x00junk")); err != nil {
		t.Errorf("LEN followed by a NUL: %v", err)
	}
}

func TestBitField(t *testing.T) {
	ops, err := ParseBitField(args("SET", "i5", "100", "1", "GET", "u4", "0"), false, 512<<20)
	if err != nil {
		t.Fatal(err)
	}
	out, res, changed := BitField(nil, ops)
	if !changed || len(out) != 14 || res[0] != (FieldResult{Value: 0}) || res[1] != (FieldResult{Value: 0}) {
		t.Fatalf("BitField = %q, %+v, %v", out, res, changed)
	}
	for _, c := range []struct {
		v    string
		args []string
		want []FieldResult
	}{
		{"", []string{"INCRBY", "u2", "100", "1", "OVERFLOW", "SAT", "INCRBY", "u2", "102", "1"}, []FieldResult{{Value: 1}, {Value: 1}}},
		{"", []string{"OVERFLOW", "FAIL", "INCRBY", "u2", "0", "5"}, []FieldResult{{Nil: true}}},
		{"", []string{"OVERFLOW", "SAT", "INCRBY", "u2", "0", "5"}, []FieldResult{{Value: 3}}},
		{"", []string{"INCRBY", "u2", "0", "5"}, []FieldResult{{Value: 1}}},
		{"", []string{"OVERFLOW", "SAT", "INCRBY", "i8", "0", "-200"}, []FieldResult{{Value: -128}}},
		{"", []string{"INCRBY", "i8", "0", "200"}, []FieldResult{{Value: -56}}},
		{"", []string{"SET", "i64", "0", "-1", "GET", "i64", "0", "GET", "u63", "0", "GET", "u63", "1"},
			[]FieldResult{{Value: 0}, {Value: -1}, {Value: 1<<63 - 1}, {Value: 1<<63 - 1}}},
		{"", []string{"SET", "i64", "0", "9223372036854775807", "OVERFLOW", "SAT", "INCRBY", "i64", "0", "1", "OVERFLOW", "WRAP", "INCRBY", "i64", "0", "1"},
			[]FieldResult{{Value: 0}, {Value: 1<<63 - 1}, {Value: -1 << 63}}},
		{"\xff", []string{"GET", "i8", "0", "GET", "u8", "0", "GET", "u4", "4", "GET", "i4", "6"}, []FieldResult{{Value: -1}, {Value: 255}, {Value: 15}, {Value: -4}}},
	} {
		ops, err := ParseBitField(args(c.args...), false, 512<<20)
		if err != nil {
			t.Fatal(err)
		}
		_, res, _ := BitField([]byte(c.v), ops)
		if len(res) != len(c.want) {
			t.Fatalf("%q: %+v", c.args, res)
		}
		for i := range res {
			if res[i] != c.want[i] {
				t.Errorf("%q on %q: result %d = %+v, want %+v", c.args, c.v, i, res[i], c.want[i])
			}
		}
	}
	// Writing what is there already changes nothing (Redis then does not propagate).
	ops, _ = ParseBitField(args("SET", "u8", "0", "97", "INCRBY", "u8", "8", "0"), false, 512<<20)
	if _, _, changed := BitField([]byte("ab"), ops); changed {
		t.Error("a SET of the same value counted as a change")
	}
}

func TestLCS(t *testing.T) {
	a, b := []byte("ohmytext"), []byte("mynewtext")
	r, err := LCS(a, b, false, 0, 512<<20)
	if err != nil || string(r.Seq) != "mytext" || r.Len != 6 {
		t.Fatalf("LCS = %+v, %v", r, err)
	}
	want := []LCSMatch{{A: [2]int64{4, 7}, B: [2]int64{5, 8}, Len: 4}, {A: [2]int64{2, 3}, B: [2]int64{0, 1}, Len: 2}}
	if len(r.Matches) != 2 || r.Matches[0] != want[0] || r.Matches[1] != want[1] {
		t.Errorf("matches = %+v", r.Matches)
	}
	if r, _ := LCS(a, b, false, 4, 512<<20); len(r.Matches) != 1 {
		t.Errorf("MINMATCHLEN 4: %+v", r.Matches)
	}
	if r, _ := LCS(a, b, true, 0, 512<<20); r.Len != 6 || r.Seq != nil {
		t.Errorf("LEN: %+v", r)
	}
	if _, err := LCS(make([]byte, 100), make([]byte, 100), true, 0, 4*101*101-1); err != ErrLCSMemory {
		t.Errorf("over the table limit: %v", err)
	}
	if r, _ := LCS(nil, b, false, 0, 512<<20); r.Len != 0 || len(r.Seq) != 0 {
		t.Errorf("LCS with an empty value: %+v", r)
	}
}

func TestLongDouble(t *testing.T) {
	// Replies of redis-server 7.0 (x86-64) to INCRBYFLOAT on a missing key.
	for in, want := range map[string]string{
		"0.1": "0.1", "1e-20": "0", "-1e-20": "0", "5.0e3": "5000", "0x10": "16", "+1": "1", ".5": "0.5", "5.": "5",
		"1e-4940": "0", "0e-9999": "0", "0x1.8p-16446": "0",
		"0.000003814697265625":  "0.00000381469726562", // a tie: to even
		"0.0000019073486328125": "0.00000190734863281",
		"-0":                    "0",
		"2e308":                 "199999999999999999993371759311691291321120199694831134415594095989843469737676123744200253843777078640893494450108026446304269499187921167194841628860392837535918200039206381557326219209014213335878306791577877829121087126122536729803237260434173178506889763247582601711514636284849020905456510092687857156096",
	} {
		x, ok := ParseLongDouble([]byte(in))
		if !ok {
			t.Errorf("%q: not a valid float", in)
			continue
		}
		got, err := IncrByFloat(nil, false, x)
		if err != nil || string(got) != want {
			t.Errorf("INCRBYFLOAT missing %q = %.80q, %v; want %.80q", in, got, err, want)
		}
	}
	for _, in := range []string{"", " 1", "1 ", "nan", "-nan", "1e", "1e+", "0x", "0x.p1", "1.2e4932", "1e-5000", "0x1p-16446", "1\x00", "\x00",
		"infin", "--1", ".", "e5", string(make([]byte, MaxFloatLen))} {
		if _, ok := ParseLongDouble([]byte(in)); ok {
			t.Errorf("%q parsed as a valid float", in)
		}
	}
	inf, ok := ParseLongDouble([]byte("-INFINITY"))
	if !ok || !inf.IsInf() {
		t.Fatal("-INFINITY")
	}
	if _, err := IncrByFloat([]byte("1"), true, inf); err != ErrNaNOrInfinity {
		t.Errorf("adding -inf: %v", err)
	}
	big1, _ := ParseLongDouble([]byte("1e4932"))
	if _, err := IncrByFloat([]byte("1e4932"), true, big1); err != ErrNaNOrInfinity {
		t.Errorf("overflow: %v", err)
	}
	if _, err := IncrByFloat([]byte("abc"), true, big1); err != ErrNotFloat {
		t.Errorf("a value that is not a float: %v", err)
	}
	// float64 increments are exact.
	f, _ := Float64LD(0.1)
	if got, _ := IncrByFloat(nil, false, f); string(got) != "0.10000000000000001" {
		t.Errorf("float64 0.1 = %s", got)
	}
	if _, ok := Float64LD(math.NaN()); ok {
		t.Error("NaN accepted")
	}
	_ = errors.New
	_ = big.NewFloat
}
