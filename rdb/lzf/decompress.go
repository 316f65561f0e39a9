package lzf

import "fmt"

// MaxExpansion is the largest factor by which LZF output can exceed its
// input: a three-byte back-reference produces at most 264 bytes. A declared
// uncompressed length greater than MaxExpansion times the compressed length
// is therefore certainly corrupt, which lets a decoder reject it before
// allocating anything.
const MaxExpansion = 88

// Decompress appends the decompression of src to dst and returns the
// extended slice. outLen is the exact number of bytes src must decompress to
// (LZF streams do not record it themselves); the caller is expected to have
// checked it against its own limits. Decompress allocates at most once, and
// only outLen bytes beyond len(dst), when dst lacks the capacity.
//
// Any inconsistency is reported as an error wrapping ErrCorrupt that gives
// the offset in src: a truncated literal or back-reference, a back-reference
// pointing before the start of the output, output that would exceed outLen,
// or output that ends short of outLen. On error the returned slice is nil.
func Decompress(dst, src []byte, outLen int) ([]byte, error) {
	if outLen < 0 {
		return nil, fmt.Errorf("%w: negative output length %d", ErrCorrupt, outLen)
	}
	start := len(dst)
	if cap(dst)-start < outLen {
		grown := make([]byte, start, start+outLen)
		copy(grown, dst)
		dst = grown
	}
	out := dst[start : start+outLen]
	op, ip := 0, 0
	for ip < len(src) {
		at := ip
		ctrl := int(src[ip])
		ip++
		if ctrl < 32 {
			n := ctrl + 1
			if n > len(src)-ip {
				return nil, fmt.Errorf("%w: literal run of %d bytes at input offset %d is truncated (%d bytes left)", ErrCorrupt, n, at, len(src)-ip)
			}
			if n > outLen-op {
				return nil, fmt.Errorf("%w: literal run at input offset %d overflows the declared output length %d", ErrCorrupt, at, outLen)
			}
			copy(out[op:], src[ip:ip+n])
			ip += n
			op += n
			continue
		}
		n := ctrl >> 5
		if n == 7 {
			if ip >= len(src) {
				return nil, fmt.Errorf("%w: back-reference at input offset %d is truncated", ErrCorrupt, at)
			}
			n += int(src[ip])
			ip++
		}
		n += 2
		if ip >= len(src) {
			return nil, fmt.Errorf("%w: back-reference at input offset %d is truncated", ErrCorrupt, at)
		}
		dist := (ctrl&0x1f)<<8 | int(src[ip])
		dist++
		ip++
		ref := op - dist
		if ref < 0 {
			return nil, fmt.Errorf("%w: back-reference at input offset %d points %d bytes before the start of the output", ErrCorrupt, at, -ref)
		}
		if n > outLen-op {
			return nil, fmt.Errorf("%w: back-reference at input offset %d overflows the declared output length %d", ErrCorrupt, at, outLen)
		}
		if dist >= n {
			copy(out[op:op+n], out[ref:ref+n])
			op += n
			continue
		}
		// Overlapping copy: the bytes from ref repeat with period dist.
		// Copying out[ref:op] forward keeps op-ref a multiple of dist, so
		// each chunk continues the period correctly and doubles in size.
		end := op + n
		for op < end {
			op += copy(out[op:end], out[ref:op])
		}
	}
	if op != outLen {
		return nil, fmt.Errorf("%w: produced %d bytes, declared length is %d", ErrCorrupt, op, outLen)
	}
	return dst[:start+outLen], nil
}
