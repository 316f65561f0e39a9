package replikv

import (
	"io"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/replikv/replikv/resp"
	"github.com/replikv/replikv/transport"
)

// TestReplicaDetectsSilentPrimary: a primary that completes a full sync
// and then sends nothing, not even PINGs, is dropped by its replica after
// ReplTimeout, and the replica reconnects. A primary that only PINGs is
// not silent: the link stays up, and the PINGs count in the offset.
func TestReplicaDetectsSilentPrimary(t *testing.T) {
	// A PING every 100 ms against a 1 s timeout: a margin of 10 for a busy
	// machine (with 3, a loaded CI machine's scheduling delays dropped the
	// link).
	const timeout = time.Second
	fp, r, pc, id, off := syncedToFake(t, timeout)
	synced := time.Now()
	pc = fp.next(t) // the reconnection
	silent := time.Since(synced)
	if silent < timeout {
		t.Fatalf("the replica gave up on its primary after %v, before ReplTimeout %v", silent, timeout)
	}
	waitLastErr(t, r, "silent")
	t.Logf("silent primary dropped after %v", silent)

	// This time the primary PINGs every 100ms for 3 timeouts.
	pc.expectPSync(t, id, off)
	pc.drain()
	pc.write(t, []byte("+CONTINUE\r\n"))
	waitSynced(t, r)
	accepted := fp.accepted.Load()
	ping := resp.AppendCommandString(nil, "PING")
	pings := 0
	for end := time.Now().Add(3 * timeout); time.Now().Before(end); pings++ {
		pc.write(t, ping)
		time.Sleep(timeout / 10) // the pace of a primary's PINGs, not a wait for a condition
		if r.LinkStatus() != LinkUp || fp.accepted.Load() != accepted {
			t.Fatalf("the replica dropped a primary that PINGs every %v: %s", timeout/10, r.Info().Master.LastErr)
		}
	}
	// Then silence again.
	pc = fp.next(t)
	off += int64(pings * len(ping))
	pc.expectPSync(t, id, off) // each PING counted

	// A primary that goes silent in the middle of a snapshot.
	before := dump(r)
	rdb2, _, id2, off2 := snapshotOf(t, 11, 300)
	pc.drain()
	full := lenFramed(id2, off2, rdb2)
	pc.write(t, full[:len(full)/2])
	stalled := time.Now()
	pc = fp.next(t)
	if d := time.Since(stalled); d < timeout {
		t.Fatalf("the replica gave up on a stalled snapshot after %v, before ReplTimeout %v", d, timeout)
	}
	waitLastErr(t, r, "timeout")
	if d := cmp.Diff(before, dump(r)); d != "" {
		t.Fatalf("the stalled snapshot changed the data (-before +after):\n%s", d)
	}
	pc.expectPSync(t, id, off)
	fp.conns <- pc.Conn
}

