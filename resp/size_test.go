package resp

import (
	"bytes"
	"strings"
	"testing"
)

func TestNewReaderSizeGrowsForLargerCommands(t *testing.T) {
	long := strings.Repeat("x", 2000)
	in := AppendCommandString(nil, "AUTH", long)
	in = AppendCommandString(in, "PING")
	r := NewReaderSize(bytes.NewReader(in), Limits{}, 16)
	if len(r.buf) != 16 {
		t.Fatalf("buffer of %d bytes, want 16", len(r.buf))
	}
	cmd, err := r.ReadCommand()
	if err != nil || len(cmd.Args) != 2 || string(cmd.Args[1]) != long {
		t.Fatalf("first command: %v, %d args", err, len(cmd.Args))
	}
	cmd, err = r.ReadCommand()
	if err != nil || string(cmd.Args[0]) != "PING" {
		t.Fatalf("second command: %v %q", err, cmd.Args)
	}
}
