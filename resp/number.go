package resp

import "math"

// parseInt parses b the way Redis's string2ll does: an optional '-', then
// decimal digits without leading zeros ("0" alone is fine, "-0" is not),
// fitting in an int64. A '+', spaces or an empty b are rejected.
func parseInt(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 19 || (b[0] == '0' && (len(b) > 1 || neg)) {
		return 0, false
	}
	var u uint64 // at most 19 digits: cannot overflow
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		u = u*10 + uint64(c-'0')
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return -int64(u), true
	}
	if u > math.MaxInt64 {
		return 0, false
	}
	return int64(u), true
}

// decimalLen returns the number of bytes of n written in decimal, sign
// included.
func decimalLen(n int64) int {
	size := 1
	u := uint64(n)
	if n < 0 {
		size++
		u = -u
	}
	for u >= 10 {
		u /= 10
		size++
	}
	return size
}
