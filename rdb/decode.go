package rdb

import (
	"encoding/binary"
	"fmt"
	"strconv"

	"github.com/replikv/replikv/rdb/lzf"
)

// String encodings (the low six bits after a 0b11 length prefix).
const (
	encInt8  = 0
	encInt16 = 1
	encInt32 = 2
	encLZF   = 3
)

// strKind says how a string is stored.
type strKind uint8

const (
	strRaw strKind = iota // n raw bytes follow
	strInt                // an integer, value in ival
	strLZF                // n compressed bytes follow, ulen bytes once decompressed
)

// strHeader describes a string whose header has been read.
type strHeader struct {
	kind strKind
	n    int64 // raw length, or compressed length for strLZF
	ulen int64 // uncompressed length for strLZF
	ival int64 // value for strInt
}

// readLen reads a length (count, number) in RDB length encoding.
func (r *Reader) readLen() (uint64, error) {
	at := r.src.offset()
	b, err := r.src.readByte()
	if err != nil {
		return 0, err
	}
	switch b >> 6 {
	case 0:
		return uint64(b & 0x3f), nil
	case 1:
		lo, err := r.src.readByte()
		if err != nil {
			return 0, err
		}
		return uint64(b&0x3f)<<8 | uint64(lo), nil
	case 2:
		return r.readLongLen(at, b)
	default:
		return 0, r.corrupt(at, "expected a length, found string encoding byte 0x%02x", b)
	}
}

// readLongLen reads the 32- or 64-bit big-endian length that follows the
// prefix byte b (read at offset at).
func (r *Reader) readLongLen(at int64, b byte) (uint64, error) {
	switch b {
	case 0x80:
		p, err := r.src.next(4)
		if err != nil {
			return 0, err
		}
		return uint64(binary.BigEndian.Uint32(p)), nil
	case 0x81:
		p, err := r.src.next(8)
		if err != nil {
			return 0, err
		}
		return binary.BigEndian.Uint64(p), nil
	default:
		return 0, r.corrupt(at, "unknown length encoding 0x%02x", b)
	}
}

// checkLen enforces MaxStringLen on a string length read at offset at.
func (r *Reader) checkLen(at int64, what string, n uint64) (int64, error) {
	if n > uint64(r.opt.MaxStringLen) {
		return 0, &Error{Offset: at, Err: fmt.Errorf("%w: %s of %d bytes exceeds the limit of %d", ErrTooLarge, what, n, r.opt.MaxStringLen)}
	}
	return int64(n), nil
}

// stringHeader reads the header of a string: its encoding and lengths,
// checked against MaxStringLen. Integer encodings are read completely.
func (r *Reader) stringHeader() (strHeader, error) {
	at := r.src.offset()
	b, err := r.src.readByte()
	if err != nil {
		return strHeader{}, err
	}
	var n uint64
	switch b >> 6 {
	case 0:
		n = uint64(b & 0x3f)
	case 1:
		lo, err := r.src.readByte()
		if err != nil {
			return strHeader{}, err
		}
		n = uint64(b&0x3f)<<8 | uint64(lo)
	case 2:
		if n, err = r.readLongLen(at, b); err != nil {
			return strHeader{}, err
		}
	}
	if b>>6 != 3 {
		sn, err := r.checkLen(at, "string", n)
		return strHeader{kind: strRaw, n: sn}, err
	}
	switch b & 0x3f {
	case encInt8:
		p, err := r.src.next(1)
		if err != nil {
			return strHeader{}, err
		}
		return strHeader{kind: strInt, ival: int64(int8(p[0]))}, nil
	case encInt16:
		p, err := r.src.next(2)
		if err != nil {
			return strHeader{}, err
		}
		return strHeader{kind: strInt, ival: int64(int16(binary.LittleEndian.Uint16(p)))}, nil
	case encInt32:
		p, err := r.src.next(4)
		if err != nil {
			return strHeader{}, err
		}
		return strHeader{kind: strInt, ival: int64(int32(binary.LittleEndian.Uint32(p)))}, nil
	case encLZF:
		clen, err := r.readLen()
		if err != nil {
			return strHeader{}, err
		}
		ulen, err := r.readLen()
		if err != nil {
			return strHeader{}, err
		}
		c, err := r.checkLen(at, "LZF compressed string", clen)
		if err != nil {
			return strHeader{}, err
		}
		u, err := r.checkLen(at, "LZF uncompressed string", ulen)
		if err != nil {
			return strHeader{}, err
		}
		if c == 0 || (uint64(u)+lzf.MaxExpansion-1)/lzf.MaxExpansion > uint64(c) {
			return strHeader{}, r.corrupt(at, "LZF string of %d compressed bytes cannot hold %d bytes", c, u)
		}
		return strHeader{kind: strLZF, n: c, ulen: u}, nil
	default:
		return strHeader{}, r.corrupt(at, "unknown string encoding 0x%02x", b)
	}
}

// readString reads a string in any encoding and appends it to dst.
func (r *Reader) readString(dst []byte) ([]byte, error) {
	h, err := r.stringHeader()
	if err != nil {
		return dst, err
	}
	switch h.kind {
	case strInt:
		return strconv.AppendInt(dst, h.ival, 10), nil
	case strRaw:
		return r.src.appendN(dst, h.n)
	}
	at := r.src.offset()
	if r.lzfBuf, err = r.src.appendN(r.lzfBuf[:0], h.n); err != nil {
		return dst, err
	}
	out, err := lzf.Decompress(dst, r.lzfBuf, int(h.ulen))
	if err != nil {
		return dst, &Error{Offset: at, Err: fmt.Errorf("%w: %w", ErrCorrupt, err)}
	}
	return out, nil
}

// skipString steps over a string in any encoding without decoding it.
func (r *Reader) skipString() error {
	h, err := r.stringHeader()
	if err != nil || h.kind == strInt {
		return err
	}
	return r.src.skip(h.n)
}
