// Package flood opens many connections at once that each announce a
// command larger than the peer should accept, for the tests that prove a
// server refuses them at once and cheaply.
package flood

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/replikv/replikv/internal/allocs"
)

// Case is a command header sent before AUTH and the reply Redis gives it.
type Case struct{ Decl, Want string }

// BeforeAuth are headers announcing more than an unauthenticated client
// may send (10 arguments of 16 KiB), with redis-server 7.0's replies.
var BeforeAuth = []Case{
	{"*100\r\n", "-ERR Protocol error: unauthenticated multibulk length\r\n"},
	{"*11\r\n", "-ERR Protocol error: unauthenticated multibulk length\r\n"},
	{"*1\r\n$100000000\r\n", "-ERR Protocol error: unauthenticated bulk length\r\n"},
	{"*2\r\n$4\r\nAUTH\r\n$16385\r\n", "-ERR Protocol error: unauthenticated bulk length\r\n"},
}

// Baseline is a small protocol error, whose cost the others' is compared
// with.
var Baseline = Case{"*x\r\n", "-ERR Protocol error: invalid multibulk length\r\n"}

// Check runs Refused for Baseline and then for each case with n
// connections, and fails the test when one costs more than perConn bytes
// a connection beyond the baseline.
func Check(t testing.TB, n int, dial func() (net.Conn, error), cases []Case, perConn uint64) {
	t.Helper()
	base := Refused(t, n, dial, Baseline.Decl, Baseline.Want)
	for _, tc := range cases {
		got := Refused(t, n, dial, tc.Decl, tc.Want)
		t.Logf("%q: %d connections allocated %d KiB (a small protocol error: %d KiB)", tc.Decl, n, got>>10, base>>10)
		if got > base+uint64(n)*perConn {
			t.Errorf("%q: %d connections allocated %d KiB, a small protocol error %d KiB", tc.Decl, n, got>>10, base>>10)
		}
	}
}

// Trickle is how many bytes each connection goes on sending after the
// header, in small writes, while it waits for the reply.
const Trickle = 64 << 10

// Refused opens n connections with dial at once; each sends decl, then
// trickles up to Trickle bytes of data in 512-byte writes, and must
// receive exactly want and then the end of the connection. It returns
// the bytes the process allocated meanwhile (both ends, when the server
// runs in the test), after a collection.
func Refused(t testing.TB, n int, dial func() (net.Conn, error), decl, want string) uint64 {
	t.Helper()
	conns := make([]net.Conn, n)
	for i := range conns {
		c, err := dial()
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		t.Cleanup(func() { c.Close() })
		conns[i] = c
	}
	chunk := bytes.Repeat([]byte("x"), 512)
	errs := make(chan string, n)
	return allocs.During(func() {
		var wg sync.WaitGroup
		for _, c := range conns {
			wg.Add(2)
			go func() { // the trickle: stops at the first failed write
				defer wg.Done()
				c.SetWriteDeadline(time.Now().Add(10 * time.Second))
				if _, err := io.WriteString(c, decl); err != nil {
					return
				}
				for sent := 0; sent < Trickle; sent += len(chunk) {
					if _, err := c.Write(chunk); err != nil {
						return
					}
				}
			}()
			go func() {
				defer wg.Done()
				c.SetReadDeadline(time.Now().Add(10 * time.Second))
				got, err := io.ReadAll(c)
				if (err != nil && !isReset(err)) || !bytes.Equal(got, []byte(want)) {
					errs <- "received " + string(got) + " then " + errString(err) + "; want " + want + " then the end"
				}
			}()
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Errorf("%q: %s", decl, e)
		}
	})
}

// isReset reports a failed read (a connection reset): the server closing
// with trickled bytes unread resets the connection, after its reply.
func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "read"
}

func errString(err error) string {
	if err == nil {
		return "EOF"
	}
	return err.Error()
}
