package transporttest

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/replikv/replikv/transport"
)

// testCloseDeliversThenEOF closes right after writing: the peer must read
// every byte, then io.EOF.
func testCloseDeliversThenEOF(t *testing.T, l net.Listener, d transport.Dialer) {
	c, s := connect(t, l, d)
	data := randomBytes(8, 100<<10)
	wrote := make(chan error, 1)
	go func() {
		err := writeChunks(c, data, 9)
		if cerr := c.Close(); err == nil {
			err = cerr
		}
		wrote <- err
	}()
	got, err := io.ReadAll(s)
	if err != nil {
		t.Fatalf("reading until EOF: %v", err)
	}
	if err := within(t, "write and Close", wrote); err != nil {
		t.Fatalf("write and Close: %v", err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes before EOF, want the %d written", len(got), len(data))
	}
	if n, err := s.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("Read after EOF = %d, %v; want io.EOF again", n, err)
	}
}

// testPeerWriteAfterClose checks that writes to a closed peer start failing.
func testPeerWriteAfterClose(t *testing.T, l net.Listener, d transport.Dialer) {
	c, s := connect(t, l, d)
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// A stream transport may accept a write or two before it learns the
	// peer is gone (TCP needs the peer's reset); it must then fail.
	deadline := time.Now().Add(patience)
	for {
		if _, err := s.Write([]byte("x")); err != nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("writes to a closed peer keep succeeding")
		}
	}
}

func testCloseUnblocksRead(t *testing.T, l net.Listener, d transport.Dialer) {
	c, s := connect(t, l, d)
	done := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 8))
		done <- err
	}()
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := within(t, "Read blocked across Close", done); err == nil {
		t.Fatal("Read blocked across Close returned no error")
	}
	if _, err := io.ReadAll(s); err != nil {
		// An error other than EOF is acceptable on some transports (TLS
		// may not finish its close handshake); the point is that it ends.
		t.Logf("peer's read after Close: %v", err)
	}
}

func testLocalOpsAfterClose(t *testing.T, l net.Listener, d transport.Dialer) {
	c, _ := connect(t, l, d)
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("Read after Close succeeded")
	}
	if _, err := c.Write([]byte("x")); err == nil {
		t.Error("Write after Close succeeded")
	}
}

// testHalfClose checks CloseWrite, on connections that offer it: the peer
// sees EOF but can still answer.
func testHalfClose(t *testing.T, l net.Listener, d transport.Dialer) {
	c, s := connect(t, l, d)
	cw, ok := c.(interface{ CloseWrite() error })
	if !ok {
		t.Skip("connection has no CloseWrite")
	}
	exchange(t, c, s, "request")
	if err := cw.CloseWrite(); err != nil {
		if errors.Is(err, errors.ErrUnsupported) {
			t.Skip("CloseWrite unsupported")
		}
		t.Fatalf("CloseWrite: %v", err)
	}
	if n, err := s.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("peer Read after CloseWrite = %d, %v; want io.EOF", n, err)
	}
	exchange(t, s, c, "reply after half close")
}

func testCloseUnblocksAccept(t *testing.T, l net.Listener, _ transport.Dialer) {
	done := make(chan error, 1)
	go func() {
		c, err := l.Accept()
		if c != nil {
			c.Close()
		}
		done <- err
	}()
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := within(t, "Accept blocked across Close", done); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept blocked across Close: %v; want net.ErrClosed", err)
	}
	if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close: %v; want net.ErrClosed", err)
	}
}
