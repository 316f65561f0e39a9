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
	cases := append(flood.BeforeAuth,
		flood.Case{Decl: "*1\r\n$600000000\r\n", Want: "-ERR Protocol error: invalid bulk length\r\n"}) // over proto-max-bulk-len first, as Redis
	flood.Check(t, 200, dial, cases, 16<<10)
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
