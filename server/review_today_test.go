package server

import (
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/replikv/replikv"
	"github.com/replikv/replikv/resp"
)

// TestReviewTodayMonitorOKFirstAfterPubsub: MONITOR's +OK comes before
// the first monitor line, also for a client that subscribed and
// unsubscribed before (its replies then go through its pub/sub writer,
// not straight to the connection). Since the monitor is registered
// before +OK is flushed, lines queue from the start, and the monitor's
// writer, started once +OK was only handed to the pub/sub writer, could
// write them first.
func TestReviewTodayMonitorOKFirstAfterPubsub(t *testing.T) {
	n := startNode(t, replikv.Config{}, Config{})
	var batch []byte
	for i := range 64 {
		batch = resp.AppendCommandString(batch, "SET", "k", strconv.Itoa(i))
	}
	keepWriting(t, n.addr, batch) // keeps monitor lines coming
	bad := 0
	const tries = 40
	for range tries {
		m := n.raw(t)
		m.do("SUBSCRIBE", "ch")
		m.do("UNSUBSCRIBE", "ch")
		if got := m.do("MONITOR"); got != "+OK" {
			bad++
			t.Logf("first reply to MONITOR = %q", got)
		}
		m.c.Close()
	}
	if bad > 0 {
		t.Fatalf("%d of %d MONITORs: a monitor line came before +OK", bad, tries)
	}
}

// TestReviewTodayMonitorDroppedBeforeWriter: with a limit a single line
// passes, a monitor is dropped (its connection closed) while +OK is
// being flushed or before its writer starts; nothing leaks and the
// server goes on.
func TestReviewTodayMonitorDroppedBeforeWriter(t *testing.T) {
	checkNoLeak(t)
	n := startNode(t, replikv.Config{}, Config{MonitorBufferLimit: 8})
	stop := keepWriting(t, n.addr, resp.AppendCommandString(nil, "SET", "k", "v"))
	for range 40 {
		m := n.raw(t)
		m.send("CLIENT", "REPLY", "OFF")
		m.send("MONITOR")
		m.send("RESET")
		m.c.Close()
	}
	stop()
	eventually(t, "no monitor left", func() bool { return n.srv.monitors.n.Load() == 0 })
	w := n.raw(t)
	if got := w.do("PING"); got != "+PONG" {
		t.Fatalf("PING = %s", got)
	}
}

// TestSubscribeConfirmedMeansSubscribed: once a client has read
// SUBSCRIBE's (PSUBSCRIBE's) confirmation, a PUBLISH from another client
// reaches it, every time: the confirmation is queued with the
// subscription in place, as Redis orders them. It was sent before the
// subscription was registered, so a PUBLISH right after could count 0
// receivers and the message was lost (seen as a flaky
// TestClientKillTypePubsub).
func TestSubscribeConfirmedMeansSubscribed(t *testing.T) {
	n := startNode(t, replikv.Config{}, Config{})
	pub := n.raw(t)
	for i := range 300 {
		sub := n.raw(t)
		ch := "ch" + strconv.Itoa(i)
		cmd, name := "SUBSCRIBE", ch
		if i%2 == 1 {
			cmd, name = "PSUBSCRIBE", ch+"*"
		}
		sub.do(cmd, name)
		if got := pub.do("PUBLISH", ch, "m"); got != ":1" {
			t.Fatalf("%s %s confirmed, then PUBLISH %s reached %s clients, want 1", cmd, name, ch, got)
		}
		if msg := sub.read(); !strings.Contains(msg, "m") {
			t.Fatalf("subscriber read %q, want the message", msg)
		}
		sub.c.Close()
	}
}

// keepWriting writes batch to a new connection to addr again and again,
// discarding the replies, until stop is called or the test ends (stop
// waits for the writer to end; it may be called more than once).
func keepWriting(t *testing.T, addr string, batch []byte) (stop func()) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		defer c.Close()
		go func() { // discard the replies
			buf := make([]byte, 64<<10)
			for {
				if _, err := c.Read(buf); err != nil {
					return
				}
			}
		}()
		for {
			select {
			case <-done:
				return
			default:
			}
			if _, err := c.Write(batch); err != nil {
				return
			}
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { close(done); <-stopped }) }
	t.Cleanup(stop)
	return stop
}
