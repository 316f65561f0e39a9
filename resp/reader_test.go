package resp

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
)

// TestEOFAtEveryCut cuts a valid stream at every byte: the Reader returns the
// complete commands, then io.EOF if the cut is between commands and an error
// matching io.ErrUnexpectedEOF (with the cut's offset) if inside one.
func TestEOFAtEveryCut(t *testing.T) {
	var stream []byte
	bounds := map[int]bool{0: true}
	for _, c := range []string{"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", "\n", "PING\r\n", "*0\r\n", "*1\r\n$0\r\n\r\n", "\r\n"} {
		stream = append(stream, c...)
		bounds[len(stream)] = true
	}
	for cut := 0; cut <= len(stream); cut++ {
		r := NewReader(bytes.NewReader(stream[:cut]), Limits{})
		var err error
		for err == nil {
			_, err = r.ReadCommand()
		}
		if bounds[cut] {
			if err != io.EOF || r.Offset() != int64(cut) {
				t.Fatalf("cut %d (a boundary): %v at offset %d, want io.EOF", cut, err, r.Offset())
			}
			continue
		}
		var e *Error
		if !errors.Is(err, io.ErrUnexpectedEOF) || !errors.As(err, &e) || e.Offset != int64(cut) {
			t.Fatalf("cut %d: %v, want io.ErrUnexpectedEOF at byte %d", cut, err, cut)
		}
	}
	// The same for replies.
	reply := "*3\r\n+OK\r\n$2\r\nhi\r\n*2\r\n:1\r\n$-1\r\n"
	for cut := 1; cut < len(reply); cut++ {
		_, err := NewReader(strings.NewReader(reply[:cut]), Limits{}).ReadReply()
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("reply cut at %d: %v", cut, err)
		}
	}
	if _, err := NewReader(strings.NewReader(""), Limits{}).ReadReply(); err != io.EOF {
		t.Fatalf("empty reply stream: %v", err)
	}
}

// flaky returns its chunks one Read at a time; a nil chunk is a Read that
// fails with errTimeout.
type flaky struct{ chunks [][]byte }

var errTimeout = errors.New("i/o timeout")

func (f *flaky) Read(p []byte) (int, error) {
	if len(f.chunks) == 0 {
		return 0, io.EOF
	}
	c := f.chunks[0]
	if c == nil {
		f.chunks = f.chunks[1:]
		return 0, errTimeout
	}
	n := copy(p, c)
	if n == len(c) {
		f.chunks = f.chunks[1:]
	} else {
		f.chunks[0] = c[n:]
	}
	return n, nil
}

// TestRetryAfterReadError: an error of the underlying reader in the middle
// of a command consumes nothing, so the caller may call again.
func TestRetryAfterReadError(t *testing.T) {
	cmd := "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n"
	var chunks [][]byte
	for i := range len(cmd) {
		chunks = append(chunks, []byte(cmd[i:i+1]), nil)
	}
	chunks = append(chunks, []byte("+OK\r\n"), nil, []byte("FULL"), nil, []byte("RESYNC\r\n"))
	r := NewReader(&flaky{chunks: chunks}, Limits{})
	timeouts := 0
	for {
		c, err := r.ReadCommand()
		if err == errTimeout {
			timeouts++
			if r.Offset() != 0 {
				t.Fatalf("offset %d after a failed read", r.Offset())
			}
			continue
		}
		if err != nil || string(c.Raw) != cmd || strings.Join(argStrings(c.Args), " ") != "SET k value" {
			t.Fatalf("%q, %v", c.Raw, err)
		}
		break
	}
	if timeouts != len(cmd)-1 {
		t.Fatalf("saw %d timeouts, want %d", timeouts, len(cmd)-1)
	}
	for {
		v, err := r.ReadReply()
		if err == errTimeout {
			continue
		}
		if err != nil || v.String() != "+OK" {
			t.Fatalf("%v, %v", v, err)
		}
		break
	}
	for {
		l, err := r.ReadLine()
		if err == errTimeout {
			continue
		}
		if err != nil || string(l) != "FULLRESYNC" {
			t.Fatalf("%q, %v", l, err)
		}
		break
	}
	if _, err := r.ReadLine(); err != io.EOF {
		t.Fatalf("end: %v", err)
	}
}

