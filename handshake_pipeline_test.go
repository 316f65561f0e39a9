package replikv

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/replikv/replikv/resp"
	"github.com/replikv/replikv/transport"
)

// The replica sends PING, AUTH and its REPLCONFs in one go, before any
// reply, and PSYNC only once they are all answered (a Redis primary
// refuses PSYNC while replies are pending).
func TestHandshakePipelined(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer l.Close()
	cfg := fastConfig()
	cfg.MasterAuth = "secret"
	cfg.AnnounceIP = "10.0.0.7"
	r := newStore(t, cfg)
	must(t, r.ReplicaOf(transport.TCP(l.Addr().String())))
	c, err := l.Accept()
	must(t, err)
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	rd := resp.NewReader(c, resp.Limits{})
	var got []string
	for range 5 {
		cmd, err := rd.ReadCommand()
		if err != nil {
			t.Fatalf("after %q, with nothing answered: %v", got, err)
		}
		got = append(got, strings.Join(strings.Fields(strings.ReplaceAll(string(cmd.Raw), "\r\n", " ")), " "))
	}
	want := []string{"*1 $4 PING", "*2 $4 AUTH $6 secret", "*3 $8 REPLCONF $14 listening-port",
		"*3 $8 REPLCONF $10 ip-address $8 10.0.0.7", "*5 $8 REPLCONF $4 capa $3 eof $4 capa $6 psync2"}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Fatalf("command %d: got %q, want %q…", i, got[i], want[i])
		}
	}
	// Nothing more until the replies: PSYNC waits for them.
	if rd.Buffered() != 0 {
		t.Fatalf("%d more bytes came with the handshake", rd.Buffered())
	}
	c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if n, err := c.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the replica sent more before any reply: %d bytes, %v", n, err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	// An old primary's error to a REPLCONF is not fatal.
	_, err = c.Write([]byte("+PONG\r\n+OK\r\n+OK\r\n-ERR Unrecognized REPLCONF option: ip-address\r\n+OK\r\n"))
	must(t, err)
	cmd, err := rd.ReadCommand()
	must(t, err)
	if len(cmd.Args) != 3 || string(cmd.Args[0]) != "PSYNC" {
		t.Fatalf("after the replies: %q, want PSYNC", cmd.Raw)
	}
}

// A wrong password still fails the link with ErrNoAuth, and a primary
// that wants one the replica does not have too, though the REPLCONFs went
// out with the PING.
func TestHandshakePipelinedAuthErrors(t *testing.T) {
	for _, tc := range []struct {
		name, auth, replies string
	}{
		{"no password set", "", "-NOAUTH Authentication required.\r\n-NOAUTH Authentication required.\r\n-NOAUTH Authentication required.\r\n"},
		{"wrong password", "wrong", "-NOAUTH Authentication required.\r\n-WRONGPASS invalid username-password pair or user is disabled.\r\n"},
		{"REPLCONF refused", "pw", "+PONG\r\n+OK\r\n-NOAUTH Authentication required.\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			must(t, err)
			defer l.Close()
			cfg := fastConfig()
			cfg.MasterAuth = tc.auth
			cfg.ReconnectMin, cfg.ReconnectMax = time.Hour, time.Hour
			r := newStore(t, cfg)
			must(t, r.ReplicaOf(transport.TCP(l.Addr().String())))
			c, err := l.Accept()
			must(t, err)
			defer c.Close()
			_, err = c.Write([]byte(tc.replies))
			must(t, err)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			for ctx.Err() == nil && !errors.Is(r.linkErr(), ErrNoAuth) {
				time.Sleep(time.Millisecond)
			}
			if !errors.Is(r.linkErr(), ErrNoAuth) {
				t.Fatalf("link error %v, want ErrNoAuth", r.linkErr())
			}
		})
	}
}
