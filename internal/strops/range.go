package strops

// GetRange returns the bytes of v from start to end inclusive, as Redis
// 7.0's GETRANGE picks them: negative indexes count from the end, both
// are then clamped into the value, and an empty range gives an empty
// result. The result is a slice of v (nil when empty).
func GetRange(v []byte, start, end int64) []byte {
	n := int64(len(v))
	if start < 0 && end < 0 && start > end {
		return nil
	}
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	start, end = max(start, 0), max(end, 0)
	if end >= n {
		end = n - 1
	}
	if start > end || n == 0 {
		return nil
	}
	return v[start : end+1]
}

// SetRangeLen returns the length of the value SETRANGE builds from a value
// of oldLen bytes, writing n bytes at offset (n > 0, offset >= 0), and
// false when it would exceed maxBulk or overflow.
func SetRangeLen(oldLen int, offset int64, n int, maxBulk int64) (int64, bool) {
	if offset < 0 || offset > maxBulk || int64(n) > maxBulk-offset {
		return 0, false
	}
	return max(int64(oldLen), offset+int64(n)), true
}

// SetRange returns a new value: old with value written at offset, padded
// with zero bytes when offset is past its end. The caller has checked the
// size with SetRangeLen; the result is a fresh slice of that size.
func SetRange(old []byte, offset int64, value []byte) []byte {
	out := make([]byte, max(int64(len(old)), offset+int64(len(value))))
	SetRangeInto(out, old, offset, value)
	return out
}

// SetRangeInto is SetRange building the value in dst, zeroed and of the
// length SetRangeLen returned.
func SetRangeInto(dst, old []byte, offset int64, value []byte) {
	copy(dst, old)
	copy(dst[offset:], value)
}
