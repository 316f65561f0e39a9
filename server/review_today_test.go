package server

import (
	"net"
	"strconv"
	"strings"
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
	done := make(chan struct{})
	stopped := make(chan struct{})
	c, err := net.Dial("tcp", n.addr)
	if err != nil {
		t.Fatal(err)
	}
	go func() { // a writer that keeps monitor lines coming
		defer close(stopped)
		defer c.Close()
		go func() { // discard its replies
			buf := make([]byte, 64<<10)
			for {
				if _, err := c.Read(buf); err != nil {
					return
				}
			}
		}()
		var batch []byte
		for i := range 64 {
			batch = resp.AppendCommandString(batch, "SET", "k", strconv.Itoa(i))
		}
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
	defer func() { close(done); <-stopped }()
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
	done := make(chan struct{})
	stopped := make(chan struct{})
	c, err := net.Dial("tcp", n.addr)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(stopped)
		defer c.Close()
		go func() {
			buf := make([]byte, 64<<10)
			for {
				if _, err := c.Read(buf); err != nil {
					return
				}
			}
		}()
		batch := resp.AppendCommandString(nil, "SET", "k", "v")
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
	for range 40 {
		m := n.raw(t)
		m.send("CLIENT", "REPLY", "OFF")
		m.send("MONITOR")
		m.send("RESET")
		m.c.Close()
	}
	close(done)
	<-stopped
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
