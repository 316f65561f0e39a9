package lzf

import (
	"math"
	"sync"
)

const (
	hashLog = 16                  // liblzf's HLOG as Redis builds it
	maxLit  = 1 << 5              // longest literal run in one chunk
	maxOff  = 1 << 13             // farthest back-reference distance
	maxRef  = (1 << 8) + (1 << 3) // longest back-reference (264 bytes)
)

// Compressor holds the hash table used to find repeated byte sequences.
// Reusing one Compressor avoids both allocating and clearing the 256 KiB
// table on every call. A Compressor is not safe for concurrent use; its zero
// value is ready to use.
type Compressor struct {
	// table maps a hash of three bytes to the position (plus base+1) where
	// they were last seen. Entries not above base belong to earlier calls
	// and count as empty, so the table never needs clearing between calls.
	table [1 << hashLog]uint32
	base  uint32
}

var pool = sync.Pool{New: func() any { return new(Compressor) }}

// Compress appends the LZF compression of src to dst and returns the
// extended slice, or returns nil when the compressed form would be longer
// than limit bytes (or src is empty). Callers that need compression to pay
// for itself pass the largest size they are willing to store; Redis, for
// instance, stores a string compressed only when it fits in len(src)-4 bytes.
//
// Compress uses a Compressor from an internal pool; code that compresses in
// a loop may keep its own Compressor instead.
func Compress(dst, src []byte, limit int) []byte {
	c := pool.Get().(*Compressor)
	out := c.Compress(dst, src, limit)
	pool.Put(c)
	return out
}

// hash3 is liblzf's IDX(h) for the three bytes a, b, c (HLOG 16, VERY_FAST),
// reduced to the only bits that survive its final mask.
func hash3(a, b, c byte) uint32 {
	return ((uint32(a)<<8 | uint32(b)) - 5*(uint32(b)<<8|uint32(c))) & (1<<hashLog - 1)
}

// Compress appends the LZF compression of src to dst and returns the
// extended slice, or nil when the result would exceed limit bytes or src is
// empty. See the package-level Compress.
//
// Matches are chosen as liblzf 3.6 chooses them in the configuration Redis
// uses (a 2^16-entry table indexed by liblzf's hash, the last match for a
// hash wins, the two positions before the end of each match are re-hashed),
// so for a given input it produces what Redis produced from a fresh table.
// The one deliberate difference is the limit test, which is exact here
// where liblzf's is conservative by a byte or two.
func (c *Compressor) Compress(dst, src []byte, limit int) []byte {
	n := len(src)
	if n == 0 || limit <= 0 {
		return nil
	}
	bound := n + (n+maxLit-1)/maxLit // worst case: all literals
	if limit < bound {
		bound = limit
	}
	start := len(dst)
	// One spare byte: a reserved control byte that may be dropped again.
	if cap(dst)-start < bound+1 {
		grown := make([]byte, start, start+bound+1)
		copy(grown, dst)
		dst = grown
	}
	out := dst[start : start+bound+1]

	if uint64(c.base)+uint64(n)+1 >= math.MaxUint32 {
		clear(c.table[:])
		c.base = 0
	}
	base := c.base
	c.base += uint32(n) + 1
	tab := &c.table

	op := 1 // out[0] is reserved for the control byte of the first literal run
	lit := 0
	ip := 0
	for ip < n {
		// Matches need three bytes; the last two bytes are always literals.
		if ip < n-2 {
			h := hash3(src[ip], src[ip+1], src[ip+2])
			v := tab[h]
			tab[h] = base + uint32(ip) + 1
			if v > base {
				ref := int(v - base - 1)
				off := ip - ref - 1
				if ref > 0 && off < maxOff && src[ref] == src[ip] && src[ref+1] == src[ip+1] && src[ref+2] == src[ip+2] {
					l := matchLen(src, ref, ip)
					// Close the pending literal run, or drop its unused control byte.
					if lit > 0 {
						out[op-lit-1] = byte(lit - 1)
					} else {
						op--
					}
					code := l - 2
					size := 2
					if code >= 7 {
						size = 3
					}
					if op+size > bound {
						return nil
					}
					if code < 7 {
						out[op] = byte(off>>8 + code<<5)
						op++
					} else {
						out[op] = byte(off>>8 + 7<<5)
						out[op+1] = byte(code - 7)
						op += 2
					}
					out[op] = byte(off)
					op += 2 // the offset byte, then a reserved control byte
					lit = 0
					ip += l
					if ip < n-2 {
						tab[hash3(src[ip-2], src[ip-1], src[ip])] = base + uint32(ip-2) + 1
						tab[hash3(src[ip-1], src[ip], src[ip+1])] = base + uint32(ip-1) + 1
					}
					continue
				}
			}
		}
		if op >= bound {
			return nil
		}
		out[op] = src[ip]
		op++
		ip++
		lit++
		if lit == maxLit {
			out[op-lit-1] = maxLit - 1
			lit = 0
			op++
		}
	}
	if lit > 0 {
		out[op-lit-1] = byte(lit - 1)
	} else {
		op--
	}
	return dst[:start+op]
}

// matchLen returns how many bytes starting at src[ip] equal those starting
// at src[ref], given that the first three do, with liblzf's limits: at most
// 264, and normally leaving the last two input bytes to literals. Like
// liblzf, it first compares 16 bytes without consulting that limit when more
// than 16 are allowed (they are always inside src), so a match can reach the
// end of the input when 19 or 20 bytes remain.
func matchLen(src []byte, ref, ip int) int {
	maxlen := len(src) - ip - 2
	if maxlen > maxRef {
		maxlen = maxRef
	}
	l := 2
	if maxlen > 16 {
		for range 16 {
			l++
			if src[ref+l] != src[ip+l] {
				return l
			}
		}
	}
	for {
		l++
		if l >= maxlen || src[ref+l] != src[ip+l] {
			return l
		}
	}
}
