package server

import (
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/replikv/replikv"
)

// TestIdleTimeout is issue 9's defect 6, timeout: an idle client is
// closed after IdleTimeout, one blocked in WAIT is not, and CONFIG SET
// timeout changes it (in seconds, as Redis).
func TestIdleTimeout(t *testing.T) {
	n := startNode(t, replikv.Config{}, Config{IdleTimeout: 300 * time.Millisecond})
	blocked := n.raw(t)
	blocked.send("WAIT", "1", "0")
	eventually(t, "WAIT to block", n.blocked(1))
	idle := n.raw(t)
	if got := idle.do("PING"); got != "+PONG" {
		t.Fatal(got)
	}
	idle.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if rest, err := io.ReadAll(idle.c); err != nil || len(rest) != 0 {
		t.Fatalf("idle client: read %q, %v; want to be closed", rest, err)
	}
	// The blocked client went quiet before the idle one did. (The idle
	// one's count drops just after its connection closes: poll.)
	eventually(t, "only the blocked client to stay", func() bool {
		clients, _ := n.srv.counts()
		return clients == 1
	})
	if n.srv.stats.blocked.Load() != 1 {
		t.Errorf("%d blocked after the idle timeout; want the blocked one kept", n.srv.stats.blocked.Load())
	}
	admin := n.raw(t)
	admin.expect([]exchange{
		{[]string{"CONFIG", "GET", "timeout"}, `["timeout", "0"]`}, // 300 ms, in whole seconds
		{[]string{"CONFIG", "SET", "timeout", "-1"}, "-ERR CONFIG SET failed (possibly related to argument 'timeout') - argument must be between 0 and 2147483647 inclusive"},
		{[]string{"CONFIG", "SET", "timeout", "x"}, "-ERR CONFIG SET failed (possibly related to argument 'timeout') - argument couldn't be parsed into an integer"},
		{[]string{"CONFIG", "SET", "timeout", "30", "repl-timeout", "0"}, "-ERR CONFIG SET failed (possibly related to argument 'repl-timeout') - argument must be between 1 and 2147483647 inclusive"},
		{[]string{"CONFIG", "GET", "timeout"}, `["timeout", "0"]`}, // all or nothing
		{[]string{"CONFIG", "SET", "timeout", "0"}, "+OK"},
		{[]string{"CONFIG", "SET", "TIMEOUT", "3600"}, "+OK"},
		{[]string{"CONFIG", "GET", "timeout"}, `["timeout", "3600"]`},
	})
	if got := time.Duration(n.srv.idleTimeout.Load()); got != time.Hour {
		t.Errorf("idle timeout %v after CONFIG SET timeout 3600", got)
	}
}

// nonLoopbackIP returns an address of this host that is not a loopback
// one, or skips the test.
func nonLoopbackIP(t *testing.T) net.IP {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP
		}
	}
	t.Skip("no non-loopback IPv4 address to connect from")
	return nil
}

// TestProtectedMode is defect 8's protected-mode: with no password, a
// client from another address gets Redis's DENIED error and is closed,
// a loopback client is served; a password, or CONFIG SET protected-mode
// no, lets everyone in.
func TestProtectedMode(t *testing.T) {
	ip := nonLoopbackIP(t)
	store, srv := newServer(t, replikv.Config{}, Config{ProtectedMode: true})
	l, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	port := l.Addr().(*net.TCPAddr).Port
	remote := &testNode{store: store, srv: srv, addr: net.JoinHostPort(ip.String(), itoa(port))}
	local := &testNode{store: store, srv: srv, addr: net.JoinHostPort("127.0.0.1", itoa(port))}
	if got := local.raw(t).do("PING"); got != "+PONG" {
		t.Errorf("loopback PING = %s", got)
	}
	r := remote.raw(t)
	r.send("PING")
	if got := r.read(); !strings.HasPrefix(got, "-DENIED Redis is running in protected mode") {
		t.Errorf("remote PING = %.60s…", got)
	}
	r.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := r.rd.ReadReply(); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("after DENIED: %v, want the connection closed", err)
	}
	admin := local.raw(t)
	admin.expect([]exchange{
		{[]string{"CONFIG", "GET", "protected-mode"}, `["protected-mode", "yes"]`},
		{[]string{"CONFIG", "SET", "requirepass", "pw"}, "+OK"},
	})
	if got := remote.raw(t).do("PING"); got != "-NOAUTH Authentication required." {
		t.Errorf("remote PING with a password set = %s", got)
	}
	admin.expect([]exchange{
		{[]string{"AUTH", "pw"}, "+OK"},
		{[]string{"CONFIG", "SET", "requirepass", "", "protected-mode", "no"}, "+OK"},
	})
	if got := remote.raw(t).do("PING"); got != "+PONG" {
		t.Errorf("remote PING with protected-mode no = %s", got)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestRenameCommand is defect 8's rename-command: a renamed command
// answers to its new name only, a disabled one to none, and bad renames
// are refused by New.
func TestRenameCommand(t *testing.T) {
	n := startNode(t, replikv.Config{}, Config{RenameCommands: map[string]string{
		"FLUSHALL": "", "config": "", "get": "fetch"}})
	r := n.raw(t)
	r.expect([]exchange{
		{[]string{"SET", "k", "v"}, "+OK"},
		{[]string{"FLUSHALL"}, "-ERR unknown command 'FLUSHALL', with args beginning with: "},
		{[]string{"CONFIG", "GET", "timeout"}, "-ERR unknown command 'CONFIG', with args beginning with: 'GET' 'timeout' "},
		{[]string{"GET", "k"}, "-ERR unknown command 'GET', with args beginning with: 'k' "},
		{[]string{"FETCH", "k"}, `"v"`},
		{[]string{"DBSIZE"}, ":1"},
	})
	store := n.store
	for _, renames := range []map[string]string{
		{"nosuch": ""},
		{"get": "set"},
		{"get": "x", "set": "x"},
	} {
		if _, err := New(Config{Store: store, RenameCommands: renames}); !errors.Is(err, ErrConfig) {
			t.Errorf("New with RenameCommands %v: %v, want ErrConfig", renames, err)
		}
	}
}
