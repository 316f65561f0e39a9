package server

import (
	"net"
	"strings"
	"testing"

	"github.com/replikv/replikv"
	"github.com/replikv/replikv/internal/flood"
)

// TestUnauthenticatedLimits is issue 12's first point: with requirepass,
// a client that has not authenticated may send commands of at most 10
// arguments of 16 KiB. Two hundred connections at once announcing more
// and trickling data each get Redis's error at once and are closed, and
// the server allocates next to nothing for them, whatever they announce.
func TestUnauthenticatedLimits(t *testing.T) {
	n := startNode(t, replikv.Config{Password: "pw"}, Config{MaxClients: 1000})
	dial := func() (net.Conn, error) { return net.Dial("tcp", n.addr) }
	const conns = 200
	// Baseline: the same connections with a small protocol error.
	base := flood.Refused(t, conns, dial, "*x\r\n", "-ERR Protocol error: invalid multibulk length\r\n")
	for _, tc := range []struct{ decl, want string }{
		{"*100\r\n", "-ERR Protocol error: unauthenticated multibulk length\r\n"},
		{"*11\r\n", "-ERR Protocol error: unauthenticated multibulk length\r\n"},
		{"*1\r\n$100000000\r\n", "-ERR Protocol error: unauthenticated bulk length\r\n"},
		{"*2\r\n$4\r\nAUTH\r\n$16385\r\n", "-ERR Protocol error: unauthenticated bulk length\r\n"},
		{"*1\r\n$600000000\r\n", "-ERR Protocol error: invalid bulk length\r\n"}, // over proto-max-bulk-len first, as Redis
	} {
		got := flood.Refused(t, conns, dial, tc.decl, tc.want)
		t.Logf("%q: %d connections allocated %d KiB (a small protocol error: %d KiB)", tc.decl, conns, got>>10, base>>10)
		if got > base+conns*(16<<10) {
			t.Errorf("%q: %d connections allocated %d KiB, a small protocol error %d KiB", tc.decl, conns, got>>10, base>>10)
		}
	}
	eventually(t, "the refused clients to go", func() bool {
		clients, _ := n.srv.counts()
		return clients == 0
	})
	// At the limits, and once authenticated, larger commands pass.
	r := n.raw(t)
	r.expect([]exchange{
		{[]string{"AUTH", strings.Repeat("p", 16384)}, "-WRONGPASS invalid username-password pair or user is disabled."},
		{[]string{"PING", "1", "2", "3", "4", "5", "6", "7", "8", "9"}, "-NOAUTH Authentication required."},
		{[]string{"AUTH", "pw"}, "+OK"},
		{[]string{"ECHO", strings.Repeat("e", 100000)}, `"` + strings.Repeat("e", 100000) + `"`},
		{[]string{"DEL", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11"}, ":0"},
	})
}
