package rdb

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// next reads records up to the next string key or the end of the stream.
func (r *Reader) next() (Entry, error) {
	var expire int64
	hasExpire := false
	for {
		r.inKey = false
		at := r.src.offset()
		op, err := r.src.readByte()
		if err != nil {
			return Entry{}, err
		}
		switch op {
		case opEOF:
			return Entry{}, r.finish()
		case opAux:
			if err := r.readAux(); err != nil {
				return Entry{}, err
			}
		case opSelectDB:
			db, err := r.readLen()
			if err != nil {
				return Entry{}, err
			}
			if db > math.MaxInt32 {
				return Entry{}, r.corrupt(at, "database number %d out of range", db)
			}
			r.db = int(db)
		case opResizeDB:
			keys, err := r.readLen()
			if err != nil {
				return Entry{}, err
			}
			expires, err := r.readLen()
			if err != nil {
				return Entry{}, err
			}
			if r.opt.OnResizeDB != nil {
				r.opt.OnResizeDB(r.db, keys, expires)
			}
		case opExpireMs:
			b, err := r.src.next(8)
			if err != nil {
				return Entry{}, err
			}
			expire, hasExpire = int64(binary.LittleEndian.Uint64(b)), true
		case opExpireSec:
			b, err := r.src.next(4)
			if err != nil {
				return Entry{}, err
			}
			expire, hasExpire = int64(int32(binary.LittleEndian.Uint32(b)))*1000, true
		case opFreq:
			if err := r.src.skip(1); err != nil {
				return Entry{}, err
			}
		case opIdle:
			if _, err := r.readLen(); err != nil {
				return Entry{}, err
			}
		case opModuleAux:
			if err := r.skipModuleAux(); err != nil {
				return Entry{}, err
			}
			r.skipped.ModuleAux++
		case opFunction2:
			if err := r.skipString(); err != nil {
				return Entry{}, err
			}
			r.skipped.Functions++
		case opFunctionPreGA:
			return Entry{}, &Error{Offset: at, Err: fmt.Errorf("%w: function library in the format of Redis 7.0 release candidates (opcode 0xF6), which Redis 7.0 itself refuses to load", ErrUnsupportedType)}
		case opSlotInfo:
			for range 3 {
				if _, err := r.readLen(); err != nil {
					return Entry{}, err
				}
			}
		default:
			if !knownType(op) {
				return Entry{}, r.corrupt(at, "unknown value type or opcode 0x%02x", op)
			}
			if r.key, err = r.readString(r.key[:0]); err != nil {
				return Entry{}, err
			}
			r.inKey = true
			if op == typeString {
				if r.val, err = r.readString(r.val[:0]); err != nil {
					return Entry{}, err
				}
				if hasExpire && expire == 0 {
					expire = -1
				}
				return Entry{DB: r.db, Key: r.key, Value: r.val, ExpireMs: expire}, nil
			}
			if !r.opt.SkipNonString || op == typeModulePreGA {
				return Entry{}, &TypeError{Key: append([]byte{}, r.key...), Type: op, TypeName: TypeName(op), DB: r.db}
			}
			if err := r.skipValue(op); err != nil {
				return Entry{}, err
			}
			r.skipped.Keys++
			r.skipped.ByType[TypeName(op)]++
			expire, hasExpire = 0, false
		}
	}
}

// readAux reads an aux field's name and value.
func (r *Reader) readAux() error {
	k, err := r.readString(r.key[:0])
	if err != nil {
		return err
	}
	r.key = k
	v, err := r.readString(r.val[:0])
	if err != nil {
		return err
	}
	r.val = v
	if _, ok := r.aux[string(k)]; !ok && len(r.aux) >= maxAuxFields {
		return fmt.Errorf("%w: more than %d aux fields", ErrTooLarge, maxAuxFields)
	}
	r.aux[string(k)] = string(v)
	return nil
}

// finish handles the EOF opcode: it verifies the checksum and leaves the
// input just after it.
func (r *Reader) finish() error {
	r.src.foldCRC()
	computed := r.src.crc
	if r.version >= 5 {
		at := r.src.offset()
		b, err := r.src.next(8)
		if err != nil {
			return fmt.Errorf("reading the checksum: %w", err)
		}
		stored := binary.LittleEndian.Uint64(b)
		if stored != 0 && stored != computed {
			return &Error{Offset: at, Err: fmt.Errorf("%w: stored CRC-64 %016x, computed %016x", ErrChecksum, stored, computed)}
		}
	}
	r.src.release()
	return io.EOF
}
