package rdb

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/replikv/replikv/rdb/lzf"
)

// TestMalformed feeds hand-made bad streams (with correct checksums, so the
// parser itself must notice) and checks the error: its sentinel, its
// message, its offset and key.
func TestMalformed(t *testing.T) {
	big := strings.Repeat("abcdefgh", 20)
	cases := []struct {
		name   string
		data   []byte
		opt    ReaderOptions
		is     error
		msg    string
		offset int64  // -1: not checked
		key    string // "" with no key expected
	}{
		{"empty input", nil, ReaderOptions{}, io.ErrUnexpectedEOF, "header", 0, ""},
		{"short header", []byte("REDIS00"), ReaderOptions{}, io.ErrUnexpectedEOF, "need 9", 0, ""},
		{"bad magic", []byte("RADIS0010"), ReaderOptions{}, ErrCorrupt, "bad magic", 0, ""},
		{"bad version digits", []byte("REDIS00x0"), ReaderOptions{}, ErrCorrupt, "bad version", 5, ""},
		{"version 0", newRDB(0).end(), ReaderOptions{}, ErrVersion, "version 0", 5, ""},
		{"version 12", newRDB(12).end(), ReaderOptions{}, ErrVersion, "version 12", 5, ""},
		{"unknown type 8", newRDB(10).raw(8).s("k").end(), ReaderOptions{}, ErrCorrupt, "0x08", 9, ""},
		{"unknown type 22", newRDB(10).raw(22).s("k").end(), ReaderOptions{}, ErrCorrupt, "0x16", 9, ""},
		{"bad length encoding", newRDB(10).raw(opSelectDB, 0x82).end(), ReaderOptions{}, ErrCorrupt, "unknown length encoding 0x82", 10, ""},
		{"string encoding as a length", newRDB(10).raw(opSelectDB, 0xC0, 1).end(), ReaderOptions{}, ErrCorrupt, "expected a length", 10, ""},
		{"unknown string encoding", newRDB(10).raw(typeString, 0xC4).end(), ReaderOptions{}, ErrCorrupt, "unknown string encoding 0xc4", 10, ""},
		{"bad string length encoding", newRDB(10).raw(typeString).s("k").raw(0xBF).end(), ReaderOptions{}, ErrCorrupt, "unknown length encoding 0xbf", 12, "k"},
		{"LZF with no data", newRDB(10).raw(typeString).s("k").raw(0xC3, 0, 0).end(), ReaderOptions{}, ErrCorrupt, "0 compressed bytes", 12, "k"},
		{"LZF expands too much", newRDB(10).raw(typeString).s("k").raw(0xC3, 1).n(89).raw(0).end(), ReaderOptions{}, ErrCorrupt, "cannot hold 89", 12, "k"},
		{"LZF bad back-reference", newRDB(10).raw(typeString).s("k").raw(0xC3, 3, 5, 0, 'a', 0x20).end(), ReaderOptions{}, lzf.ErrCorrupt, "truncated", -1, "k"},
		{"LZF length mismatch", newRDB(10).raw(typeString).s("k").raw(0xC3, 2, 5, 0, 'a').end(), ReaderOptions{}, ErrCorrupt, "produced 1 bytes", 15, "k"},
		{"key too large", newRDB(10).raw(typeString).s(big).s("v").end(), ReaderOptions{MaxStringLen: 100}, ErrTooLarge, "160 bytes exceeds the limit of 100", 10, ""},
		{"value too large", newRDB(10).key("k", big).end(), ReaderOptions{MaxStringLen: 100}, ErrTooLarge, "limit of 100", 12, "k"},
		{"LZF too large", newRDB(10).raw(typeString).s("k").raw(0xC3, 2).n(101).raw(0, 'a').end(), ReaderOptions{MaxStringLen: 100}, ErrTooLarge, "LZF uncompressed string of 101", 12, "k"},
		{"64-bit length too large", newRDB(10).raw(typeString).s("k").raw(0x81, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff).end(), ReaderOptions{}, ErrTooLarge, "18446744073709551615", 12, "k"},
		{"aux value too large", newRDB(10).raw(opAux).s("a").s(big).end(), ReaderOptions{MaxStringLen: 100}, ErrTooLarge, "limit", 12, ""},
		{"quicklist container 3", newRDB(10).raw(typeListQuicklist2).s("l").n(1).n(3).s("x").end(), ReaderOptions{SkipNonString: true}, ErrCorrupt, "quicklist container 3", 13, "l"},
		{"module opcode 9", newRDB(10).raw(typeModule2).s("m").n(1).n(9).end(), ReaderOptions{SkipNonString: true}, ErrCorrupt, "module value opcode 9", 13, "m"},
		{"module aux when", newRDB(10).raw(opModuleAux).n(1).n(moduleOpcodeSint).n(2).raw(0).end(), ReaderOptions{}, ErrCorrupt, "'when' field", 11, ""},
		{"function pre-GA", newRDB(10).raw(opFunctionPreGA).s("lib").end(), ReaderOptions{}, ErrUnsupportedType, "0xF6", 9, ""},
		{"module pre-GA with skip", newRDB(10).raw(typeModulePreGA).s("m").n(1).end(), ReaderOptions{SkipNonString: true}, ErrUnsupportedType, "module-pre-ga", 12, "m"},
		{"stream node key", newRDB(10).raw(typeStreamListpacks2).s("st").n(1).s("0123456789abcde").s("lp").end(), ReaderOptions{SkipNonString: true}, ErrCorrupt, "16-byte ID", 14, "st"},
		{"database out of range", newRDB(10).raw(opSelectDB).n(math.MaxUint32).end(), ReaderOptions{}, ErrCorrupt, "database number 4294967295", 9, ""},
		{"checksum mismatch", newRDB(10).key("k", "v").endCRC(0x1122334455667788), ReaderOptions{}, ErrChecksum, "stored CRC-64 1122334455667788, computed ", 15, ""},
		{"truncated checksum", newRDB(10).key("k", "v").endCRC(1)[:20], ReaderOptions{}, io.ErrUnexpectedEOF, "checksum", 15, ""},
		{"truncated value", newRDB(10).key("k", "value").b[:15], ReaderOptions{}, io.ErrUnexpectedEOF, "need 1", 15, "k"},
		{"missing EOF", newRDB(10).key("k", "v").b, ReaderOptions{}, io.ErrUnexpectedEOF, "", 14, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := readEntries(c.data, c.opt)
			if err == nil || !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("got %v; want %v containing %q", err, c.is, c.msg)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("%T is not an *Error", err)
			}
			if c.offset >= 0 && e.Offset != c.offset {
				t.Errorf("offset %d, want %d (%v)", e.Offset, c.offset, err)
			}
			if string(e.Key) != c.key {
				t.Errorf("key %q, want %q", e.Key, c.key)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("at byte %d", e.Offset)) {
				t.Errorf("message %q lacks the offset", err)
			}
		})
	}
}

