package resp

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/replikv/replikv/internal/allocs"
)

// checkErr asserts that err is an *Error matching kind at offset off whose
// message contains msg.
func checkErr(t *testing.T, err, kind error, off int64, msg string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, kind) {
		t.Fatalf("err = %v, want an *Error matching %v", err, kind)
	}
	if e.Offset != off || !strings.Contains(e.Msg, msg) {
		t.Fatalf("err = %v; want offset %d and a message containing %q", err, off, msg)
	}
}

func TestLimits(t *testing.T) {
	small := Limits{MaxBulkLen: 10, MaxArrayLen: 3, MaxInlineLen: 8}
	tests := []struct {
		name  string
		lim   Limits
		in    string
		skip  int // commands to read successfully first
		off   int64
		msg   string
		reply bool // read with ReadReply instead of ReadCommand
		line  bool // read with ReadLine
	}{
		{name: "bulk over limit", lim: small, in: "*1\r\n$11\r\n", off: 4, msg: "bulk length 11 exceeds the limit of 10"},
		{name: "bulk at limit then over", lim: small, in: "*1\r\n$10\r\n0123456789\r\n*2\r\n$1\r\na\r\n$999\r\n", skip: 1, off: 32, msg: "bulk length 999"},
		{name: "array over limit", lim: small, in: "*4\r\n", off: 0, msg: "multibulk length 4 exceeds the limit of 3"},
		{name: "inline over limit", lim: small, in: "PING\r\n123456789\r\n", skip: 1, off: 6, msg: "inline command longer than 8 bytes"},
		{name: "inline with too many arguments", lim: small, in: "a b c d\r\n", off: 0, msg: "inline command has 4 arguments, more than the limit of 3"},
		{name: "inline over limit, no LF yet", lim: small, in: "1234567890", off: 0, msg: "inline command longer than 8"},
		{name: "inline over limit by a bare CR", lim: small, in: "12345678x\n", off: 0, msg: "inline command longer than 8"},
		{name: "header line over limit", lim: small, in: "*1\r\n$00000000000", off: 4, msg: "bulk length line longer than 8"},
		{name: "default bulk limit", in: "*1\r\n$536870913\r\n", off: 4, msg: "exceeds the limit of 536870912"},
		{name: "default array limit", in: "*1048577\r\n", off: 0, msg: "exceeds the limit of 1048576"},
		{name: "default inline limit", in: strings.Repeat("a", 64<<10+1) + "\n", off: 0, msg: "longer than 65536"},
		{name: "100 GiB bulk", in: "*1\r\n$107374182400\r\n", off: 4, msg: "bulk length 107374182400"},
		{name: "reply bulk", lim: small, in: "$11\r\n", off: 0, msg: "bulk length 11", reply: true},
		{name: "reply array", lim: small, in: "*2\r\n*4\r\n", off: 4, msg: "array length 4", reply: true},
		{name: "reply simple", lim: small, in: "+123456789\r\n", off: 0, msg: "longer than 8", reply: true},
		{name: "reply depth", in: strings.Repeat("*1\r\n", MaxReplyDepth+1), off: 4 * MaxReplyDepth, msg: "nested more than 32 deep", reply: true},
		{name: "line", lim: small, in: "+FULLRESYNC x 0\r\n", off: 0, msg: "line longer than 8", line: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader(strings.NewReader(tc.in), tc.lim)
			for i := range tc.skip {
				if _, err := r.ReadCommand(); err != nil {
					t.Fatalf("command %d: %v", i, err)
				}
			}
			var err error
			switch {
			case tc.reply:
				_, err = r.ReadReply()
			case tc.line:
				_, err = r.ReadLine()
			default:
				_, err = r.ReadCommand()
			}
			checkErr(t, err, ErrTooLarge, tc.off, tc.msg)
			// Sticky: the stream position is lost.
			if _, err2 := r.ReadCommand(); err2 != err {
				t.Fatalf("next call: %v, want the same error", err2)
			}
		})
	}
}

