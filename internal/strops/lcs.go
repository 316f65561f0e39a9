package strops

// LCSOptions are the options of LCS.
type LCSOptions struct {
	Len          bool  // LEN: the length only
	Idx          bool  // IDX: the matching ranges
	WithMatchLen bool  // WITHMATCHLEN: each range with its length
	MinMatchLen  int64 // MINMATCHLEN: ranges shorter than this are left out (negative counts as 0)
}

// ParseLCS parses the arguments of LCS after the two keys.
func ParseLCS(args [][]byte) (LCSOptions, error) {
	var o LCSOptions
	for j := 0; j < len(args); j++ {
		more := len(args) - 1 - j
		switch opt := args[j]; {
		case equalFold(opt, "IDX"):
			o.Idx = true
		case equalFold(opt, "LEN"):
			o.Len = true
		case equalFold(opt, "WITHMATCHLEN"):
			o.WithMatchLen = true
		case equalFold(opt, "MINMATCHLEN") && more > 0:
			n, ok := ParseInt(args[j+1])
			if !ok {
				return o, ErrNotInteger
			}
			o.MinMatchLen = max(n, 0)
			j++
		default:
			return o, ErrSyntax
		}
	}
	if o.Idx && o.Len {
		return o, ErrLCSLenIdx
	}
	return o, nil
}

// LCSMatch is one range of IDX: A[0]..A[1] in the first value matches
// B[0]..B[1] in the second (inclusive); Len is their length.
type LCSMatch struct {
	A, B [2]int64
	Len  int64
}

// LCSResult is what LCS computes: the length, and unless only the length
// was asked for, the subsequence itself and the matching ranges (from the
// end of the values to their start, as Redis lists them).
type LCSResult struct {
	Len     int64
	Seq     []byte
	Matches []LCSMatch
}

// LCSTableSize is the memory Redis's LCS needs for values of these
// lengths: a (la+1)×(lb+1) table of 32-bit cells. LCS refuses (like
// Redis) when it exceeds proto-max-bulk-len.
func LCSTableSize(la, lb int) int64 {
	return (int64(la) + 1) * (int64(lb) + 1) * 4
}

// LCS computes the longest common subsequence of a and b with Redis's
// dynamic programming, so that among several subsequences of the same
// length it picks Redis's, with Redis's ranges. It returns ErrLCSMemory
// when the table would exceed maxBulk bytes (LCSTableSize). With
// lenOnly, only the length is computed, in two rows of memory (the limit
// still applies, as in Redis). minMatchLen filters the ranges.
func LCS(a, b []byte, lenOnly bool, minMatchLen, maxBulk int64) (LCSResult, error) {
	if LCSTableSize(len(a), len(b)) > maxBulk {
		return LCSResult{}, ErrLCSMemory
	}
	alen, blen := len(a), len(b)
	if lenOnly {
		prev := make([]uint32, blen+1)
		cur := make([]uint32, blen+1)
		for i := 1; i <= alen; i++ {
			for j := 1; j <= blen; j++ {
				if a[i-1] == b[j-1] {
					cur[j] = prev[j-1] + 1
				} else {
					cur[j] = max(prev[j], cur[j-1])
				}
			}
			prev, cur = cur, prev
		}
		return LCSResult{Len: int64(prev[blen])}, nil
	}
	w := blen + 1
	t := make([]uint32, (alen+1)*w)
	for i := 1; i <= alen; i++ {
		row, up := t[i*w:(i+1)*w], t[(i-1)*w:i*w]
		for j := 1; j <= blen; j++ {
			if a[i-1] == b[j-1] {
				row[j] = up[j-1] + 1
			} else {
				row[j] = max(up[j], row[j-1])
			}
		}
	}
	idx := t[alen*w+blen]
	res := LCSResult{Len: int64(idx), Seq: make([]byte, idx)}
	// Walk back as Redis does, collecting the ranges.
	aStart, aEnd, bStart, bEnd := alen, 0, 0, 0 // aStart == alen: no range open
	i, j := alen, blen
	for i > 0 && j > 0 {
		emit := false
		if a[i-1] == b[j-1] {
			res.Seq[idx-1] = a[i-1]
			if aStart == alen {
				aStart, aEnd, bStart, bEnd = i-1, i-1, j-1, j-1
			} else if aStart == i && bStart == j {
				aStart--
				bStart--
			} else {
				emit = true
			}
			if aStart == 0 || bStart == 0 {
				emit = true
			}
			idx--
			i--
			j--
		} else {
			if t[(i-1)*w+j] > t[i*w+j-1] {
				i--
			} else {
				j--
			}
			if aStart != alen {
				emit = true
			}
		}
		if emit {
			n := int64(aEnd - aStart + 1)
			if minMatchLen == 0 || n >= minMatchLen {
				res.Matches = append(res.Matches, LCSMatch{
					A: [2]int64{int64(aStart), int64(aEnd)}, B: [2]int64{int64(bStart), int64(bEnd)}, Len: n})
			}
			aStart = alen
		}
	}
	return res, nil
}
