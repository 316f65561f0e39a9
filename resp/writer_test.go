package resp

import (
	"bufio"
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestWriter(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out)
	big := strings.Repeat("b", 40<<10) // larger than the bufio buffer
	steps := []struct {
		write func() error
		want  []byte
	}{
		{func() error { return w.WriteArrayLen(2) }, AppendArrayLen(nil, 2)},
		{func() error { return w.WriteBulk([]byte("a\r\n")) }, AppendBulk(nil, []byte("a\r\n"))},
		{func() error { return w.WriteBulkString(big) }, AppendBulkString(nil, big)},
		{func() error { return w.WriteBulkInt(-12) }, AppendBulkInt(nil, -12)},
		{func() error { return w.WriteSimple("OK\n") }, AppendSimple(nil, "OK\n")},
		{func() error { return w.WriteSimple(big) }, AppendSimple(nil, big)},
		{func() error { return w.WriteError("ERR x\r\ny") }, AppendError(nil, "ERR x\r\ny")},
		{func() error { return w.WriteInt(99) }, AppendInt(nil, 99)},
		{func() error { return w.WriteNull() }, AppendNull(nil)},
		{func() error { return w.WriteNullArray() }, AppendNullArray(nil)},
		{func() error { return w.WriteCommand([]byte("SET"), []byte(big), []byte("")) }, AppendCommandString(nil, "SET", big, "")},
		{func() error { _, err := w.Write([]byte("\n")); return err }, []byte("\n")},
	}
	var want []byte
	for i, s := range steps {
		if err := s.write(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		want = append(want, s.want...)
	}
	if w.Buffered() == 0 || out.Len()+w.Buffered() != len(want) {
		t.Fatalf("buffered %d + written %d, want %d in total with some buffered", w.Buffered(), out.Len(), len(want))
	}
	if err := w.Flush(); err != nil || w.Buffered() != 0 || !bytes.Equal(out.Bytes(), want) {
		t.Fatalf("Flush: %v; output differs from the Append encodings", err)
	}
}

func TestWriterUsesBufioWriter(t *testing.T) {
	var out bytes.Buffer
	bw := bufio.NewWriterSize(&out, 100)
	w := NewWriter(bw)
	if err := w.WriteInt(1); err != nil || bw.Buffered() != 4 {
		t.Fatalf("WriteInt: %v; the given bufio.Writer holds %d bytes, want 4", err, bw.Buffered())
	}
}

type failing struct{}

var errWrite = errors.New("write failed")

func (failing) Write(p []byte) (int, error) { return 0, errWrite }

func TestWriterError(t *testing.T) {
	w := NewWriter(bufio.NewWriterSize(failing{}, 16))
	// The first writes fit in the buffer; a large one reaches the writer.
	if err := w.WriteCommand([]byte("SET"), bytes.Repeat([]byte("x"), 100)); err != errWrite {
		t.Fatalf("WriteCommand: %v, want %v", err, errWrite)
	}
	if err := w.WriteInt(1); err != errWrite {
		t.Fatalf("after a failure: %v", err)
	}
	if err := w.Flush(); err != errWrite {
		t.Fatalf("Flush after a failure: %v", err)
	}
}

func TestWriterDoesNotAllocate(t *testing.T) {
	var out bytes.Buffer
	out.Grow(1 << 20)
	w := NewWriter(&out)
	set, key, val := []byte("SET"), []byte("key"), []byte("value")
	allocs := testing.AllocsPerRun(100, func() {
		w.WriteCommand(set, key, val)
		w.WriteSimple("OK")
		w.WriteError("ERR x")
		w.WriteInt(3)
		w.WriteBulkInt(1795237680997)
		w.WriteBulkString("s")
		w.WriteNull()
		w.Flush()
		out.Reset()
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per run, want 0", allocs)
	}
}
