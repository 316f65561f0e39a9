package resp

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"testing/iotest"
)

// randomCommand returns a command of 1..8 binary arguments, some empty, some
// larger than the Reader's initial buffer.
func randomCommand(rng *rand.Rand) [][]byte {
	args := make([][]byte, 1+rng.IntN(8))
	for i := range args {
		var n int
		switch rng.IntN(10) {
		case 0:
			n = 0
		case 1:
			n = defaultBufSize + rng.IntN(3*defaultBufSize) // spans buffer growth
		default:
			n = rng.IntN(40)
		}
		a := make([]byte, n)
		for j := range a {
			a[j] = byte(rng.Uint32()) // CR, LF, '$', '*' and NUL included
		}
		args[i] = a
	}
	return args
}

func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var stream []byte
	var cmds [][][]byte
	var ends []int
	for range 60 {
		c := randomCommand(rng)
		cmds = append(cmds, c)
		stream = AppendCommand(stream, c...)
		ends = append(ends, len(stream))
	}
	for how, mk := range readers(stream) {
		t.Run(how, func(t *testing.T) {
			r := NewReader(mk(), Limits{})
			start := 0
			for i, want := range cmds {
				cmd, err := r.ReadCommand()
				if err != nil {
					t.Fatalf("command %d: %v", i, err)
				}
				if cmd.Inline || cmd.Empty || len(cmd.Args) != len(want) {
					t.Fatalf("command %d: %d args (inline %v empty %v), want %d", i, len(cmd.Args), cmd.Inline, cmd.Empty, len(want))
				}
				for j := range want {
					if !bytes.Equal(cmd.Args[j], want[j]) {
						t.Fatalf("command %d arg %d differs (%d bytes, want %d)", i, j, len(cmd.Args[j]), len(want[j]))
					}
				}
				if !bytes.Equal(cmd.Raw, stream[start:ends[i]]) {
					t.Fatalf("command %d: Raw differs from its encoding", i)
				}
				if r.Offset() != int64(ends[i]) {
					t.Fatalf("command %d: Offset %d, want %d", i, r.Offset(), ends[i])
				}
				start = ends[i]
			}
		})
	}
}

// TestRoundTripStrings checks AppendCommandString against AppendCommand and
// the reader, with an oversized buffer shrinking back afterwards.
func TestRoundTripStrings(t *testing.T) {
	big := string(bytes.Repeat([]byte("v"), 3*defaultBufSize))
	b := AppendCommandString(nil, "SET", "key", big, "PXAT", "1795237680997")
	if want := AppendCommand(nil, []byte("SET"), []byte("key"), []byte(big), []byte("PXAT"), []byte("1795237680997")); !bytes.Equal(b, want) {
		t.Fatal("AppendCommandString and AppendCommand differ")
	}
	b = AppendCommandString(b, "PING")
	r := NewReader(iotest.HalfReader(bytes.NewReader(b)), Limits{})
	cmd, err := r.ReadCommand()
	if err != nil || len(cmd.Args) != 5 || string(cmd.Args[2]) != big {
		t.Fatalf("big SET: %v", err)
	}
	if len(r.buf) <= defaultBufSize {
		t.Fatalf("buffer %d bytes: expected it to have grown", len(r.buf))
	}
	cmd, err = r.ReadCommand()
	if err != nil || len(cmd.Args) != 1 || string(cmd.Args[0]) != "PING" {
		t.Fatalf("PING after big SET: %q, %v", cmd.Args, err)
	}
	if len(r.buf) != defaultBufSize {
		t.Fatalf("buffer %d bytes after a small command: did not shrink", len(r.buf))
	}
}
