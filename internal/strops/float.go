package strops

import (
	"math"
	"math/big"
)

// INCRBYFLOAT computes with C long doubles: on x86-64, where Redis is
// built, the x87 80-bit extended format (64-bit significand, exponents
// from -16382, subnormals down to 2^-16445, largest finite value just
// below 2^16384), parsed by glibc's strtold (correctly rounded) and
// printed with "%.17Lf" (exact decimal expansion, rounded half to even).
// A big.Float of 64 bits of precision holds such a value exactly; the
// functions below round as the hardware and glibc do, subnormals
// included.

const (
	ldPrec        = 64
	ldMaxExp      = 16384  // |x| < 2^16384 (big.Float exponent: x = m·2^e, ½ ≤ |m| < 1)
	ldMinNormExp  = -16381 // 2^-16382, the least normal value, is ½·2^-16381
	ldSubnormBase = 16445  // precision of a value of exponent e < ldMinNormExp is e+16445
	// MaxFloatLen is Redis's MAX_LONG_DOUBLE_CHARS: a float argument or
	// value of this many bytes or more is not a valid float.
	MaxFloatLen = 5 * 1024
)

// roundLD rounds an exact value to the long double format. It returns
// the rounded value (precision 64) and whether it overflowed (the
// hardware gives ±Inf then). A non-zero x may round to zero.
func roundLD(x *big.Float) (*big.Float, bool) {
	if x.Sign() == 0 || x.IsInf() {
		return new(big.Float).SetPrec(ldPrec).Set(x), x.IsInf()
	}
	var m big.Float
	e := x.MantExp(&m)
	p := ldPrec
	if e < ldMinNormExp {
		p = e + ldSubnormBase
	}
	if p <= 0 {
		// Below half the least subnormal, or at it: round to zero (a tie
		// goes to the even zero), unless above half of 2^-16445.
		r := new(big.Float).SetPrec(ldPrec)
		if p == 0 && m.Abs(&m).Cmp(big.NewFloat(0.5)) > 0 {
			r.SetMantExp(big.NewFloat(1), -ldSubnormBase)
		}
		if x.Sign() < 0 {
			r.Neg(r)
		}
		return r, false
	}
	r := new(big.Float).SetPrec(uint(p)).SetMode(big.ToNearestEven).Set(x)
	if r.MantExp(nil) > ldMaxExp {
		return r.SetInf(x.Sign() < 0), true
	}
	return r.SetPrec(ldPrec), false
}

// ParseLongDouble parses b as Redis's string2ld does (strtold in the C
// locale, which must consume every byte): decimal or hexadecimal
// ("0x1.8p3") numbers with an optional sign and exponent, and "inf" or
// "infinity" in any case. NaN, leading spaces, values that overflow or
// underflow to zero, and arguments of MaxFloatLen bytes or more are not
// valid. The result has 64 bits of precision and may be infinite.
// Exponents are clamped while being read, so no work depends on their
// size.
func ParseLongDouble(b []byte) (*big.Float, bool) {
	if len(b) == 0 || len(b) >= MaxFloatLen {
		return nil, false
	}
	switch b[0] {
	case ' ', '\t', '\n', '\v', '\f', '\r':
		return nil, false
	}
	neg := false
	if b[0] == '+' || b[0] == '-' {
		neg = b[0] == '-'
		b = b[1:]
	}
	var x *big.Float
	var ok bool
	switch {
	case equalFoldExact(b, "INF"), equalFoldExact(b, "INFINITY"):
		x, ok = new(big.Float).SetPrec(ldPrec).SetInf(false), true
	case len(b) >= 2 && b[0] == '0' && (b[1] == 'x' || b[1] == 'X'):
		x, ok = parseHexLD(b[2:])
	default:
		x, ok = parseDecLD(b)
	}
	if !ok {
		return nil, false
	}
	if neg {
		x.Neg(x)
	}
	return x, true
}

