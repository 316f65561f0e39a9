package resp

import (
	"io"
	"testing"
)

// loop is an io.Reader replaying the same bytes forever, in chunks as large
// as the reader asks for.
type loop struct {
	data []byte
	off  int
}

func (l *loop) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], l.data[l.off:])
		n += c
		l.off = (l.off + c) % len(l.data)
	}
	return n, nil
}

var setPXAT = AppendCommandString(nil, "SET", "user:1000:session", "0123456789abcdef0123456789abcdef", "PXAT", "1795237680997")

func TestReadCommandDoesNotAllocate(t *testing.T) {
	for name, in := range map[string][]byte{
		"array":  setPXAT,
		"inline": []byte("SET key \"quoted value\" PXAT 1795237680997\r\n"),
	} {
		r := NewReader(&loop{data: in}, Limits{})
		allocs := testing.AllocsPerRun(1000, func() {
			if _, err := r.ReadCommand(); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per ReadCommand, want 0", name, allocs)
		}
	}
}

func BenchmarkReadCommand(b *testing.B) {
	r := NewReader(&loop{data: setPXAT}, Limits{})
	b.SetBytes(int64(len(setPXAT)))
	b.ReportAllocs()
	for b.Loop() {
		cmd, err := r.ReadCommand()
		if err != nil || len(cmd.Args) != 5 {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadCommandInline(b *testing.B) {
	in := []byte("SET user:1000:session 0123456789abcdef0123456789abcdef PXAT 1795237680997\r\n")
	r := NewReader(&loop{data: in}, Limits{})
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.ReadCommand(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadReply(b *testing.B) {
	in := []byte("*3\r\n+OK\r\n:42\r\n$5\r\nhello\r\n")
	r := NewReader(&loop{data: in}, Limits{})
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.ReadReply(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendCommand(b *testing.B) {
	args := [][]byte{[]byte("SET"), []byte("user:1000:session"), []byte("0123456789abcdef0123456789abcdef"), []byte("PXAT"), []byte("1795237680997")}
	dst := make([]byte, 0, 256)
	b.SetBytes(int64(len(AppendCommand(nil, args...))))
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendCommand(dst[:0], args...)
	}
}

func BenchmarkAppendSetPXAT(b *testing.B) {
	key, val := []byte("user:1000:session"), []byte("0123456789abcdef0123456789abcdef")
	dst := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendArrayLen(dst[:0], 5)
		dst = AppendBulkString(dst, "SET")
		dst = AppendBulk(dst, key)
		dst = AppendBulk(dst, val)
		dst = AppendBulkString(dst, "PXAT")
		dst = AppendBulkInt(dst, 1795237680997)
	}
}

func BenchmarkWriterCommand(b *testing.B) {
	w := NewWriter(io.Discard)
	args := [][]byte{[]byte("SET"), []byte("user:1000:session"), []byte("0123456789abcdef0123456789abcdef"), []byte("PXAT"), []byte("1795237680997")}
	b.ReportAllocs()
	for b.Loop() {
		if err := w.WriteCommand(args...); err != nil {
			b.Fatal(err)
		}
	}
}
