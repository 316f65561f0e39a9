// Package transporttest checks that a listener and a dialer behave as the
// replication code expects of a transport: ordered, lossless, full-duplex
// byte streams with working deadlines and close semantics, refused dials
// that fail fast, cancellable dials, and no leaked goroutines.
//
// Use it from a test:
//
//	func TestMyTransport(t *testing.T) {
//		transporttest.Run(t, func(t *testing.T) (net.Listener, transport.Dialer) {
//			l := listenSomehow(t)
//			return l, dialerFor(l)
//		})
//	}
package transporttest

import (
	"context"
	"errors"
	"net"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/replikv/replikv/transport"
)

// MakePipe returns a fresh listener and a Dialer that reaches it. Run calls
// it once per sub-test and closes the listener when the sub-test ends.
type MakePipe func(t *testing.T) (net.Listener, transport.Dialer)

// patience bounds every wait in the suite; a healthy transport answers in
// milliseconds.
const patience = 10 * time.Second

// Run runs the conformance suite against the transport mk builds.
//
// Accepted connections that have a HandshakeContext method (as a *tls.Conn
// has) are handshaken right after Accept, as a server would before serving.
//
// The sub-tests count goroutines to detect leaks, so Run must not be called
// from a test that runs in parallel with others (do not call t.Parallel in
// it or in its siblings).
func Run(t *testing.T, mk func(t *testing.T) (net.Listener, transport.Dialer)) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := runtime.NumGoroutine()
			t.Cleanup(func() { checkNoLeak(t, before) })
			l, d := mk(t)
			t.Cleanup(func() { l.Close() })
			c.fn(t, l, d)
		})
	}
}

type testCase struct {
	name string
	fn   func(t *testing.T, l net.Listener, d transport.Dialer)
}

var cases = []testCase{
	{"DialAccept", testDialAccept},
	{"ConcurrentConns", testConcurrentConns},
	{"Echo", testEcho},
	{"FullDuplex", testFullDuplex},
	{"LargeWrite", testLargeWrite},
	{"ReadDeadline", testReadDeadline},
	{"PastDeadline", testPastDeadline},
	{"DeadlineUnblocksRead", testDeadlineUnblocksRead},
	{"WriteDeadline", testWriteDeadline},
	{"CloseDeliversThenEOF", testCloseDeliversThenEOF},
	{"PeerWriteAfterClose", testPeerWriteAfterClose},
	{"CloseUnblocksRead", testCloseUnblocksRead},
	{"LocalOpsAfterClose", testLocalOpsAfterClose},
	{"HalfClose", testHalfClose},
	{"DialRefused", testDialRefused},
	{"DialCanceled", testDialCanceled},
	{"DialTimeoutWhileNotAccepting", testDialTimeoutWhileNotAccepting},
	{"CloseUnblocksAccept", testCloseUnblocksAccept},
}

// checkNoLeak waits until no more goroutines run than before, failing with
// a stack dump if that does not happen in time.
func checkNoLeak(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Errorf("goroutine leak: %d running, %d before the test\n%s",
				runtime.NumGoroutine(), before, buf)
			return
		}
		runtime.Gosched()
		time.Sleep(time.Millisecond) // polling interval, not a synchronisation
	}
}

// connect dials d and accepts on l, returning both ends; both are closed
// when the test ends. If the accepted connection has a HandshakeContext
// method (as a *tls.Conn has), connect runs it, as a server would before
// serving.
func connect(t *testing.T, l net.Listener, d transport.Dialer) (client, server net.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	type result struct {
		c   net.Conn
		err error
	}
	accepted := make(chan result, 1)
	go func() {
		c, err := l.Accept()
		if hs, ok := c.(interface{ HandshakeContext(context.Context) error }); ok && err == nil {
			if err = hs.HandshakeContext(ctx); err != nil {
				c.Close()
			}
		}
		accepted <- result{c, err}
	}()
	client, err := d.Dial(ctx)
	if err != nil {
		l.Close() // release the accepting goroutine
		if r := <-accepted; r.err == nil {
			r.c.Close()
		}
		t.Fatalf("Dial(%v): %v", d, err)
	}
	t.Cleanup(func() { client.Close() })
	r := within(t, "Accept of a dialed connection", accepted)
	if r.err != nil {
		t.Fatalf("Accept: %v", r.err)
	}
	t.Cleanup(func() { r.c.Close() })
	return client, r.c
}

// within fails the test if ch yields nothing before patience runs out.
func within[T any](t *testing.T, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(patience):
		t.Fatalf("%s: still blocked after %v", what, patience)
		var zero T
		return zero
	}
}

// isTimeout reports whether err is a deadline error in both the os and net
// senses.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) && errors.As(err, &ne) && ne.Timeout()
}
