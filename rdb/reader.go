package rdb

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"maps"
)

// DefaultMaxStringLen is the default ReaderOptions.MaxStringLen: 512 MiB,
// Redis's own limit on a string (proto-max-bulk-len).
const DefaultMaxStringLen = 512 << 20

// MinVersion and MaxVersion bound the RDB versions a Reader accepts:
// everything from the first format up to version 11 (Redis 7.2).
const (
	MinVersion = 1
	MaxVersion = 11
)

// maxAuxFields bounds the number of distinct aux fields kept by a Reader, so
// that a hostile stream of aux fields cannot grow memory without limit. Real
// files carry about ten.
const maxAuxFields = 1024

// readBufferSize is the size of the bufio.Reader a Reader puts around an
// input that is not already a *bufio.Reader.
const readBufferSize = 64 << 10

// ReaderOptions configures a Reader. The zero value gives the defaults.
type ReaderOptions struct {
	// MaxStringLen is the longest string (key, value, aux field, or a
	// compressed or uncompressed LZF length) the Reader accepts; a longer
	// one fails with ErrTooLarge before anything is allocated for it.
	// Zero or negative means DefaultMaxStringLen (512 MiB).
	MaxStringLen int64
	// SkipNonString makes Next step over keys of any type other than
	// string (lists, sets, hashes, sorted sets, streams, module values)
	// and count them in Skipped, instead of failing with a *TypeError.
	// Module values in the pre-release format of Redis 4.0 (type 6) cannot
	// be skipped and fail either way.
	SkipNonString bool
	// OnResizeDB, if set, is called for each RESIZEDB record with the
	// database number and the key and expiry counts it announces. The
	// counts come from the input and are only hints: check them against
	// your own limits before sizing anything by them.
	OnResizeDB func(db int, keys, expires uint64)
}

// Entry is one string key read from an RDB stream.
type Entry struct {
	DB    int    // the database the key belongs to (SELECTDB), 0 if none was given
	Key   []byte // the key; valid only until the next call to Next
	Value []byte // the value; valid only until the next call to Next
	// ExpireMs is the absolute expiry time in Unix milliseconds, or 0 if
	// the key does not expire. A stored expiry of exactly 0 (1970-01-01)
	// is reported as -1 so that it still reads as "already expired".
	ExpireMs int64
}

// SkipStats counts what a Reader stepped over.
type SkipStats struct {
	Keys      int            // keys of non-string types skipped
	ByType    map[string]int // the same keys by type name (see TypeName)
	Functions int            // function libraries (opcode F5) skipped
	ModuleAux int            // module aux records (opcode F7) skipped
}

// Reader decodes string entries from an RDB stream. Use NewReader, then
// call Next until it returns io.EOF. A Reader is not safe for concurrent use.
//
// Because a snapshot is only known to be intact once its checksum has been
// verified at the very end, a caller should load entries beside its live
// data and switch over only after Next has returned io.EOF.
type Reader struct {
	src     source
	opt     ReaderOptions
	version int
	db      int
	aux     map[string]string
	skipped SkipStats
	key     []byte // current key; reused
	val     []byte // current value; reused
	lzfBuf  []byte // compressed bytes of the current LZF string; reused
	inKey   bool   // errors belong to the key in r.key
	err     error  // sticky: returned again by every later call
}

