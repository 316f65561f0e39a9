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
	cases := append(flood.BeforeAuth,
		flood.Case{Decl: "*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n*65\r\n", Want: "+OK\r\n-ERR Protocol error: invalid multibulk length\r\n"},
		flood.Case{Decl: "*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n*2\r\n$4\r\nPING\r\n$65537\r\n", Want: "+OK\r\n-ERR Protocol error: invalid bulk length\r\n"})
	flood.Check(t, 200, dial, cases, 16<<10)
	// At the limits, a command is read and answered.
	pc := dialPeer(t, tn.dialer("p"))
	pc.send(t, "PING", "1", "2", "3", "4", "5", "6", "7", "8", "9")
	pc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if line, err := pc.rd.ReadLine(); err != nil || string(line) != "-NOAUTH Authentication required." {
		t.Errorf("10 arguments before AUTH: %q, %v", line, err)
	}
}
