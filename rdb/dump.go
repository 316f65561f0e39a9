package rdb

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// DumpVersion is the RDB version AppendDump writes in the footer of a
// payload: 10, as Redis 7.0's DUMP does.
const DumpVersion = 10

// Errors of ParseDump besides ErrCorrupt and ErrUnsupportedType.
var (
	// ErrDumpFooter means the payload is too short, its RDB version is
	// newer than the caller accepts, or its CRC-64 does not match (Redis:
	// "DUMP payload version or checksum are wrong").
	ErrDumpFooter = errors.New("rdb: DUMP payload version or checksum are wrong")
)

// AppendDump appends to dst the payload Redis's DUMP gives for a string
// value: the type byte (0), the value in RDB string encoding (an integer
// or LZF-compressed form where Redis would use one), the 2-byte RDB
// version DumpVersion and the CRC-64 of all that, both little-endian.
func AppendDump(dst, value []byte) []byte {
	var out bytes.Buffer
	w := &Writer{w: &out, buf: make([]byte, 0, min(len(value), directWriteMin)+16)}
	w.buf = append(w.buf, typeString)
	w.appendString(value)
	w.flush()
	start := len(dst)
	return appendFooter(append(dst, out.Bytes()...), start, DumpVersion)
}

// SealDump appends to body (a type byte and a value in RDB encoding) the
// footer of a DUMP payload: the RDB version and the CRC-64 of body and
// version, both little-endian. It makes payloads of any version or type,
// for tests of RESTORE.
func SealDump(body []byte, version uint16) []byte {
	return appendFooter(body, 0, version)
}

// appendFooter appends the version and the CRC-64 of b[start:] with it.
func appendFooter(b []byte, start int, version uint16) []byte {
	b = binary.LittleEndian.AppendUint16(b, version)
	return binary.LittleEndian.AppendUint64(b, CRC64(0, b[start:]))
}

// ParseDump decodes a DUMP payload holding a string value and returns the
// value. The footer is checked first (ErrDumpFooter: shorter than a
// footer, an RDB version above maxVersion, or a wrong checksum); then a
// value of another type gives an error wrapping ErrUnsupportedType that
// names the type, and a string that does not decode one wrapping
// ErrCorrupt (Redis: "Bad data format"), or ErrTooLarge when it is longer
// than maxLen. Bytes after the value are ignored and, as in Redis, the
// value is read from the whole payload: a length that runs into the
// footer takes footer bytes as data.
func ParseDump(payload []byte, maxVersion int, maxLen int64) ([]byte, error) {
	n := len(payload)
	if n < 10 {
		return nil, ErrDumpFooter
	}
	if int(binary.LittleEndian.Uint16(payload[n-10:])) > maxVersion {
		return nil, ErrDumpFooter
	}
	if CRC64(0, payload[:n-8]) != binary.LittleEndian.Uint64(payload[n-8:]) {
		return nil, ErrDumpFooter
	}
	body := payload[:n-10]
	if len(body) == 0 {
		return nil, fmt.Errorf("%w: empty DUMP payload", ErrCorrupt)
	}
	if t := body[0]; t != typeString {
		if knownType(t) {
			return nil, fmt.Errorf("%w: DUMP payload of a %s value", ErrUnsupportedType, TypeName(t))
		}
		return nil, fmt.Errorf("%w: DUMP payload of unknown type %d", ErrCorrupt, t)
	}
	if maxLen <= 0 {
		maxLen = DefaultMaxStringLen
	}
	// Redis decodes from the whole payload, footer included: a string
	// whose length runs into the footer reads it as data. So do we.
	rest := payload[1:]
	r := &Reader{
		src: source{br: bufio.NewReaderSize(bytes.NewReader(rest), min(max(len(rest), 16), readBufferSize))},
		opt: ReaderOptions{MaxStringLen: maxLen},
	}
	v, err := r.readString(nil)
	switch {
	case errors.Is(err, ErrTooLarge):
		return nil, err
	case err != nil:
		return nil, fmt.Errorf("%w: DUMP payload: %w", ErrCorrupt, err)
	}
	return v, nil
}
