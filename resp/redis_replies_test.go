package resp

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// TestRedisReplies checks the replies ErrorReply gives for bad commands
// against what redis-server 7.0.15 answers to the same bytes (checked by
// hand with a raw socket; server/diff_proto_test.go compares the server
// with a live one).
func TestRedisReplies(t *testing.T) {
	tests := []struct {
		in     string
		unauth bool
		reply  string
	}{
		{"*abc\r\n", false, "invalid multibulk length"},
		{"*\r\n", false, "invalid multibulk length"},
		{"*-0\r\n", false, "invalid multibulk length"},
		{"*01\r\n", false, "invalid multibulk length"},
		{"*1 \r\n", false, "invalid multibulk length"},
		{"*99999999999999999999\r\n", false, "invalid multibulk length"},
		{"*1048577\r\n", false, "invalid multibulk length"}, // over MaxArrayLen
		{"*" + strings.Repeat("1", 70000), false, "too big mbulk count string"},
		{"*1\r\nx\r\n", false, "expected '$', got 'x'"},
		{"*1\r\n$-1\r\n", false, "invalid bulk length"},
		{"*1\r\n$-0\r\n", false, "invalid bulk length"},
		{"*1\r\n$+4\r\n", false, "invalid bulk length"},
		{"*1\r\n$\r\n", false, "invalid bulk length"},
		{"*1\r\n$4\nPING\r\n", false, "invalid bulk length"},
		{"*1\r\n$536870913\r\n", false, "invalid bulk length"},
		{"*1\r\n$" + strings.Repeat("1", 70000), false, "too big bulk count string"},
		{strings.Repeat("a", 70000), false, "too big inline request"},
		{"set \"a b\r\n", false, "unbalanced quotes in request"},
		{"set 'a\r\n", false, "unbalanced quotes in request"},
		{"set \"a\"b c\r\n", false, "unbalanced quotes in request"},
		{"*11\r\n", true, "unauthenticated multibulk length"},
		{"*100\r\n", true, "unauthenticated multibulk length"},
		{"*2147483648\r\n", true, "invalid multibulk length"},
		{"*2147483647\r\n", true, "unauthenticated multibulk length"}, // over MaxArrayLen, under Redis's own
		{"*1\r\n$16385\r\n", true, "unauthenticated bulk length"},
		{"*1\r\n$100000000\r\n", true, "unauthenticated bulk length"},
		{"*1\r\n$600000000\r\n", true, "invalid bulk length"},
	}
	for _, tc := range tests {
		t.Run(trunc(tc.in), func(t *testing.T) {
			r := NewReader(strings.NewReader(tc.in), Limits{})
			r.SetUnauthenticated(tc.unauth)
			var err error
			for err == nil {
				_, err = r.ReadCommand()
			}
			got, ok := ErrorReply(err)
			if want := "ERR Protocol error: " + tc.reply; !ok || got != want {
				t.Errorf("reply %q (%v), want %q", got, err, want)
			}
		})
	}
	if _, ok := ErrorReply(io.ErrUnexpectedEOF); ok {
		t.Error("ErrorReply of a cut stream reports bad input")
	}
	if got, _ := ErrorReply(&Error{Msg: "a\r\nb", Err: ErrProtocol}); got != "ERR Protocol error: a  b" {
		t.Errorf("ErrorReply kept a line break: %q", got)
	}
}

// TestUnauthenticatedLimits checks that the limits before AUTH refuse a
// command at its header, before its data arrives, and that commands at
// the limits and any command after SetUnauthenticated(false) pass.
func TestUnauthenticatedLimits(t *testing.T) {
	atLimit := "*10\r\n" + strings.Repeat("$1\r\na\r\n", 9) + "$16384\r\n" + strings.Repeat("x", 16384) + "\r\n"
	big := "*11\r\n" + strings.Repeat("$20000\r\n"+strings.Repeat("y", 20000)+"\r\n", 11)
	r := NewReader(strings.NewReader(atLimit+big+"*100\r\n"), Limits{})
	r.SetUnauthenticated(true)
	if cmd, err := r.ReadCommand(); err != nil || len(cmd.Args) != 10 {
		t.Fatalf("command at the limits: %d args, %v", len(cmd.Args), err)
	}
	r.SetUnauthenticated(false)
	if cmd, err := r.ReadCommand(); err != nil || len(cmd.Args) != 11 {
		t.Fatalf("large command once authenticated: %d args, %v", len(cmd.Args), err)
	}
	r.SetUnauthenticated(true)
	// Only the header is there: the error may not wait for more.
	if _, err := r.ReadCommand(); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("*100 before AUTH: %v", err)
	}
	// A header announcing more than the limit with nothing after it.
	r = NewReader(io.MultiReader(strings.NewReader("*1\r\n$100000000\r\n"), blockingReader{t}), Limits{})
	r.SetUnauthenticated(true)
	if _, err := r.ReadCommand(); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("$100000000 before AUTH: %v", err)
	}
}

// blockingReader fails the test if read: the reader under test must
// decide with what it has.
type blockingReader struct{ t *testing.T }

func (b blockingReader) Read([]byte) (int, error) {
	b.t.Fatal("read past the header")
	return 0, io.EOF
}

func trunc(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "|")
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