// TestHeaderThenPayload reads a "$<len>" header with ReadLine, then the
// payload with Read (partly from the buffer, partly straight from the
// underlying reader), then commands again; Offset counts it all.
func TestHeaderThenPayload(t *testing.T) {
	payload := bytes.Repeat([]byte("0123456789abcdef"), 3*defaultBufSize/16+5)
	var in []byte
	in = append(in, "+FULLRESYNC 0123456789012345678901234567890123456789 0\r\n\n\n"...)
	in = append(in, "$"...)
	in = append(in, []byte(strconv.Itoa(len(payload)))...)
	in = append(in, "\r\n"...)
	hdrEnd := len(in)
	in = append(in, payload...)
	in = AppendCommandString(in, "SELECT", "0")
	for how, mk := range readers(in) {
		t.Run(how, func(t *testing.T) {
			r := NewReader(mk(), Limits{})
			var line []byte
			var err error
			for len(line) == 0 && err == nil { // skip keepalives
				line, err = r.ReadLine()
			}
			if !bytes.HasPrefix(line, []byte("+FULLRESYNC ")) {
				t.Fatalf("first line %q, %v", line, err)
			}
			for line, err = r.ReadLine(); len(line) == 0 && err == nil; line, err = r.ReadLine() {
			}
			if string(line) != "$"+strconv.Itoa(len(payload)) || r.Offset() != int64(hdrEnd) {
				t.Fatalf("header %q, %v, offset %d", line, err, r.Offset())
			}
			got := make([]byte, len(payload))
			if _, err := io.ReadFull(r, got); err != nil || !bytes.Equal(got, payload) {
				t.Fatalf("payload: %v", err)
			}
			cmd, err := r.ReadCommand()
			if err != nil || strings.Join(argStrings(cmd.Args), " ") != "SELECT 0" || r.Offset() != int64(len(in)) {
				t.Fatalf("after payload: %q, %v, offset %d of %d", cmd.Args, err, r.Offset(), len(in))
			}
			if n, err := r.Read(make([]byte, 10)); n != 0 || err != io.EOF {
				t.Fatalf("Read at the end: %d, %v", n, err)
			}
		})
	}
}

func TestReadSmallAndEmpty(t *testing.T) {
	r := NewReader(strings.NewReader("abc\r\nrest"), Limits{})
	if n, err := r.Read(nil); n != 0 || err != nil {
		t.Fatalf("Read(nil) before anything: %d, %v", n, err)
	}
	if l, err := r.ReadLine(); string(l) != "abc" || err != nil || r.Buffered() != 4 {
		t.Fatalf("ReadLine %q, %v, buffered %d", l, err, r.Buffered())
	}
	if n, err := r.Read(nil); n != 0 || err != nil {
		t.Fatalf("Read(nil) with data buffered: %d, %v", n, err)
	}
	p := make([]byte, 2)
	if n, err := r.Read(p); n != 2 || err != nil || string(p) != "re" || r.Offset() != 7 {
		t.Fatalf("Read = %d, %v, %q, offset %d", n, err, p, r.Offset())
	}
	if b, err := io.ReadAll(r); string(b) != "st" || err != nil || r.Offset() != 9 || r.Buffered() != 0 {
		t.Fatalf("ReadAll = %q, %v, offset %d", b, err, r.Offset())
	}
	if _, err := r.ReadLine(); err != io.EOF {
		t.Fatalf("ReadLine at the end: %v", err)
	}
	_, err := NewReader(strings.NewReader("no newline"), Limits{}).ReadLine()
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("ReadLine of a cut line: %v", err)
	}
}

// TestArgsDoNotOverlap: appending to one returned argument must not
// overwrite the next one or the buffered stream.
func TestArgsDoNotOverlap(t *testing.T) {
	in := "*2\r\n$1\r\na\r\n$1\r\nb\r\nSET x y\r\n"
	r := NewReader(strings.NewReader(in), Limits{})
	for range 2 {
		cmd, err := r.ReadCommand()
		if err != nil {
			t.Fatal(err)
		}
		_ = append(cmd.Args[0], 'Z')
		_ = append(cmd.Raw, 'Z')
		if cmd.Args[1][0] == 'Z' {
			t.Fatalf("append to Args[0] overwrote Args[1]")
		}
	}
}

// badReader returns an impossible count.
type badReader struct{}

func (badReader) Read(p []byte) (int, error) { return len(p) + 1, nil }

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { return 0, nil }

func TestMisbehavingUnderlyingReader(t *testing.T) {
	if _, err := NewReader(badReader{}, Limits{}).ReadCommand(); err == nil || !strings.Contains(err.Error(), "invalid count") {
		t.Fatalf("bad count: %v", err)
	}
	if _, err := NewReader(zeroReader{}, Limits{}).ReadCommand(); err != io.ErrNoProgress {
		t.Fatalf("no progress: %v", err)
	}
}