// NewReader reads and checks the RDB header ("REDIS" and a four-digit
// version) from rd and returns a Reader positioned at the first record.
// Versions MinVersion to MaxVersion are accepted; others fail with
// ErrVersion.
//
// If rd is a *bufio.Reader, the Reader takes bytes from it only as it
// parses them, so once Next has returned io.EOF, rd is positioned just
// after the RDB payload and the caller can go on reading what follows (a
// replication stream, for instance). Any other reader is wrapped in a
// 64 KiB bufio.Reader, which may read past the end of the payload.
func NewReader(rd io.Reader, opt ReaderOptions) (*Reader, error) {
	br, ok := rd.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(rd, readBufferSize)
	}
	if opt.MaxStringLen <= 0 {
		opt.MaxStringLen = DefaultMaxStringLen
	}
	r := &Reader{
		src:     source{br: br},
		opt:     opt,
		aux:     make(map[string]string),
		skipped: SkipStats{ByType: make(map[string]int)},
	}
	hdr, err := r.src.next(9)
	if err != nil {
		return nil, &Error{Offset: 0, Err: fmt.Errorf("reading the header: %w", err)}
	}
	if string(hdr[:5]) != "REDIS" {
		return nil, r.corrupt(0, "bad magic %q, not an RDB stream", hdr[:5])
	}
	v := 0
	for _, c := range hdr[5:9] {
		if c < '0' || c > '9' {
			return nil, r.corrupt(5, "bad version field %q", hdr[5:9])
		}
		v = v*10 + int(c-'0')
	}
	if v < MinVersion || v > MaxVersion {
		return nil, &Error{Offset: 5, Err: fmt.Errorf("%w: RDB version %d (this package reads versions %d to %d)", ErrVersion, v, MinVersion, MaxVersion)}
	}
	r.version = v
	return r, nil
}

// Version returns the RDB version from the header.
func (r *Reader) Version() int { return r.version }

// Offset returns the number of bytes of the stream consumed so far,
// header included. After io.EOF it is the size of the whole payload.
func (r *Reader) Offset() int64 { return r.src.offset() }

// Aux returns a copy of the aux fields read so far (redis-ver, ctime,
// repl-id, repl-offset, ...). Integer-encoded values are rendered in
// decimal. Aux fields precede the data, so after the first call to Next
// they are normally all known.
func (r *Reader) Aux() map[string]string { return maps.Clone(r.aux) }

// Skipped returns a copy of the counts of what has been skipped so far.
func (r *Reader) Skipped() SkipStats {
	s := r.skipped
	s.ByType = maps.Clone(r.skipped.ByType)
	return s
}

// Next returns the next string key. Entry.Key and Entry.Value point into
// buffers the Reader reuses: they are valid until the next call to Next,
// so copy them to keep them.
//
// At the end of the data Next returns io.EOF, but only after it has read
// the EOF opcode and verified the CRC-64 that follows it (a stored checksum
// of zero means checksums were disabled and is accepted; versions before 5
// have none). Nothing after the checksum is read.
//
// Any other error is an *Error giving the byte offset and, when known, the
// key; it wraps ErrCorrupt, ErrChecksum, ErrTooLarge, ErrUnsupportedType (a
// *TypeError for a non-string key, see ReaderOptions.SkipNonString),
// io.ErrUnexpectedEOF for truncated input, or the underlying read error.
// A function library in the format of Redis 7.0 release candidates (opcode
// F6, which Redis 7.0 itself refuses) fails with ErrUnsupportedType. Errors
// are final: every later call returns the same error.
func (r *Reader) Next() (Entry, error) {
	if r.err != nil {
		return Entry{}, r.err
	}
	e, err := r.next()
	if err != nil {
		if err != io.EOF {
			err = r.wrap(err)
		}
		r.err = err
		return Entry{}, err
	}
	return e, nil
}

// wrap turns err into an *Error carrying the offset and the current key.
func (r *Reader) wrap(err error) error {
	var key []byte
	if r.inKey {
		key = append([]byte{}, r.key...)
	}
	var e *Error
	if errors.As(err, &e) {
		if e.Key == nil {
			e.Key = key
		}
		return err
	}
	return &Error{Offset: r.src.offset(), Key: key, Err: err}
}

// corrupt returns an *Error wrapping ErrCorrupt for a problem found at off.
func (r *Reader) corrupt(off int64, format string, args ...any) error {
	return &Error{Offset: off, Err: fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))}
}
