package resp

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

// fuzzLimits are small, so fuzzing reaches every limit.
var fuzzLimits = Limits{MaxBulkLen: 40, MaxArrayLen: 6, MaxInlineLen: 64}

// fuzzReader feeds data whole or one byte per Read, chosen by mode.
func fuzzReader(data []byte, mode uint8) io.Reader {
	if mode&1 == 1 {
		return iotest.OneByteReader(bytes.NewReader(data))
	}
	return bytes.NewReader(data)
}

// checkFuzzErr asserts that a read error is one the API promises: io.EOF at
// a boundary, or an *Error at an offset inside what was sent.
func checkFuzzErr(t *testing.T, r *Reader, err error, size int) {
	t.Helper()
	if err == io.EOF {
		if r.Offset() != int64(size) {
			t.Fatalf("io.EOF at offset %d of %d", r.Offset(), size)
		}
		return
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not an *Error", err)
	}
	if !errors.Is(err, ErrProtocol) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("error %v matches no sentinel", err)
	}
	if e.Offset < r.Offset() || e.Offset > int64(size) {
		t.Fatalf("error %v: offset outside [%d, %d]", err, r.Offset(), size)
	}
}

func FuzzReadCommand(f *testing.F) {
	f.Add([]byte("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"), uint8(0))
	f.Add([]byte("\n\r\nPING\r\nSET \"a\\x41\" 'b\\'c'\r\n*0\r\n*-1\r\n"), uint8(1))
	f.Add([]byte("*-10\r\n*1\r\n$4\r\nPING\r\n*4\r\n"), uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, mode uint8) {
		r := NewReader(fuzzReader(data, mode), fuzzLimits)
		// Mode bit 2: a peer before AUTH, with a lower argument limit.
		maxArgs := fuzzLimits.MaxArrayLen
		if mode&2 != 0 {
			r.SetUnauthenticated(true)
			maxArgs = min(maxArgs, UnauthMaxArrayLen)
		}
		for {
			start := r.Offset()
			cmd, err := r.ReadCommand()
			if err != nil {
				checkFuzzErr(t, r, err, len(data))
				if reply, ok := ErrorReply(err); ok && (!strings.HasPrefix(reply, "ERR Protocol error: ") || strings.ContainsAny(reply, "\r\n")) {
					t.Fatalf("error reply %q", reply)
				}
				return
			}
			if !cmd.Inline && int64(len(cmd.Args)) > maxArgs {
				t.Fatalf("%d args read", len(cmd.Args))
			}
			// Raw is byte-exact and Offset counts it.
			if !bytes.Equal(cmd.Raw, data[start:r.Offset()]) {
				t.Fatalf("Raw %q is not the input at [%d, %d)", cmd.Raw, start, r.Offset())
			}
			if int64(len(cmd.Args)) > fuzzLimits.MaxArrayLen || cmd.Empty != (len(cmd.Args) == 0) {
				t.Fatalf("%d args, Empty %v", len(cmd.Args), cmd.Empty)
			}
			for _, a := range cmd.Args {
				if len(a) > fuzzLimits.MaxInlineLen || (!cmd.Inline && int64(len(a)) > fuzzLimits.MaxBulkLen) {
					t.Fatalf("argument of %d bytes exceeds the limits (inline %v)", len(a), cmd.Inline)
				}
			}
			if cmd.Empty {
				continue
			}
			// Re-encoding gives the same command; for a RESP array the same
			// bytes, since the parser accepts only the canonical form.
			enc := AppendCommand(nil, cmd.Args...)
			if !cmd.Inline && !bytes.Equal(enc, cmd.Raw) {
				t.Fatalf("re-encoded %q, read %q", enc, cmd.Raw)
			}
			args := copyArgs(cmd.Args)
			// Inline arguments may be longer than MaxBulkLen: re-read with
			// the defaults.
			again, err := NewReader(bytes.NewReader(enc), Limits{}).ReadCommand()
			if err != nil || !cmp.Equal(args, copyArgs(again.Args)) || !bytes.Equal(again.Raw, enc) {
				t.Fatalf("parsing the re-encoding: %q, %v; want %q", again.Args, err, args)
			}
		}
	})
}

func FuzzReadReply(f *testing.F) {
	f.Add([]byte("*3\r\n+OK\r\n:-5\r\n*2\r\n$2\r\nhi\r\n$-1\r\n-ERR x\r\n"), uint8(0))
	f.Add([]byte("*-1\r\n*0\r\n$0\r\n\r\n:0\r\n"), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, mode uint8) {
		r := NewReader(fuzzReader(data, mode), fuzzLimits)
		for {
			start := r.Offset()
			v, err := r.ReadReply()
			if err != nil {
				checkFuzzErr(t, r, err, len(data))
				return
			}
			checkValueLimits(t, v, 0)
			// Strict parsing means the canonical encoding is what was read.
			enc := appendValue(nil, v)
			if !bytes.Equal(enc, data[start:r.Offset()]) {
				t.Fatalf("re-encoded %q, read %q", enc, data[start:r.Offset()])
			}
			again, err := NewReader(bytes.NewReader(enc), fuzzLimits).ReadReply()
			if err != nil || !cmp.Equal(v, again) {
				t.Fatalf("parsing the re-encoding: %v, %v; want %v", again, err, v)
			}
			_ = v.String()
		}
	})
}

func checkValueLimits(t *testing.T, v Value, depth int) {
	t.Helper()
	maxStr := int64(fuzzLimits.MaxInlineLen)
	if v.Kind == KindBulk {
		maxStr = fuzzLimits.MaxBulkLen
	}
	if depth > MaxReplyDepth || int64(len(v.Str)) > maxStr || int64(len(v.Array)) > fuzzLimits.MaxArrayLen {
		t.Fatalf("value beyond the limits at depth %d: %v", depth, v)
	}
	for _, e := range v.Array {
		checkValueLimits(t, e, depth+1)
	}
}

// appendValue encodes v as a server would send it.
func appendValue(dst []byte, v Value) []byte {
	switch {
	case v.Kind == KindBulk && v.Null:
		return AppendNull(dst)
	case v.Kind == KindArray && v.Null:
		return AppendNullArray(dst)
	case v.Kind == KindSimpleString:
		return AppendSimple(dst, string(v.Str))
	case v.Kind == KindError:
		return AppendError(dst, string(v.Str))
	case v.Kind == KindInteger:
		return AppendInt(dst, v.Int)
	case v.Kind == KindBulk:
		return AppendBulk(dst, v.Str)
	}
	dst = AppendArrayLen(dst, len(v.Array))
	for _, e := range v.Array {
		dst = appendValue(dst, e)
	}
	return dst
}

func copyArgs(args [][]byte) []string { return argStrings(args) }
