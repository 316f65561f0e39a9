package server

import (
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/replikv/replikv"
	"github.com/replikv/replikv/resp"
)

// echoFiller returns an ECHO command of exactly n bytes.
func echoFiller(n int) []byte {
	for v := n - 24; ; v++ {
		b := resp.AppendCommandString(nil, "ECHO", strings.Repeat("e", v))
		if len(b) == n {
			return b
		}
		if len(b) > n {
			panic("no ECHO of that size")
		}
	}
}

// blocked reports whether the server has n clients blocked.
func (n *testNode) blocked(want int64) func() bool {
	return func() bool { return n.srv.stats.blocked.Load() == want }
}

// TestWaitKeepsPipelinedBytes is issue 9's defect 1, in raw bytes: bytes
// that arrive while a WAIT blocks, then a second WAIT with a command
// split across writes behind it. Every byte must reach the command it
// belongs to: the value must be stored, not run as commands.
func TestWaitKeepsPipelinedBytes(t *testing.T) {
	n := startNode(t, replikv.Config{}, Config{})
	r := n.raw(t)
	if got := r.do("SET", "canary", "1"); got != "+OK" {
		t.Fatal(got)
	}
	// The filler and the WAIT leave 12 bytes free at the end of a 64 KiB
	// buffer: the next WAIT fits there exactly, what follows it does not.
	first := append(echoFiller(64<<10-24), "WAIT 1 200\r\n"...)
	if _, err := r.c.Write(first); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the first WAIT to block", n.blocked(1))
	if _, err := r.c.Write([]byte("WAIT 1 200\r\n*3\r\n$3\r\nSET\r\n$4\r\nnote\r\n$16\r\n")); err != nil {
		t.Fatal(err)
	}
	if got := r.read(); !strings.HasPrefix(got, `"eee`) {
		t.Fatalf("ECHO reply %.20s…", got)
	}
	if got := r.read(); got != ":0" {
		t.Fatalf("first WAIT = %s, want :0", got)
	}
	eventually(t, "the second WAIT to block", n.blocked(1))
	// The value comes in two more writes.
	for _, part := range []string{"FLUSHALL\r\nPING\r\n", "\r\n"} {
		if _, err := r.c.Write([]byte(part)); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{":0", "+OK"} {
		if got := r.read(); got != want {
			t.Fatalf("reply %s, want %s", got, want)
		}
	}
	r.expect([]exchange{
		{[]string{"GET", "note"}, `"FLUSHALL\r\nPING\r\n"`},
		{[]string{"GET", "canary"}, `"1"`},
		{[]string{"DBSIZE"}, ":2"},
	})
}

// TestWaitPipelinedAfterSecondWait is defect 1's simpler form: a GET
// pipelined behind a second WAIT, sent while the first blocks, is
// answered.
func TestWaitPipelinedAfterSecondWait(t *testing.T) {
	n := startNode(t, replikv.Config{}, Config{})
	r := n.raw(t)
	r.send("SET", "k", "v")
	if got := r.read(); got != "+OK" {
		t.Fatal(got)
	}
	if _, err := r.c.Write(append(echoFiller(64<<10-24), "WAIT 1 100\r\n"...)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "WAIT to block", n.blocked(1))
	if _, err := r.c.Write([]byte("WAIT 1 100\r\nGET k\r\n")); err != nil {
		t.Fatal(err)
	}
	r.read() // ECHO
	for _, want := range []string{":0", ":0", `"v"`} {
		if got := r.read(); got != want {
			t.Fatalf("reply %s, want %s", got, want)
		}
	}
}

// TestBlockedClientFreedOnDisconnect is defect 2: a client blocked in
// WAIT n 0 with a command pipelined behind it, which then closes, is
// freed (connected_clients and blocked_clients go back down), and with
// MaxClients such clients cannot lock others out.
func TestBlockedClientFreedOnDisconnect(t *testing.T) {
	checkNoLeak(t)
	n := startNode(t, replikv.Config{}, Config{MaxClients: 3})
	for range 5 { // more than MaxClients, one after the other
		c, err := net.Dial("tcp", n.addr)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write([]byte("WAIT 1 0\r\nPING\r\n")); err != nil {
			t.Fatal(err)
		}
		eventually(t, "WAIT to block", n.blocked(1))
		c.Close()
		eventually(t, "the client to be freed", func() bool {
			clients, _ := n.srv.counts()
			return clients == 0 && n.srv.stats.blocked.Load() == 0
		})
	}
	if got := n.raw(t).do("PING"); got != "+PONG" {
		t.Errorf("PING after the blocked clients left = %s", got)
	}
}

// TestBlockedClientKilled is defect 2 with CLIENT KILL: a client blocked
// in WAIT n 0 (commands pipelined or not) is closed and freed.
func TestBlockedClientKilled(t *testing.T) {
	for _, pipelined := range []string{"", "PING\r\n"} {
		n := startNode(t, replikv.Config{}, Config{MaxClients: 3})
		c, err := net.Dial("tcp", n.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write([]byte("CLIENT ID\r\n"))
		rd := resp.NewReader(c, resp.Limits{})
		v, err := rd.ReadReply()
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("WAIT 1 0\r\n" + pipelined))
		eventually(t, "WAIT to block", n.blocked(1))
		admin := n.raw(t)
		if got := admin.do("CLIENT", "LIST", "ID", v.String()[1:]); !strings.Contains(got, " flags=b ") {
			t.Errorf("CLIENT LIST of the blocked client = %s, want flags=b", got)
		}
		if got := admin.do("CLIENT", "KILL", "ID", v.String()[1:]); got != ":1" {
			t.Fatalf("CLIENT KILL = %s", got)
		}
		eventually(t, "the killed client to be freed", func() bool {
			clients, _ := n.srv.counts()
			return clients == 1 && n.srv.stats.blocked.Load() == 0
		})
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if rest, err := io.ReadAll(c); err != nil || len(rest) != 0 {
			t.Errorf("killed client read %q, %v; want a clean close", rest, err)
		}
	}
}

// TestRepliesFlushedBeforeBlocking is defect 7: the replies of the
// commands before a WAIT arrive at once, not when it returns.
func TestRepliesFlushedBeforeBlocking(t *testing.T) {
	n := startNode(t, replikv.Config{}, Config{})
	r := n.raw(t)
	if _, err := r.c.Write([]byte("SET a 1\r\nPING\r\nWAIT 5 0\r\n")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "WAIT to block", n.blocked(1))
	for _, want := range []string{"+OK", "+PONG"} {
		if got := r.read(); got != want { // read fails after 5 s if held back
			t.Fatalf("reply %s, want %s", got, want)
		}
	}
}

// flakyListener fails its first accepts with EMFILE, as a process out of
// file descriptors sees them, then accepts for real.
type flakyListener struct {
	net.Listener
	fails atomic.Int32
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if l.fails.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: l.Addr(), Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

// TestServeSurvivesEMFILE is defect 3: Serve backs off and keeps
// serving when accept fails for lack of file descriptors.
func TestServeSurvivesEMFILE(t *testing.T) {
	store, srv := newServer(t, replikv.Config{}, Config{})
	tl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &flakyListener{Listener: tl}
	l.fails.Store(3)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	n := &testNode{store: store, srv: srv, addr: tl.Addr().String()}
	if got := n.raw(t).do("PING"); got != "+PONG" {
		t.Errorf("PING after accept failed with EMFILE = %s", got)
	}
	select {
	case err := <-served:
		t.Fatalf("Serve returned %v after EMFILE", err)
	default:
	}
	srv.Close()
	if err := <-served; !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve = %v after Close, want ErrServerClosed", err)
	}
}

// TestBlockedInputBounded checks that a client blocked in WAIT cannot
// make the server buffer without bound: once more than one command of the
// largest size its limits accept is pending, it is closed.
func TestBlockedInputBounded(t *testing.T) {
	lim := resp.Limits{MaxBulkLen: 1 << 10, MaxInlineLen: 1 << 10}
	n := startNode(t, replikv.Config{}, Config{Limits: lim})
	c, err := net.Dial("tcp", n.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("WAIT 1 0\r\n")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "WAIT to block", n.blocked(1))
	go func() { // more than the 3 KiB allowed, which the server stops reading
		c.Write([]byte(strings.Repeat("PING\r\n", 2000)))
	}()
	eventually(t, "the client to be closed", func() bool {
		clients, _ := n.srv.counts()
		return clients == 0 && n.srv.stats.blocked.Load() == 0
	})
}
