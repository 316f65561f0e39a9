package rdb

import (
	"encoding/binary"
	"fmt"
	"io"
	"strconv"
	"time"
	"unsafe"

	"github.com/replikv/replikv/rdb/lzf"
)

// DefaultWriteVersion is the RDB version a Writer produces by default.
// Version 9 is loaded by every Redis since 5.0; version 10 (Redis 7.0)
// only by 7.0 and later.
const DefaultWriteVersion = 9

// DefaultRedisVer is the default value of the redis-ver aux field.
const DefaultRedisVer = "7.0.0"

const (
	writeBufferSize = 32 << 10 // buffered bytes before a write to the destination
	directWriteMin  = 16 << 10 // strings this long bypass the buffer
	minCompressLen  = 21       // Redis tries LZF only on strings longer than 20 bytes
	compressSaving  = 4        // ... and keeps it only if it saves at least 4 bytes
)

// WriterOptions configures a Writer. The zero value gives the defaults.
type WriterOptions struct {
	// Version is the RDB version to write: 9 (the default when zero) or 10.
	Version int
	// RedisVer is the redis-ver aux field; default DefaultRedisVer ("7.0.0").
	RedisVer string
	// ReplID is the repl-id aux field: the replication ID the snapshot
	// belongs to (Redis uses 40 hex characters and ignores other lengths).
	ReplID string
	// ReplOffset is the repl-offset aux field: the replication offset the
	// snapshot was taken at.
	ReplOffset int64
	// ReplStreamDB is the repl-stream-db aux field: the database the
	// replication stream has selected at that offset.
	ReplStreamDB int
	// CTime is the ctime aux field, the creation time; default time.Now().
	CTime time.Time
	// UsedMem is the used-mem aux field, in bytes.
	UsedMem int64
	// NoCompression turns LZF compression of strings off (Redis's
	// "rdbcompression no"). By default strings longer than 20 bytes are
	// compressed when that saves at least 4 bytes, as Redis does.
	NoCompression bool
	// NoReplInfo omits the repl-stream-db, repl-id and repl-offset aux
	// fields, as Redis does for a snapshot that is not tied to replication.
	NoReplInfo bool
}

// Writer encodes string keys as an RDB stream. Create one with NewWriter,
// call SelectDB and WriteString, then Close. Output is buffered; errors
// from the destination are returned by the call that hits them and by
// every call after it. A Writer is not safe for concurrent use.
type Writer struct {
	w       io.Writer
	opt     WriterOptions
	buf     []byte
	crc     uint64 // of everything passed to w
	written int64  // bytes passed to w
	comp    *lzf.Compressor
	scratch []byte // compressed form of the current string
	err     error
	closed  bool
}

// NewWriter returns a Writer that writes an RDB stream to w, starting with
// the header and the aux fields redis-ver, redis-bits, ctime, used-mem,
// repl-stream-db, repl-id, repl-offset and aof-base, in that order (the
// three repl- fields only without NoReplInfo). Nothing reaches w before the
// internal buffer fills or Flush or Close is called.
func NewWriter(w io.Writer, opt WriterOptions) (*Writer, error) {
	if opt.Version == 0 {
		opt.Version = DefaultWriteVersion
	}
	if opt.Version != 9 && opt.Version != 10 {
		return nil, fmt.Errorf("%w: cannot write RDB version %d (9 or 10 only)", ErrVersion, opt.Version)
	}
	if opt.RedisVer == "" {
		opt.RedisVer = DefaultRedisVer
	}
	if opt.CTime.IsZero() {
		opt.CTime = time.Now()
	}
	wr := &Writer{w: w, opt: opt, buf: make([]byte, 0, writeBufferSize+512)}
	wr.buf = fmt.Appendf(wr.buf, "REDIS%04d", opt.Version)
	wr.aux("redis-ver", opt.RedisVer)
	wr.aux("redis-bits", "64")
	wr.aux("ctime", strconv.FormatInt(opt.CTime.Unix(), 10))
	wr.aux("used-mem", strconv.FormatInt(opt.UsedMem, 10))
	if !opt.NoReplInfo {
		wr.aux("repl-stream-db", strconv.Itoa(opt.ReplStreamDB))
		wr.aux("repl-id", opt.ReplID)
		wr.aux("repl-offset", strconv.FormatInt(opt.ReplOffset, 10))
	}
	wr.aux("aof-base", "0")
	return wr, nil
}

func (w *Writer) aux(key, value string) {
	w.buf = append(w.buf, opAux)
	w.appendString(bytesOf(key))
	w.appendString(bytesOf(value))
}

