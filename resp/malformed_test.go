package resp

import (
	"strings"
	"testing"
)

func TestMalformedCommands(t *testing.T) {
	tests := []struct {
		in  string
		off int64
		msg string
	}{
		{"*abc\r\n", 0, `invalid multibulk length "abc"`},
		{"*\r\n", 0, `invalid multibulk length ""`},
		{"*-0\r\n", 0, `invalid multibulk length "-0"`},
		{"*01\r\n", 0, `invalid multibulk length "01"`},
		{"*+1\r\n", 0, `invalid multibulk length "+1"`},
		{"* 1\r\n", 0, `invalid multibulk length " 1"`},
		{"*1 \r\n", 0, `invalid multibulk length "1 "`},
		{"*99999999999999999999\r\n", 0, `invalid multibulk length "99999999999999999999"`},
		{"*1\n$1\r\na\r\n", 0, "multibulk length line not terminated by CRLF"},
		{"*1\r\r\n", 0, `invalid multibulk length "1\r"`},
		{"*1\r\n:1\r\n", 4, `expected '$', got ':'`},
		{"*2\r\n$1\r\na\r\n*1\r\n", 11, `expected '$', got '*'`},
		{"*1\r\n$-1\r\n", 4, `invalid bulk length "-1"`},
		{"*1\r\n$12a\r\n", 4, `invalid bulk length "12a"`},
		{"*1\r\n$\r\n", 4, `invalid bulk length ""`},
		{"*1\r\n$1\n", 4, "bulk length line not terminated by CRLF"},
		{"*1\r\n$3\r\nfooX\r\n", 11, "bulk string of 3 bytes not followed by CRLF"},
		{"*1\r\n$3\r\nfoo\nX", 11, "not followed by CRLF"},
		{"*1\r\n$3\r\nfoo\rX", 11, "not followed by CRLF"},
		{"*1\r\n$0\r\n\n\n", 8, "bulk string of 0 bytes not followed by CRLF"},
		{"PING\r\nSET \"abc\r\n", 10, "unbalanced quotes in inline command"},
		{"SET 'abc\r\n", 4, "unbalanced quotes"},
		{"SET \"a\"b\r\n", 7, "closing quote must be followed by a space or nothing at all"},
		{"SET 'a'b\r\n", 7, "closing quote must be followed"},
		{"SET \"a\\\"\r\n", 4, "unbalanced quotes"},
		{"SET \"a\\\r\n", 4, "unbalanced quotes"},
	}
	for _, tc := range tests {
		t.Run(strings.ReplaceAll(tc.in, "\r\n", "|"), func(t *testing.T) {
			r := NewReader(strings.NewReader(tc.in), Limits{})
			var err error
			for err == nil {
				_, err = r.ReadCommand()
			}
			checkErr(t, err, ErrProtocol, tc.off, tc.msg)
			if _, err2 := r.ReadLine(); err2 != err {
				t.Fatalf("after the error, ReadLine: %v", err2)
			}
			if _, err2 := r.Read(make([]byte, 1)); err2 != err {
				t.Fatalf("after the error, Read: %v", err2)
			}
		})
	}
}

func TestErrorText(t *testing.T) {
	r := NewReader(strings.NewReader("*2\r\n$3\r\nGET\r\n$12a\r\nkey\r\n"), Limits{})
	_, err := r.ReadCommand()
	if want := `resp: protocol error at byte 13: invalid bulk length "12a"`; err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
	r = NewReader(strings.NewReader("*2\r\n"), Limits{MaxArrayLen: 1})
	_, err = r.ReadCommand()
	if want := `resp: limit exceeded at byte 0: multibulk length 2 exceeds the limit of 1`; err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
	r = NewReader(strings.NewReader("*2\r\n$3\r\nGE"), Limits{})
	_, err = r.ReadCommand()
	if want := `resp: unexpected EOF at byte 10: stream ended inside a bulk string`; err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
}

func TestMalformedReplies(t *testing.T) {
	tests := []struct {
		in  string
		off int64
		msg string
	}{
		{"!3\r\n", 0, `unknown reply type '!'`},
		{"*2\r\n:1\r\n?\r\n", 8, `unknown reply type '?'`},
		{"+OK\n", 0, "simple string line not terminated by CRLF"},
		{"+O\rK\r\n", 2, "CR inside the simple string line"},
		{"-\r\r\n", 1, "CR inside the error line"},
		{"-ERR x\n", 0, "error line not terminated by CRLF"},
		{":12x\r\n", 0, `invalid integer "12x"`},
		{":\r\n", 0, `invalid integer ""`},
		{":-0\r\n", 0, `invalid integer "-0"`},
		{":9223372036854775808\r\n", 0, `invalid integer "9223372036854775808"`},
		{"$-2\r\n", 0, `invalid bulk length "-2"`},
		{"$1\r\nab\r\n", 5, "bulk string of 1 bytes not followed by CRLF"},
		{"*-2\r\n", 0, `invalid array length "-2"`},
		{"*1\r\n$x\r\n", 4, `invalid bulk length "x"`},
	}
	for _, tc := range tests {
		t.Run(strings.ReplaceAll(tc.in, "\r\n", "|"), func(t *testing.T) {
			r := NewReader(strings.NewReader(tc.in), Limits{})
			_, err := r.ReadReply()
			checkErr(t, err, ErrProtocol, tc.off, tc.msg)
			if _, err2 := r.ReadReply(); err2 != err {
				t.Fatalf("after the error: %v", err2)
			}
		})
	}
}

func TestParseInt(t *testing.T) {
	good := map[string]int64{
		"0": 0, "1": 1, "-1": -1, "42": 42,
		"9223372036854775807":  1<<63 - 1,
		"-9223372036854775808": -1 << 63,
	}
	for s, want := range good {
		if n, ok := parseInt([]byte(s)); !ok || n != want {
			t.Errorf("parseInt(%q) = %d, %v; want %d", s, n, ok, want)
		}
	}
	for _, s := range []string{"", "-", "+1", "01", "-0", "-01", " 1", "1 ", "1a", "9223372036854775808", "-9223372036854775809", "99999999999999999999", "１"} {
		if n, ok := parseInt([]byte(s)); ok {
			t.Errorf("parseInt(%q) = %d, true; want rejection", s, n)
		}
	}
}