// equalFoldExact is equalFold without the C string cut at NUL.
func equalFoldExact(b []byte, s string) bool {
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

// expClamp bounds exponents while they are read: far beyond any that can
// give a finite non-zero long double from MaxFloatLen digits.
const expClamp = 1 << 20

// scanMantissa reads digits with an optional point: the digits (without
// the point) and how many followed the point. ok is false without any
// digit.
func scanMantissa(b []byte, isDigit func(byte) bool) (digits []byte, frac int, rest []byte, ok bool) {
	i := 0
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	intPart := b[:i]
	if i < len(b) && b[i] == '.' {
		j := i + 1
		for j < len(b) && isDigit(b[j]) {
			j++
		}
		frac = j - i - 1
		digits = append(append(make([]byte, 0, len(intPart)+frac), intPart...), b[i+1:j]...)
		i = j
	} else {
		digits = intPart
	}
	return digits, frac, b[i:], len(digits) > 0
}

// scanExp reads a whole [+-]digits exponent (the rest of the argument),
// clamped to ±expClamp.
func scanExp(b []byte) (int64, bool) {
	neg := false
	if len(b) > 0 && (b[0] == '+' || b[0] == '-') {
		neg = b[0] == '-'
		b = b[1:]
	}
	if len(b) == 0 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		if n < expClamp {
			n = n*10 + int64(c-'0')
		}
	}
	if neg {
		n = -n
	}
	return n, true
}

func isDec(c byte) bool { return '0' <= c && c <= '9' }
func isHex(c byte) bool { return isDec(c) || ('a' <= c|0x20 && c|0x20 <= 'f') }

func parseDecLD(b []byte) (*big.Float, bool) {
	digits, frac, rest, ok := scanMantissa(b, isDec)
	if !ok {
		return nil, false
	}
	var e10 int64
	if len(rest) > 0 {
		if rest[0] != 'e' && rest[0] != 'E' {
			return nil, false
		}
		if e10, ok = scanExp(rest[1:]); !ok {
			return nil, false
		}
	}
	for len(digits) > 0 && digits[0] == '0' {
		digits = digits[1:]
	}
	if len(digits) == 0 {
		return new(big.Float).SetPrec(ldPrec), true // zero, whatever the exponent
	}
	e10 -= int64(frac)
	d := int64(len(digits))
	switch {
	case d-1+e10 >= 4933: // at least 1e4933: beyond the largest long double
		return nil, false
	case d+e10 < -4952: // below 1e-4952: rounds to zero (ERANGE)
		return nil, false
	}
	var n, m big.Int
	n.SetString(string(digits), 10)
	m.SetInt64(1)
	ten := big.NewInt(10)
	if e10 > 0 {
		n.Mul(&n, new(big.Int).Exp(ten, big.NewInt(e10), nil))
	} else if e10 < 0 {
		m.Exp(ten, big.NewInt(-e10), nil)
	}
	return ratioLD(&n, &m)
}

// ratioLD rounds n/m (both positive) to a long double, rejecting
// overflow and underflow to zero as string2ld does.
func ratioLD(n, m *big.Int) (*big.Float, bool) {
	// The exact exponent e: 2^(e-1) <= n/m < 2^e.
	k := n.BitLen() - m.BitLen()
	e := k
	if cmpShifted(n, m, k) >= 0 {
		e = k + 1
	}
	// 66 bits of quotient and a sticky bit are enough to round to at
	// most 64 bits exactly as the full value would.
	s := 66 - e
	num, den := new(big.Int).Set(n), new(big.Int).Set(m)
	if s >= 0 {
		num.Lsh(num, uint(s))
	} else {
		den.Lsh(den, uint(-s))
	}
	q, r := new(big.Int).QuoRem(num, den, new(big.Int))
	if r.Sign() != 0 {
		q.SetBit(q, 0, 1)
	}
	x := new(big.Float).SetInt(q)
	x.SetMantExp(x, -s)
	return finishLD(x)
}

// cmpShifted compares n with m·2^k.
func cmpShifted(n, m *big.Int, k int) int {
	if k >= 0 {
		return n.Cmp(new(big.Int).Lsh(m, uint(k)))
	}
	return new(big.Int).Lsh(n, uint(-k)).Cmp(m)
}