// bytesOf views s as a byte slice without copying. The slice must only be
// read: this package never writes through it.
func bytesOf(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// SelectDB starts database db: the keys written after it belong to db.
// keys and expires are the number of keys and of keys with an expiry that
// will follow, written as the RESIZEDB hint that lets Redis size its
// tables; they need not be exact. Keys written before any SelectDB belong
// to database 0.
func (w *Writer) SelectDB(db int, keys, expires uint64) error {
	if err := w.check(); err != nil {
		return err
	}
	if db < 0 || db > 1<<31-1 {
		return fmt.Errorf("rdb: SelectDB: database number %d out of range", db)
	}
	w.buf = append(w.buf, opSelectDB)
	w.buf = appendLen(w.buf, uint64(db))
	w.buf = append(w.buf, opResizeDB)
	w.buf = appendLen(w.buf, keys)
	w.buf = appendLen(w.buf, expires)
	return w.maybeFlush()
}

// WriteString writes a string key. expireMs is the absolute expiry time in
// Unix milliseconds, or 0 for none. Key and value are stored as Redis
// stores them: integer-encoded when they are the canonical decimal form of
// a 32-bit integer, LZF-compressed when longer than 20 bytes and that
// saves at least 4 bytes (unless NoCompression), raw otherwise.
func (w *Writer) WriteString(key string, value []byte, expireMs int64) error {
	if err := w.check(); err != nil {
		return err
	}
	if expireMs != 0 {
		w.buf = binary.LittleEndian.AppendUint64(append(w.buf, opExpireMs), uint64(expireMs))
	}
	w.buf = append(w.buf, typeString)
	w.appendString(bytesOf(key))
	w.appendString(value)
	return w.maybeFlush()
}

// Flush writes any buffered data to the destination.
func (w *Writer) Flush() error {
	if err := w.check(); err != nil {
		return err
	}
	w.flush()
	return w.err
}

// Close writes the EOF opcode and the CRC-64 checksum and flushes. It does
// not close the destination. Calling Close again returns the first
// Close's result; any other call after Close returns ErrClosed.
func (w *Writer) Close() error {
	if w.closed || w.err != nil {
		return w.err
	}
	w.closed = true
	w.buf = append(w.buf, opEOF)
	w.flush()
	if w.err != nil {
		return w.err
	}
	w.write(binary.LittleEndian.AppendUint64(w.buf[:0], w.crc))
	return w.err
}

// Written returns the number of bytes encoded so far, including those
// still buffered. After Close it is the size of the whole stream.
func (w *Writer) Written() int64 { return w.written + int64(len(w.buf)) }

func (w *Writer) check() error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return ErrClosed
	}
	return nil
}

// appendString encodes s as Redis would: integer, LZF or raw.
func (w *Writer) appendString(s []byte) {
	if len(s) <= 11 {
		if v, ok := canonicalInt32(s); ok {
			w.buf = appendInt(w.buf, v)
			return
		}
	}
	if !w.opt.NoCompression && len(s) >= minCompressLen {
		if w.comp == nil {
			w.comp = new(lzf.Compressor)
		}
		if cap(w.scratch) < len(s) {
			// Room for any result under the limit, so that Compress does
			// not allocate (a failed attempt would lose the allocation).
			w.scratch = make([]byte, 0, len(s))
		}
		if out := w.comp.Compress(w.scratch[:0], s, len(s)-compressSaving); out != nil {
			w.scratch = out
			w.buf = append(w.buf, 0xC0|encLZF)
			w.buf = appendLen(w.buf, uint64(len(out)))
			w.buf = appendLen(w.buf, uint64(len(s)))
			w.appendBytes(out)
			return
		}
	}
	w.buf = appendLen(w.buf, uint64(len(s)))
	w.appendBytes(s)
}

// appendBytes adds p to the output, directly when it is large.
func (w *Writer) appendBytes(p []byte) {
	if len(p) < directWriteMin {
		w.buf = append(w.buf, p...)
		return
	}
	w.flush()
	if w.err != nil {
		return
	}
	w.crc = CRC64(w.crc, p)
	w.write(p)
}

func (w *Writer) maybeFlush() error {
	if len(w.buf) >= writeBufferSize {
		w.flush()
	}
	return w.err
}

// flush folds the buffer into the checksum and writes it out.
func (w *Writer) flush() {
	if w.err != nil || len(w.buf) == 0 {
		return
	}
	w.crc = CRC64(w.crc, w.buf)
	w.write(w.buf)
	w.buf = w.buf[:0]
}

func (w *Writer) write(p []byte) {
	n, err := w.w.Write(p)
	w.written += int64(n)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	if err != nil {
		w.err = fmt.Errorf("rdb: writing: %w", err)
	}
}
