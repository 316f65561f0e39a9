package lzf

import (
	"encoding/binary"
	"math"
	"math/bits"
	"sync"
)

const (
	hashLog = 16                  // liblzf's HLOG as Redis builds it
	maxLit  = 1 << 5              // longest literal run in one chunk
	maxOff  = 1 << 13             // farthest back-reference distance
	maxRef  = (1 << 8) + (1 << 3) // longest back-reference (264 bytes)
)

// maxInput is the longest input Compress accepts (positions are kept in
// 32 bits); longer inputs are returned uncompressed (nil), as liblzf, whose
// lengths are C unsigned ints, could not take them either.
const maxInput = 1<<31 - 1

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
// than limit bytes (or src is empty, or 2 GiB or longer). Callers that need
// compression to pay for itself pass the largest size they are willing to
// store; Redis, for instance, stores a string compressed only when it fits
// in len(src)-4 bytes.
//
// Compress uses a Compressor from an internal pool; code that compresses in
// a loop may keep its own Compressor instead.
func Compress(dst, src []byte, limit int) []byte {
	c := pool.Get().(*Compressor)
	out := c.Compress(dst, src, limit)
	pool.Put(c)
	return out
}

// hash3 is liblzf's IDX(h) for the three bytes x holds in its low 24 bits
// (first byte lowest), with HLOG 16 and VERY_FAST, reduced to the bits that
// survive its final mask: ((b0<<8|b1) - 5*(b1<<8|b2)) mod 2^16.
func hash3(x uint32) uint16 {
	return bits.ReverseBytes16(uint16(x)) - 5*bits.ReverseBytes16(uint16(x>>8))
}

// load3 returns src[i], src[i+1], src[i+2] as the low bytes of a uint32
// (higher bits are garbage when four bytes are available).
func load3(src []byte, i int) uint32 {
	if i+4 <= len(src) {
		return binary.LittleEndian.Uint32(src[i:])
	}
	return uint32(src[i]) | uint32(src[i+1])<<8 | uint32(src[i+2])<<16
}

// Incompressible input is abandoned cheaply: after accelAfter probes in a
// row without a match, the compressor probes only every step-th position,
// the step growing by one every 1<<accelShift further misses (positions in
// between become literals). Compressible data finds matches long before
// that, so for it the output is what liblzf produces.
const (
	accelAfter = 256
	accelShift = 5
)

// Compress appends the LZF compression of src to dst and returns the
// extended slice, or nil when the result would exceed limit bytes or src is
// empty. See the package-level Compress.
//
// Matches are chosen as liblzf 3.6 chooses them in the configuration Redis
// uses (a 2^16-entry table indexed by liblzf's hash, the last position seen
// for a hash wins, the two positions before the end of each match are
// re-hashed), so for a given input it produces what Redis produced from a
// fresh table. There are two deliberate differences: the limit test is
// exact, where liblzf's is conservative by a byte or two, and after 256
// positions in a row without a match the search speeds up (see accelAfter),
// where liblzf would plod through incompressible input byte by byte.
func (c *Compressor) Compress(dst, src []byte, limit int) []byte {
	n := len(src)
	if n == 0 || n > maxInput || limit <= 0 {
		return nil
	}
	bound := n + (n+maxLit-1)/maxLit // worst case: all literals
	if limit < bound {
		bound = limit
	}
	if !mayFit(src, bound) {
		return nil
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

	op := 1 // out[0] is reserved for the control byte of the first literal run
	lit := 0
	ip := 0
	misses := 0
	for ip < n {
		// Matches need three bytes; the last two bytes are always literals.
		if ip < n-2 {
			if ref, ok := c.probe(src, ip, base); ok {
				l := matchLen(src, ref, ip)
				// Close the pending literal run, or drop its unused control byte.
				if lit > 0 {
					out[op-lit-1] = byte(lit - 1)
				} else {
					op--
				}
				if op = putRef(out, op, bound, ip-ref-1, l); op < 0 {
					return nil
				}
				lit, misses = 0, 0
				if ip += l; ip < n-2 {
					c.table[hash3(load3(src, ip-2))] = base + uint32(ip-2) + 1
					c.table[hash3(load3(src, ip-1))] = base + uint32(ip-1) + 1
				}
				continue
			}
			misses++
		}
		// Copy a literal byte, or several once the search accelerates.
		if misses <= accelAfter {
			if op >= bound {
				return nil
			}
			out[op] = src[ip]
			op++
			ip++
			lit++
		} else {
			k := min(1+(misses-accelAfter)>>accelShift, n-ip, maxLit-lit)
			if op+k > bound {
				return nil
			}
			copy(out[op:op+k], src[ip:ip+k])
			op += k
			ip += k
			lit += k
		}
		if lit == maxLit { // close the run, reserve the next control byte
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

// probe records position ip in the hash table and returns the position
// last recorded for the same hash, if it is in this input, within reach
// of a back-reference, not the very first byte (liblzf never refers to
// it), and starts with the same three bytes.
func (c *Compressor) probe(src []byte, ip int, base uint32) (ref int, ok bool) {
	x := load3(src, ip)
	h := hash3(x)
	v := c.table[h]
	c.table[h] = base + uint32(ip) + 1
	if v <= base {
		return 0, false
	}
	ref = int(v - base - 1)
	return ref, ref > 0 && ip-ref-1 < maxOff && (binary.LittleEndian.Uint32(src[ref:])^x)&0xffffff == 0
}

// mayFit reports whether src could possibly compress to limit bytes or
// fewer. It is a necessary condition, cheap to test, that rejects most
// short incompressible strings before any hashing.
//
// LZF output is at least n + 1 - S bytes, S being the sum over the matches
// of their length minus two (the literals cost a byte each plus at least
// one control byte, as the first byte is always a literal; a match costs
// two or three bytes). Every byte a match covers repeats a byte seen
// earlier in src, and a match covers at least three consecutive bytes, so a
// maximal run of R consecutive already-seen bytes contributes at most R-2
// to S, and runs shorter than 3 nothing.
func mayFit(src []byte, limit int) bool {
	need := len(src) + 1 - limit
	if need <= 0 {
		return true
	}
	// Branch-free on purpose: the pattern of seen and unseen bytes is
	// random for random data and would defeat branch prediction.
	var seen [256]uint8
	run, saved := 0, 0
	for _, c := range src {
		m := int(seen[c]) // 1 if c occurred before
		seen[c] = 1
		run = (run + 1) & -m            // length of the current run of repeats
		saved += int(uint(2-run) >> 63) // each byte from the third of a run on
		if saved >= need {
			return true
		}
	}
	return false
}

// putRef writes a back-reference of l bytes at distance off+1 at out[op],
// then reserves a control byte for the next literal run, and returns the
// new op, or -1 if the reference does not fit within bound bytes.
func putRef(out []byte, op, bound, off, l int) int {
	code := l - 2
	if code < 7 {
		if op+2 > bound {
			return -1
		}
		out[op] = byte(off>>8 + code<<5)
		out[op+1] = byte(off)
		return op + 3
	}
	if op+3 > bound {
		return -1
	}
	out[op] = byte(off>>8 + 7<<5)
	out[op+1] = byte(code - 7)
	out[op+2] = byte(off)
	return op + 4
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
