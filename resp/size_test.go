package resp

import (
	"bytes"
	"io"
	"testing"
)

// chunkReader returns the chunks one Read at a time, then io.EOF.
type chunkReader struct{ chunks [][]byte }

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.chunks[0])
	if c.chunks[0] = c.chunks[0][n:]; len(c.chunks[0]) == 0 {
		c.chunks = c.chunks[1:]
	}
	return n, nil
}

// TestReaderSizeGrowsAndShrinks checks NewReaderSize's buffer: it starts
// small, grows for a command larger than it and while reads keep filling
// it (a pipeline), and returns to its base size after the burst.
func TestReaderSizeGrowsAndShrinks(t *testing.T) {
	ping := AppendCommandString(nil, "PING")
	big := AppendCommandString(nil, "SET", "k", string(bytes.Repeat([]byte("v"), 5000)))
	var pipeline []byte
	for len(pipeline) < 3*defaultBufSize {
		pipeline = append(pipeline, ping...)
	}
	src := &chunkReader{chunks: [][]byte{ping, big, ping, pipeline, ping}}
	r := NewReaderSize(src, Limits{}, 256)
	sizes := func() int { return len(r.buf) }
	read := func(want string) {
		t.Helper()
		cmd, err := r.ReadCommand()
		if err != nil || string(cmd.Args[0]) != want {
			t.Fatalf("ReadCommand = %q, %v; want %s", cmd.Args, err, want)
		}
	}
	read("PING")
	if sizes() != 256 {
		t.Fatalf("buffer %d bytes after one PING, want 256", sizes())
	}
	read("SET")
	if sizes() < len(big) {
		t.Fatalf("buffer %d bytes holds a %d-byte command", sizes(), len(big))
	}
	read("PING")
	if sizes() != 256 {
		t.Fatalf("buffer %d bytes after a burst, want 256 again", sizes())
	}
	grown := 0
	for range len(pipeline) / len(ping) {
		read("PING")
		grown = max(grown, sizes())
	}
	if grown != defaultBufSize {
		t.Errorf("buffer grew to %d bytes during a pipeline, want %d", grown, defaultBufSize)
	}
	read("PING")
	if sizes() != 256 {
		t.Errorf("buffer %d bytes after the pipeline, want 256", sizes())
	}
	if _, err := r.ReadCommand(); err != io.EOF {
		t.Errorf("at the end: %v, want io.EOF", err)
	}
}