func TestChecksumVariants(t *testing.T) {
	// A stored checksum of zero means "disabled" and is accepted.
	got, _, err := readEntries(newRDB(10).key("k", "v").endCRC(0), ReaderOptions{})
	if err != nil || len(got) != 1 {
		t.Fatalf("zero checksum: %v, %v", got, err)
	}
	// Before version 5 there is no checksum: the stream ends at FF, and
	// nothing after it is read.
	data := append(newRDB(4).key("k", "v").raw(opEOF).b, "NEXT"...)
	br := newBufioReader(strings.NewReader(string(data)), 16)
	r, err := NewReader(br, ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("version 4: %v", err)
	}
	if rest, _ := io.ReadAll(br); string(rest) != "NEXT" {
		t.Fatalf("left %q", rest)
	}
	if r.Offset() != int64(len(data)-4) {
		t.Fatalf("offset %d", r.Offset())
	}
}

type failingReader struct{ data []byte }

var errBoom = errors.New("boom")

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, errBoom
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

func TestReadErrorPropagates(t *testing.T) {
	data := newRDB(10).key("key", "value").end()
	r, err := NewReader(&failingReader{data: data[:14]}, ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Next()
	if !errors.Is(err, errBoom) || errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("got %v, want the reader's error", err)
	}
}

func TestExpiryOpcodes(t *testing.T) {
	data := newRDB(10).
		raw(opExpireMs, 0, 0, 0, 0, 0, 0, 0, 0).key("zero", "v").
		raw(opExpireSec, 0x10, 0, 0, 0).key("sec", "v").
		raw(opExpireSec, 0xff, 0xff, 0xff, 0xff).key("negsec", "v").
		raw(opExpireMs, 1, 2, 3, 4, 5, 6, 7, 8).raw(opIdle).n(1000).raw(opFreq, 5).key("ms", "v").
		key("none", "v").
		end()
	got, _, err := readEntries(data, ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []int64{-1, 16000, -1000, 0x0807060504030201, 0}
	for i, e := range got {
		if e.ExpireMs != want[i] {
			t.Errorf("%s: expire %d, want %d", e.Key, e.ExpireMs, want[i])
		}
	}
}

func TestAuxFieldLimit(t *testing.T) {
	b := newRDB(10)
	for i := range maxAuxFields {
		b.raw(opAux).s(fmt.Sprint("f", i)).s("v")
	}
	b.raw(opAux).s("f0").s("again") // an existing field may be repeated
	ok := b.end()
	if _, r, err := readEntries(ok, ReaderOptions{}); err != nil || len(r.Aux()) != maxAuxFields || r.Aux()["f0"] != "again" {
		t.Fatalf("at the limit: %v", err)
	}
	b = newRDB(10)
	for i := range maxAuxFields + 1 {
		b.raw(opAux).s(fmt.Sprint("f", i)).s("v")
	}
	if _, _, err := readEntries(b.end(), ReaderOptions{}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("over the limit: %v", err)
	}
}