// TestPrimaryDropsSilentReplica: a replica that syncs and then never sends
// an ACK nor a newline is dropped by its primary after ReplTimeout. One
// that sends only newlines, or only ACKs, is not (Redis counts both).
func TestPrimaryDropsSilentReplica(t *testing.T) {
	// A PING every 100 ms against a 1 s timeout: a margin of 10 for a busy
	// machine (with 3, a loaded CI machine's scheduling delays dropped the
	// link).
	const timeout = time.Second
	mn := memNet{transport.NewMemNetwork()}
	cfg := fastConfig()
	cfg.ReplTimeout = timeout
	p := node(t, mn, "p", cfg)
	must(t, p.Set("k", []byte("v")))

	// A peer that connects and says nothing.
	connected := time.Now() // before the dial: the primary's clock starts after it
	mute := dialPeer(t, mn.dialer("p"))
	mute.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadAll(mute); err != nil {
		t.Fatalf("a mute peer was not disconnected: %v", err)
	}
	if d := time.Since(connected); d < timeout {
		t.Fatalf("a mute peer was disconnected after %v, before ReplTimeout %v", d, timeout)
	}

	// A silent replica.
	pc := dialPeer(t, mn.dialer("p"))
	synced := time.Now() // the primary waits for ACKs from after the snapshot on
	pc.syncFull(t, 5001)
	closed := pc.drain() // reads the PINGs, never writes
	waitListed(t, p, 5001)
	poll(t, 5*time.Second, "the primary to drop the silent replica", func() bool {
		_, ok := replicaByPort(p, 5001)
		return !ok
	})
	if d := time.Since(synced); d < timeout {
		t.Fatalf("dropped after %v, before ReplTimeout %v", d, timeout)
	}
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("the primary dropped the replica but kept its connection")
	}

	// Replicas that send newlines, or ACKs, every 100ms for 3 timeouts.
	t.Run("keepalives", func(t *testing.T) {
		for _, tc := range []struct {
			name      string
			port      int
			keepalive []byte
		}{
			{"newlines", 5002, []byte("\n")},
			{"acks", 5003, resp.AppendCommandString(nil, "REPLCONF", "ACK", "0")},
		} {
			port, keepalive := tc.port, tc.keepalive
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				pc := dialPeer(t, mn.dialer("p"))
				pc.syncFull(t, port)
				pc.drain()
				waitListed(t, p, port)
				for end := time.Now().Add(3 * timeout); time.Now().Before(end); {
					pc.write(t, keepalive)
					time.Sleep(timeout / 10) // the pace of a replica's keepalives
					if _, ok := replicaByPort(p, port); !ok {
						t.Fatalf("the primary dropped a replica that sends %q every %v", keepalive, timeout/10)
					}
				}
				poll(t, 5*time.Second, "the primary to drop the replica once silent", func() bool {
					_, ok := replicaByPort(p, port)
					return !ok
				})
			})
		}
	})
	if len(p.Info().Replicas) != 0 {
		t.Fatalf("replicas left: %+v", p.Info().Replicas)
	}
}

// waitListed waits until the primary lists the replica announcing port.
func waitListed(t *testing.T, p *Store, port int) {
	t.Helper()
	poll(t, 5*time.Second, "the primary to list the replica", func() bool {
		_, ok := replicaByPort(p, port)
		return ok
	})
}

// TestReplicaDetectsPrimaryStalledMidCommand: a primary that stops in the
// middle of a command is dropped after ReplTimeout, like a silent one,
// and the half command is neither applied nor counted. The deadline is
// renewed per read from the connection, not per command, so this is the
// case that shows the renewal reaches a read the parser makes for a
// command it has begun.
func TestReplicaDetectsPrimaryStalledMidCommand(t *testing.T) {
	const timeout = time.Second
	fp, r, pc, id, off := syncedToFake(t, timeout)
	// Keep the link alive with PINGs while a whole SET goes through, then
	// send half of another SET and stop.
	ping := resp.AppendCommandString(nil, "PING")
	set := resp.AppendCommandString(nil, "SET", "whole", "1")
	pc.write(t, append(append([]byte(nil), ping...), set...))
	off += int64(len(ping) + len(set))
	poll(t, 10*time.Second, "the whole SET applied", func() bool { _, o := r.Position(); return o == off })
	half := resp.AppendCommandString(nil, "SET", "half", "2")
	pc.write(t, half[:len(half)/2])
	stalled := time.Now()
	pc = fp.next(t)
	if d := time.Since(stalled); d < timeout {
		t.Fatalf("the replica gave up on a primary stalled mid-command after %v, before ReplTimeout %v", d, timeout)
	}
	waitLastErr(t, r, "silent")
	if r.Exists("half") {
		t.Fatal("the half command was applied")
	}
	if v, err := r.Get("whole"); err != nil || string(v) != "1" {
		t.Fatalf("whole = %q, %v; want \"1\"", v, err)
	}
	pc.expectPSync(t, id, off) // the half command not counted
	fp.conns <- pc.Conn
}

// syncedToFake starts a replica with ReplTimeout timeout that follows a
// fake primary, and returns once it has synced from a small snapshot:
// the fake, the replica, the primary's side of the link, and the history
// and offset synced at.
func syncedToFake(t *testing.T, timeout time.Duration) (*fakePrimary, *Store, *peerConn, string, int64) {
	t.Helper()
	cfg := fastConfig()
	cfg.ReplTimeout = timeout
	fp, r := followFake(t, cfg)
	rdb, _, id, off := snapshotOf(t, 10, 10)
	pc := fp.next(t)
	pc.handshake(t)
	pc.drain()
	pc.write(t, lenFramed(id, off, rdb))
	waitSynced(t, r)
	return fp, r, pc, id, off
}
