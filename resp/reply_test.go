package resp

import (
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReadReply(t *testing.T) {
	tests := []struct {
		in   string
		want Value
		str  string
	}{
		{"+OK\r\n", Value{Kind: KindSimpleString, Str: []byte("OK")}, "+OK"},
		{"+\r\n", Value{Kind: KindSimpleString, Str: []byte{}}, "+"},
		{"-ERR unknown command 'x'\r\n", Value{Kind: KindError, Str: []byte("ERR unknown command 'x'")}, "-ERR unknown command 'x'"},
		{":0\r\n", Value{Kind: KindInteger}, ":0"},
		{":-9223372036854775808\r\n", Value{Kind: KindInteger, Int: -1 << 63}, ":-9223372036854775808"},
		{"$5\r\nh\r\n\x00o\r\n", Value{Kind: KindBulk, Str: []byte("h\r\n\x00o")}, `"h\r\n\x00o"`},
		{"$0\r\n\r\n", Value{Kind: KindBulk, Str: []byte{}}, `""`},
		{"$-1\r\n", Value{Kind: KindBulk, Null: true}, "(nil)"},
		{"*-1\r\n", Value{Kind: KindArray, Null: true}, "(nil)"},
		{"*0\r\n", Value{Kind: KindArray, Array: []Value{}}, "[]"},
		{"*3\r\n:1\r\n*2\r\n+a\r\n$-1\r\n-E\r\n", Value{Kind: KindArray, Array: []Value{
			{Kind: KindInteger, Int: 1},
			{Kind: KindArray, Array: []Value{{Kind: KindSimpleString, Str: []byte("a")}, {Kind: KindBulk, Null: true}}},
			{Kind: KindError, Str: []byte("E")},
		}}, "[:1, [+a, (nil)], -E]"},
	}
	for _, tc := range tests {
		t.Run(tc.str, func(t *testing.T) {
			in := tc.in + "+next\r\n"
			r := NewReader(strings.NewReader(in), Limits{})
			v, err := r.ReadReply()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, v); diff != "" {
				t.Fatalf("(-want +got)\n%s", diff)
			}
			if v.String() != tc.str || r.Offset() != int64(len(tc.in)) {
				t.Fatalf("String() = %s, Offset %d; want %s, %d", v, r.Offset(), tc.str, len(tc.in))
			}
			// The value is a copy: reading on must not change it.
			if next, err := r.ReadReply(); err != nil || next.String() != "+next" {
				t.Fatalf("next: %v, %v", next, err)
			}
			if diff := cmp.Diff(tc.want, v); diff != "" {
				t.Fatalf("value changed by the next read (-want +got)\n%s", diff)
			}
			if _, err := r.ReadReply(); err != io.EOF {
				t.Fatalf("end: %v", err)
			}
		})
	}
}

func TestReplyDepth(t *testing.T) {
	in := strings.Repeat("*1\r\n", MaxReplyDepth) + ":7\r\n"
	v, err := NewReader(strings.NewReader(in), Limits{}).ReadReply()
	if err != nil {
		t.Fatalf("depth %d: %v", MaxReplyDepth, err)
	}
	depth := 0
	for v.Kind == KindArray {
		v = v.Array[0]
		depth++
	}
	if depth != MaxReplyDepth || v.Int != 7 {
		t.Fatalf("depth %d, leaf %v", depth, v)
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{KindSimpleString: "simple string", KindError: "error", KindInteger: "integer", KindBulk: "bulk", KindArray: "array", 0: "Kind(0)"} {
		if k.String() != want {
			t.Errorf("Kind(%d).String() = %q, want %q", k, k.String(), want)
		}
	}
	if s := (Value{}).String(); s != "Kind(0)" {
		t.Errorf("zero Value: %q", s)
	}
}