// TestLimitsAtTheEdge accepts what is exactly at each limit.
func TestLimitsAtTheEdge(t *testing.T) {
	lim := Limits{MaxBulkLen: 10, MaxArrayLen: 3, MaxInlineLen: 8}
	in := "*3\r\n$10\r\n0123456789\r\n$0\r\n\r\n$1\r\nx\r\n" + "12345678\r\n" + "\"a\\x41\"\r\n"
	r := NewReader(strings.NewReader(in), lim)
	for i, want := range []string{"0123456789||x", "12345678", "aA"} {
		cmd, err := r.ReadCommand()
		if err != nil || strings.Join(argStrings(cmd.Args), "|") != want {
			t.Fatalf("command %d: %q, %v; want %s", i, cmd.Args, err, want)
		}
	}
	if _, err := r.ReadCommand(); err != io.EOF {
		t.Fatalf("end: %v", err)
	}
	// The longest line ReadLine accepts, with and without CR.
	r = NewReader(strings.NewReader("12345678\r\n12345678\n"), lim)
	for range 2 {
		if l, err := r.ReadLine(); err != nil || string(l) != "12345678" {
			t.Fatalf("ReadLine = %q, %v", l, err)
		}
	}
}

// TestEndlessLineIsRefused feeds a line that never ends: the Reader must
// give up after the limit instead of buffering forever.
func TestEndlessLineIsRefused(t *testing.T) {
	for _, prefix := range []string{"", "*", "*1\r\n$", "+"} {
		r := NewReader(io.MultiReader(strings.NewReader(prefix), endless('7')), Limits{MaxInlineLen: 1000})
		var err error
		if prefix == "+" {
			_, err = r.ReadReply()
		} else {
			_, err = r.ReadCommand()
		}
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("prefix %q: err = %v, want ErrTooLarge", prefix, err)
		}
		if len(r.buf) > defaultBufSize {
			t.Fatalf("prefix %q: buffer grew to %d", prefix, len(r.buf))
		}
	}
}

// endless is an io.Reader producing the same byte forever.
type endless byte

func (e endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(e)
	}
	return len(p), nil
}

// TestDeclaredSizesCostNothing: a peer that declares huge sizes and then
// sends nothing (or little) must not make the Reader allocate for them.
func TestDeclaredSizesCostNothing(t *testing.T) {
	huge := Limits{MaxBulkLen: 1 << 40, MaxArrayLen: 1 << 31}
	tests := []struct {
		name  string
		lim   Limits
		in    string
		read  func(*Reader) error
		limit uint64
	}{
		{"100 GiB bulk then EOF", huge, "*1\r\n$107374182400\r\n", readCommand, 200 << 10},
		{"1e9-element array then EOF", huge, "*1000000000\r\n", readCommand, 200 << 10},
		{"1e9-element array, a few elements, EOF", huge, "*1000000000\r\n" + strings.Repeat("$1\r\nx\r\n", 100), readCommand, 200 << 10},
		{"512 MiB bulk then EOF", Limits{}, "*1\r\n$536870912\r\n", readCommand, 200 << 10},
		{"reply: 100 GiB bulk then EOF", huge, "$107374182400\r\n", readReply, 200 << 10},
		{"reply: 1e9-element array then EOF", huge, "*1000000000\r\n:1\r\n", readReply, 200 << 10},
		// 3 MiB sent of a declared 512 MiB: the buffer may run ahead of the
		// data by 1 MiB per step, not by the declared size.
		{"512 MiB bulk, 3 MiB sent", Limits{}, "*1\r\n$536870912\r\n" + strings.Repeat("x", 3<<20), readCommand, 10 << 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := []byte(tc.in)
			var err error
			n := allocs.During(func() {
				err = tc.read(NewReader(bytes.NewReader(in), tc.lim))
			})
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("err = %v, want io.ErrUnexpectedEOF", err)
			}
			if n > tc.limit {
				t.Fatalf("allocated %d bytes, want at most %d", n, tc.limit)
			}
			t.Logf("allocated %d bytes", n)
		})
	}
}

func readCommand(r *Reader) error { _, err := r.ReadCommand(); return err }
func readReply(r *Reader) error   { _, err := r.ReadReply(); return err }
