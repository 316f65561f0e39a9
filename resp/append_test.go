package resp

import (
	"bytes"
	"math"
	"testing"
)

func TestAppend(t *testing.T) {
	tests := []struct {
		got  []byte
		want string
	}{
		{AppendArrayLen(nil, 3), "*3\r\n"},
		{AppendArrayLen(nil, 0), "*0\r\n"},
		{AppendBulk(nil, []byte("a\r\nb")), "$4\r\na\r\nb\r\n"},
		{AppendBulk(nil, nil), "$0\r\n\r\n"},
		{AppendBulkString([]byte("x"), "hello"), "x$5\r\nhello\r\n"},
		{AppendBulkInt(nil, 1795237680997), "$13\r\n1795237680997\r\n"},
		{AppendBulkInt(nil, 0), "$1\r\n0\r\n"},
		{AppendBulkInt(nil, -7), "$2\r\n-7\r\n"},
		{AppendBulkInt(nil, math.MinInt64), "$20\r\n-9223372036854775808\r\n"},
		{AppendBulkInt(nil, math.MaxInt64), "$19\r\n9223372036854775807\r\n"},
		{AppendSimple(nil, "OK"), "+OK\r\n"},
		{AppendSimple(nil, "a\r\nb"), "+a  b\r\n"},
		{AppendError(nil, "ERR bad\nthing\r"), "-ERR bad thing \r\n"},
		{AppendInt(nil, -42), ":-42\r\n"},
		{AppendNull(nil), "$-1\r\n"},
		{AppendNullArray(nil), "*-1\r\n"},
		{AppendCommand(nil, []byte("SELECT"), []byte("0")), "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n"},
		{AppendCommand(nil), "*0\r\n"},
		{AppendCommandString(nil, "ping"), "*1\r\n$4\r\nping\r\n"},
		{AppendCommandString(nil, "REPLCONF", "GETACK", "*"), "*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n"},
	}
	for _, tc := range tests {
		if string(tc.got) != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	// The sizes redis-wire.md lists.
	for cmd, size := range map[string]int{"ping": 14, "SELECT 0": 23, "REPLCONF GETACK *": 37} {
		if n := len(AppendCommand(nil, bytes.Fields([]byte(cmd))...)); n != size {
			t.Errorf("%s: %d bytes, want %d", cmd, n, size)
		}
	}
}

func TestEncodedSizes(t *testing.T) {
	for _, n := range []int{0, 1, 9, 10, 99, 100, 12345, 1 << 20, math.MaxInt32} {
		if got, want := ArrayHeaderLen(n), len(AppendArrayLen(nil, n)); got != want {
			t.Errorf("ArrayHeaderLen(%d) = %d, want %d", n, got, want)
		}
		if n <= 1<<20 {
			if got, want := BulkLen(n), len(AppendBulk(nil, make([]byte, n))); got != want {
				t.Errorf("BulkLen(%d) = %d, want %d", n, got, want)
			}
		}
	}
	for _, n := range []int64{0, 9, 10, -1, -10, math.MaxInt64, math.MinInt64} {
		if got, want := decimalLen(n), len(AppendInt(nil, n))-3; got != want {
			t.Errorf("decimalLen(%d) = %d, want %d", n, got, want)
		}
	}
}

func TestAppendDoesNotAllocate(t *testing.T) {
	dst := make([]byte, 0, 4096)
	key, val := []byte("key"), []byte("value")
	allocs := testing.AllocsPerRun(100, func() {
		b := AppendCommand(dst[:0], []byte("SET"), key, val)
		b = AppendArrayLen(b, 5)
		b = AppendBulkString(b, "SET")
		b = AppendBulk(b, key)
		b = AppendBulkInt(b, 1795237680997)
		b = AppendSimple(b, "OK")
		b = AppendError(b, "ERR x")
		b = AppendInt(b, 5)
		b = AppendNull(b)
		b = AppendNullArray(b)
		_ = AppendCommandString(b, "PING", "x")
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per run, want 0", allocs)
	}
}
