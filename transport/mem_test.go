package transport_test

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/replikv/replikv/transport"
)

// memConnect dials name on n and accepts it on l.
func memConnect(t *testing.T, n *transport.MemNetwork, l net.Listener, name string) (client, server net.Conn) {
	t.Helper()
	client, err := n.Dialer(name).Dial(context.Background())
	if err != nil {
		t.Fatalf("Dial(%q): %v", name, err)
	}
	server, err = l.Accept()
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	t.Cleanup(func() {
		client.Close()
		server.Close()
	})
	return client, server
}

func memListen(t *testing.T, n *transport.MemNetwork, name string) net.Listener {
	t.Helper()
	l, err := n.Listen(name)
	if err != nil {
		t.Fatalf("Listen(%q): %v", name, err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func TestMemListenNameTaken(t *testing.T) {
	n := transport.NewMemNetwork()
	l := memListen(t, n, "p")
	if _, err := n.Listen("p"); !errors.Is(err, transport.ErrAddrInUse) {
		t.Fatalf("second Listen(p): %v; want ErrAddrInUse", err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l2, err := n.Listen("p")
	if err != nil {
		t.Fatalf("Listen after Close: %v", err)
	}
	l2.Close()
	if err := l.Close(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("second Close: %v; want net.ErrClosed", err)
	}
	if l.Addr().Network() != "mem" || l.Addr().String() != "p" {
		t.Errorf("Addr = %s %q, want mem \"p\"", l.Addr().Network(), l.Addr())
	}
}

func TestMemDialRefusedAtOnce(t *testing.T) {
	n := transport.NewMemNetwork()
	_, err := n.Dialer("nobody").Dial(context.Background())
	if !errors.Is(err, transport.ErrConnRefused) {
		t.Fatalf("Dial to no listener: %v; want ErrConnRefused", err)
	}
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "dial" {
		t.Errorf("Dial error %#v is not a dial *net.OpError", err)
	}
}

func TestMemAddrs(t *testing.T) {
	n := transport.NewMemNetwork()
	l := memListen(t, n, "p")
	c, s := memConnect(t, n, l, "p")
	if c.RemoteAddr().String() != "p" || s.LocalAddr().String() != "p" {
		t.Errorf("addresses toward the listener: %v, %v; want p", c.RemoteAddr(), s.LocalAddr())
	}
	if c.LocalAddr().String() != s.RemoteAddr().String() {
		t.Errorf("client local %v != server remote %v", c.LocalAddr(), s.RemoteAddr())
	}
	c2, _ := memConnect(t, n, l, "p")
	if c2.LocalAddr().String() == c.LocalAddr().String() {
		t.Errorf("two clients share the address %v", c.LocalAddr())
	}
}

// TestMemBackpressure shows a writer blocking once the peer stops reading:
// only the buffer's worth of bytes is accepted before the deadline.
func TestMemBackpressure(t *testing.T) {
	n := transport.NewMemNetwork(transport.WithMemBuffer(16))
	l := memListen(t, n, "p")
	c, s := memConnect(t, n, l, "p")
	c.SetWriteDeadline(time.Now().Add(20 * time.Millisecond))
	w, err := c.Write(make([]byte, 40))
	if w != 16 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Write(40) into a 16-byte buffer = %d, %v; want 16, deadline exceeded", w, err)
	}
	// Reading frees room and a blocked writer resumes.
	c.SetWriteDeadline(time.Time{})
	done := make(chan error, 1)
	go func() {
		_, err := c.Write(make([]byte, 40))
		done <- err
	}()
	if _, err := io.ReadFull(s, make([]byte, 56)); err != nil {
		t.Fatalf("reading: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Write after the reader drained: %v", err)
	}
}

// TestMemWriteCopies checks that the caller may reuse its slice at once.
func TestMemWriteCopies(t *testing.T) {
	n := transport.NewMemNetwork()
	l := memListen(t, n, "p")
	c, s := memConnect(t, n, l, "p")
	b := []byte("first")
	c.Write(b)
	copy(b, "XXXXX")
	got := make([]byte, 5)
	if _, err := io.ReadFull(s, got); err != nil || string(got) != "first" {
		t.Fatalf("read %q, %v; want \"first\"", got, err)
	}
}

func TestMemCutAll(t *testing.T) {
	n := transport.NewMemNetwork()
	l := memListen(t, n, "p")
	other := memListen(t, n, "q")
	c1, s1 := memConnect(t, n, l, "p")
	c2, s2 := memConnect(t, n, l, "p")
	memConnect(t, n, other, "q")
	if got := n.Conns("p"); got != 2 {
		t.Fatalf("Conns(p) = %d, want 2", got)
	}
	c1.Write([]byte("in flight"))
	if got := n.CutAll("p"); got != 2 {
		t.Fatalf("CutAll(p) = %d, want 2", got)
	}
	if got := n.Conns("p"); got != 0 {
		t.Errorf("Conns(p) after CutAll = %d, want 0", got)
	}
	if got := n.Conns("q"); got != 1 {
		t.Errorf("Conns(q) after CutAll(p) = %d, want 1", got)
	}
	// Bytes already written are delivered, then the cut shows.
	got, err := io.ReadAll(s1)
	if string(got) != "in flight" || !errors.Is(err, transport.ErrCut) {
		t.Errorf("server read after cut: %q, %v; want the in-flight bytes, then ErrCut", got, err)
	}
	for _, c := range []net.Conn{c1, c2, s2} {
		if _, err := c.Write([]byte("x")); !errors.Is(err, transport.ErrCut) {
			t.Errorf("Write on a cut conn: %v; want ErrCut", err)
		}
	}
	if _, err := c2.Read(make([]byte, 1)); !errors.Is(err, transport.ErrCut) {
		t.Errorf("Read on a cut conn: %v; want ErrCut", err)
	}
	if got := n.CutAll("p"); got != 0 {
		t.Errorf("second CutAll(p) = %d, want 0", got)
	}
	// The listener still accepts.
	memConnect(t, n, l, "p")
	if got := n.Conns("p"); got != 1 {
		t.Errorf("Conns(p) after a new dial = %d, want 1", got)
	}
}

func TestMemConnsDropsWhenBothEndsClose(t *testing.T) {
	n := transport.NewMemNetwork()
	l := memListen(t, n, "p")
	c, s := memConnect(t, n, l, "p")
	c.Close()
	if got := n.Conns("p"); got != 1 {
		t.Errorf("Conns with one end open = %d, want 1", got)
	}
	s.Close()
	if got := n.Conns("p"); got != 0 {
		t.Errorf("Conns with both ends closed = %d, want 0", got)
	}
}

func TestMemPeerCloseBreaksWrites(t *testing.T) {
	n := transport.NewMemNetwork()
	l := memListen(t, n, "p")
	c, s := memConnect(t, n, l, "p")
	s.Close()
	if _, err := c.Write([]byte("x")); !errors.Is(err, syscall.EPIPE) {
		t.Errorf("Write to a closed peer: %v; want EPIPE", err)
	}
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("Read from a closed peer: %v; want io.EOF", err)
	}
	if _, err := s.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Read after own Close: %v; want net.ErrClosed", err)
	}
}

func TestMemCloseReadDropsData(t *testing.T) {
	n := transport.NewMemNetwork()
	l := memListen(t, n, "p")
	c, s := memConnect(t, n, l, "p")
	c.Write([]byte("dropped"))
	s.(interface{ CloseRead() error }).CloseRead()
	if _, err := c.Write([]byte("x")); !errors.Is(err, syscall.EPIPE) {
		t.Errorf("Write after the peer's CloseRead: %v; want EPIPE", err)
	}
	// The other direction still works.
	s.Write([]byte("ok"))
	got := make([]byte, 2)
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "ok" {
		t.Errorf("read %q, %v after CloseRead of the other direction", got, err)
	}
}

// TestMemListenerCloseCutsQueued checks that a conn dialed but never
// accepted fails once its listener closes.
func TestMemListenerCloseCutsQueued(t *testing.T) {
	n := transport.NewMemNetwork()
	l, err := n.Listen("p")
	if err != nil {
		t.Fatal(err)
	}
	c, err := n.Dialer("p").Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	l.Close()
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, transport.ErrCut) {
		t.Errorf("Read on a conn its listener never accepted: %v; want ErrCut", err)
	}
	if got := n.Conns("p"); got != 0 {
		t.Errorf("Conns = %d, want 0", got)
	}
}

// TestMemDialWaitsForBacklog fills the accept queue and checks that a
// further Dial waits, honours its context, and goes through after Accept.
func TestMemDialWaitsForBacklog(t *testing.T) {
	n := transport.NewMemNetwork()
	l := memListen(t, n, "p")
	d := n.Dialer("p")
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		c, err := d.Dial(ctx)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			break
		}
		if err != nil {
			t.Fatalf("Dial: %v", err)
		}
		conns = append(conns, c)
		if len(conns) > 10000 {
			t.Fatal("the accept queue never filled")
		}
	}
	if n.Conns("p") != len(conns) {
		t.Errorf("Conns = %d, want %d queued", n.Conns("p"), len(conns))
	}
	done := make(chan error, 1)
	go func() {
		c, err := d.Dial(context.Background())
		if err == nil {
			c.Close()
		}
		done <- err
	}()
	s, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := <-done; err != nil {
		t.Fatalf("Dial after Accept made room: %v", err)
	}
}

func TestMemSetDeadlineMovesBlockedRead(t *testing.T) {
	n := transport.NewMemNetwork()
	l := memListen(t, n, "p")
	c, s := memConnect(t, n, l, "p")
	c.SetReadDeadline(time.Now().Add(time.Hour))
	done := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 1))
		done <- err
	}()
	// Extending and clearing keep it blocked; data then ends it normally.
	c.SetReadDeadline(time.Now().Add(2 * time.Hour))
	c.SetReadDeadline(time.Time{})
	s.Write([]byte("x"))
	if err := <-done; err != nil {
		t.Fatalf("Read: %v", err)
	}
}
