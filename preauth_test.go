package replikv

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/replikv/replikv/internal/flood"
)

// TestUnauthenticatedLimitsOnServe is issue 12's first point for the
// handshake of Store.Serve: with a password, a peer that has not sent
// AUTH may send commands of at most 10 arguments of 16 KiB, as in Redis.
// Two hundred peers at once announcing more and trickling data each get
// Redis's error at once and are closed, cheaply; a peer that
// authenticated gets the handshake's own limits (64 arguments of 64 KiB).
func TestUnauthenticatedLimitsOnServe(t *testing.T) {
	tn := &tcpNet{addrs: map[string]string{}, conns: map[string][]net.Conn{}}
	cfg := fastConfig()
	cfg.Password = "pw"
	cfg.ReplTimeout = time.Minute // the disconnections must not be timeouts
	cfg.MaxHandshakes = 256
	node(t, tn, "p", cfg)
	dial := func() (net.Conn, error) { return tn.dialer("p").Dial(context.Background()) }
	const conns = 200
	base := flood.Refused(t, conns, dial, "*x\r\n", "-ERR Protocol error: invalid multibulk length\r\n")
	for _, tc := range []struct{ decl, want string }{
		{"*100\r\n", "-ERR Protocol error: unauthenticated multibulk length\r\n"},
		{"*11\r\n", "-ERR Protocol error: unauthenticated multibulk length\r\n"},
		{"*1\r\n$100000000\r\n", "-ERR Protocol error: unauthenticated bulk length\r\n"},
		{"*2\r\n$4\r\nAUTH\r\n$16385\r\n", "-ERR Protocol error: unauthenticated bulk length\r\n"},
		{"*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n*65\r\n", "+OK\r\n-ERR Protocol error: invalid multibulk length\r\n"},
		{"*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n*2\r\n$4\r\nPING\r\n$65537\r\n", "+OK\r\n-ERR Protocol error: invalid bulk length\r\n"},
	} {
		got := flood.Refused(t, conns, dial, tc.decl, tc.want)
		t.Logf("%q: %d connections allocated %d KiB (a small protocol error: %d KiB)", tc.decl, conns, got>>10, base>>10)
		if got > base+conns*(16<<10) {
			t.Errorf("%q: %d connections allocated %d KiB, a small protocol error %d KiB", tc.decl, conns, got>>10, base>>10)
		}
	}
	// At the limits, a command is read and answered.
	pc := dialPeer(t, tn.dialer("p"))
	pc.send(t, "PING", "1", "2", "3", "4", "5", "6", "7", "8", "9")
	pc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if line, err := pc.rd.ReadLine(); err != nil || string(line) != "-NOAUTH Authentication required." {
		t.Errorf("10 arguments before AUTH: %q, %v", line, err)
	}
}
