package resp

import (
	"io"
	"slices"
	"strings"
	"testing"
)

func TestInlineQuoting(t *testing.T) {
	tests := []struct {
		line string
		want []string
	}{
		{"PING", []string{"PING"}},
		{"set a b", []string{"set", "a", "b"}},
		{"  set \t a   b  ", []string{"set", "a", "b"}},
		{"\v\fset\va", []string{"set\va"}}, // \v \f separate only before an argument
		{`set "hello world" x`, []string{"set", "hello world", "x"}},
		{`set "" ''`, []string{"set", "", ""}},
		{`"\n\r\t\b\a\\\"\q"`, []string{"\n\r\t\b\a\\\"q"}},
		{`"\x41\x7a\xff\x00"`, []string{"Az\xff\x00"}},
		{`"\x4" "\xg1" "\x"`, []string{"x4", "xg1", "x"}}, // not two hex digits: \x is just x
		{`'it\'s' 'a\nb' 'q"q'`, []string{"it's", `a\nb`, `q"q`}},
		{`a"b c"`, []string{"ab c"}}, // a quote may open mid-argument
		{`a'b c'`, []string{"ab c"}},
		{`"a"` + "\t" + `'b'`, []string{"a", "b"}},
		{`"a"` + "\v" + `b`, []string{"a", "b"}},
		{"a\x00b c", []string{"a"}}, // NUL ends the line, as a C string
		{"\x00a", nil},
		{"   ", nil},
		{"", nil},
	}
	for _, tc := range tests {
		t.Run(tc.line, func(t *testing.T) {
			in := tc.line + "\r\n"
			r := NewReader(strings.NewReader(in), Limits{})
			cmd, err := r.ReadCommand()
			if err != nil {
				t.Fatal(err)
			}
			if got := argStrings(cmd.Args); !slices.Equal(got, tc.want) && len(got)+len(tc.want) > 0 {
				t.Fatalf("args %q, want %q", got, tc.want)
			}
			if !cmd.Inline || cmd.Empty != (len(tc.want) == 0) || string(cmd.Raw) != in || r.Offset() != int64(len(in)) {
				t.Fatalf("Inline %v Empty %v Raw %q Offset %d", cmd.Inline, cmd.Empty, cmd.Raw, r.Offset())
			}
		})
	}
}

// TestKeepalives: every empty form is an Empty command whose Raw is exactly
// its bytes, and they interleave with real commands.
func TestKeepalives(t *testing.T) {
	parts := []struct {
		raw    string
		empty  bool
		inline bool
	}{
		{"\n", true, true},
		{"\r\n", true, true},
		{"   \r\n", true, true},
		{"*0\r\n", true, false},
		{"*-1\r\n", true, false},
		{"*-10\r\n", true, false}, // Redis ignores any count below 1
		{"*-2147483649\r\n", true, false},
		{"*1\r\n$4\r\nPING\r\n", false, false},
		{"\n", true, true},
		{"PING\n", false, true},
		{"\n", true, true},
	}
	var in string
	for _, p := range parts {
		in += p.raw
	}
	for how, mk := range readers([]byte(in)) {
		t.Run(how, func(t *testing.T) {
			r := NewReader(mk(), Limits{})
			var off int64
			for i, p := range parts {
				cmd, err := r.ReadCommand()
				if err != nil {
					t.Fatalf("part %d: %v", i, err)
				}
				off += int64(len(p.raw))
				if string(cmd.Raw) != p.raw || cmd.Empty != p.empty || cmd.Inline != p.inline || r.Offset() != off {
					t.Fatalf("part %d: %+v, Offset %d; want Raw %q Empty %v Inline %v Offset %d", i, cmd, r.Offset(), p.raw, p.empty, p.inline, off)
				}
				if cmd.Empty != (len(cmd.Args) == 0) {
					t.Fatalf("part %d: Empty %v with %d args", i, cmd.Empty, len(cmd.Args))
				}
			}
			if _, err := r.ReadCommand(); err != io.EOF {
				t.Fatalf("end: %v", err)
			}
		})
	}
}
