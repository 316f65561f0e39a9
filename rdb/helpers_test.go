package rdb

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
)

func newBufioReader(r io.Reader, size int) *bufio.Reader { return bufio.NewReaderSize(r, size) }

// builder assembles RDB bytes by hand for tests.
type builder struct{ b []byte }

// newRDB starts a stream with the header for version v.
func newRDB(v int) *builder { return &builder{b: fmt.Appendf(nil, "REDIS%04d", v)} }

// raw appends bytes as they are.
func (x *builder) raw(p ...byte) *builder { x.b = append(x.b, p...); return x }

// n appends a length.
func (x *builder) n(v uint64) *builder { x.b = appendLen(x.b, v); return x }

// s appends a raw-encoded string.
func (x *builder) s(v string) *builder { x.b = append(appendLen(x.b, uint64(len(v))), v...); return x }

// key appends a string key of type 0.
func (x *builder) key(k, v string) *builder { return x.raw(typeString).s(k).s(v) }

// end appends the EOF opcode and the correct checksum.
func (x *builder) end() []byte {
	x.b = append(x.b, opEOF)
	return binary.LittleEndian.AppendUint64(x.b, CRC64(0, x.b))
}

// endCRC appends the EOF opcode and the given checksum.
func (x *builder) endCRC(crc uint64) []byte {
	x.b = append(x.b, opEOF)
	return binary.LittleEndian.AppendUint64(x.b, crc)
}

// entryOf is a decoded entry with its slices copied.
type entryOf struct {
	DB       int
	Key      string
	Value    string
	ExpireMs int64
}

// readEntries decodes data completely and returns the entries in order.
func readEntries(data []byte, opt ReaderOptions) ([]entryOf, *Reader, error) {
	return readEntriesFrom(bufio.NewReaderSize(bytes.NewReader(data), readBufferSize), opt)
}

// reusedReader returns a function like readEntries that reuses one
// bufio.Reader, for tests that decode thousands of inputs.
func reusedReader() func([]byte, ReaderOptions) ([]entryOf, *Reader, error) {
	br := bufio.NewReaderSize(nil, readBufferSize)
	return func(data []byte, opt ReaderOptions) ([]entryOf, *Reader, error) {
		br.Reset(bytes.NewReader(data))
		return readEntriesFrom(br, opt)
	}
}

func readEntriesFrom(br *bufio.Reader, opt ReaderOptions) ([]entryOf, *Reader, error) {
	r, err := NewReader(br, opt)
	if err != nil {
		return nil, nil, err
	}
	var out []entryOf
	for {
		e, err := r.Next()
		if err == io.EOF {
			return out, r, nil
		}
		if err != nil {
			return out, r, err
		}
		out = append(out, entryOf{e.DB, string(e.Key), string(e.Value), e.ExpireMs})
	}
}