// finishLD rounds an exact non-zero value and applies string2ld's
// checks: overflow and underflow to zero are not valid.
func finishLD(x *big.Float) (*big.Float, bool) {
	r, overflow := roundLD(x)
	if overflow || r.Sign() == 0 {
		return nil, false
	}
	return r, true
}

func parseHexLD(b []byte) (*big.Float, bool) {
	digits, frac, rest, ok := scanMantissa(b, isHex)
	if !ok {
		return nil, false
	}
	var e2 int64
	if len(rest) > 0 {
		if rest[0] != 'p' && rest[0] != 'P' {
			return nil, false
		}
		if e2, ok = scanExp(rest[1:]); !ok {
			return nil, false
		}
	}
	for len(digits) > 0 && digits[0] == '0' {
		digits = digits[1:]
	}
	if len(digits) == 0 {
		return new(big.Float).SetPrec(ldPrec), true
	}
	e2 -= 4 * int64(frac)
	top := e2 + 4*int64(len(digits)) // the value is below 2^top
	switch {
	case top > ldMaxExp+4: // at least 2^16384
		return nil, false
	case top < -ldSubnormBase-8: // far below half the least subnormal
		return nil, false
	}
	var n big.Int
	n.SetString(string(digits), 16)
	x := new(big.Float).SetInt(&n)
	x.SetMantExp(x, int(e2))
	return finishLD(x)
}

// AddLongDouble adds two long doubles as the x87 unit does, rounding the
// exact sum once. inf reports a result that is not finite (Redis: "increment
// would produce NaN or Infinity"); infinite operands give it too.
func AddLongDouble(x, y *big.Float) (sum *big.Float, inf bool) {
	if x.IsInf() || y.IsInf() {
		return nil, true
	}
	if x.Sign() == 0 || y.Sign() == 0 {
		// Exact; a zero sum of zeros is -0 only when both are (IEEE).
		z := new(big.Float).SetPrec(ldPrec).Add(x, y)
		return z, false
	}
	ex, ey := x.MantExp(nil), y.MantExp(nil)
	d := ex - ey
	if d < 0 {
		d = -d
	}
	exact := new(big.Float).SetPrec(uint(2*ldPrec+d+2)).Add(x, y)
	r, overflow := roundLD(exact)
	if overflow {
		return nil, true
	}
	return r, false
}

// FormatLongDouble formats a finite long double as Redis's ld2string in
// LD_STR_HUMAN mode: "%.17Lf", trailing zeros after the point removed
// (and the point when nothing follows it), "-0" written as "0".
func FormatLongDouble(x *big.Float) []byte {
	s := x.Append(nil, 'f', 17)
	n := len(s)
	for n > 0 && s[n-1] == '0' {
		n--
	}
	if n > 0 && s[n-1] == '.' {
		n--
	}
	s = s[:n]
	if string(s) == "-0" {
		return []byte("0")
	}
	return s
}

// Float64LD converts a float64 to a long double (exactly; NaN is not
// valid).
func Float64LD(f float64) (*big.Float, bool) {
	if math.IsNaN(f) {
		return nil, false
	}
	return new(big.Float).SetPrec(ldPrec).SetFloat64(f), true
}

// IncrByFloat is INCRBYFLOAT's computation: the value (exists false for
// a missing key, which counts as 0) plus incr, formatted. It returns
// ErrNotFloat when the value is not a valid float, ErrNaNOrInfinity when
// the result is not finite.
func IncrByFloat(cur []byte, exists bool, incr *big.Float) ([]byte, error) {
	v := new(big.Float).SetPrec(ldPrec)
	if exists {
		var ok bool
		if v, ok = ParseLongDouble(cur); !ok {
			return nil, ErrNotFloat
		}
	}
	sum, inf := AddLongDouble(v, incr)
	if inf {
		return nil, ErrNaNOrInfinity
	}
	return FormatLongDouble(sum), nil
}
