package rdb

import (
	"bytes"
	"errors"
	"testing"
)

// Payloads DUMP gave on redis-server 7.0.15.
var redisDumps = []struct{ value, payload string }{
	{"hello", "\x00\x05hello\n\x00cr\xdfve4 \n"},
	{"12", "\x00\xc0\x0c\n\x00<*\xf8Q\\\x04\xbc\xd5"},
	{"1234567890123456789012345678901234567890123456789", "\x00\xc3\x121\n12345678901\xe0\x1b\t\x0189\n\x00\x03\xed\xd2\xbe\xf4\x1d]\x98"},
}

func TestDumpMatchesRedis(t *testing.T) {
	for _, c := range redisDumps {
		if got := AppendDump(nil, []byte(c.value)); string(got) != c.payload {
			t.Errorf("AppendDump(%q) = %q, Redis gives %q", c.value, got, c.payload)
		}
		v, err := ParseDump([]byte(c.payload), DumpVersion, 0)
		if err != nil || string(v) != c.value {
			t.Errorf("ParseDump(%q) = %q, %v; want %q", c.payload, v, err, c.value)
		}
	}
}

func TestDumpRoundTrip(t *testing.T) {
	for _, v := range [][]byte{{}, []byte("-1"), []byte("007"), []byte("2147483648"), bytes.Repeat([]byte("ab"), 40000), bytes.Repeat([]byte{0xfe}, 17)} {
		got, err := ParseDump(AppendDump([]byte("prefix"), v)[6:], DumpVersion, 0)
		if err != nil || !bytes.Equal(got, v) {
			t.Errorf("round trip of %d bytes: %v", len(v), err)
		}
	}
}

func TestParseDumpErrors(t *testing.T) {
	good := AppendDump(nil, []byte("hello"))
	withCRC := SealDump
	flipped := append([]byte{}, good...)
	flipped[2] ^= 1
	for _, c := range []struct {
		name    string
		payload []byte
		want    error
	}{
		{"short", good[:9], ErrDumpFooter},
		{"checksum", flipped, ErrDumpFooter},
		{"version", withCRC([]byte("\x00\x01a"), 11), ErrDumpFooter},
		{"hash", withCRC([]byte("\x04\x01\x01f\x01v"), 10), ErrUnsupportedType},
		{"unknown type", withCRC([]byte("\x08\x01a"), 10), ErrCorrupt},
		{"truncated", withCRC([]byte("\x00\x0fab"), 10), ErrCorrupt},
		{"bad lzf", withCRC([]byte("\x00\xc3\x02\x10ab"), 10), ErrCorrupt},
		{"too large", withCRC([]byte("\x00\x80\x7f\xff\xff\xff"), 10), ErrTooLarge},
		{"empty", withCRC(nil, 10), ErrCorrupt},
	} {
		if _, err := ParseDump(c.payload, DumpVersion, 1<<20); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
}
