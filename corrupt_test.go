package replikv

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/replikv/replikv/resp"
	"github.com/replikv/replikv/transport"
)

// This file tests a replica fed corrupt snapshots (invariant 5). It also
// holds the fake primary used by the reliability tests: the test accepts
// the replica's connections itself and says what a primary would, or not.

// fakePrimary listens on a MemNetwork for a replica under test.
type fakePrimary struct {
	l        net.Listener
	conns    chan net.Conn
	accepted atomic.Int64
}

func newFakePrimary(t testing.TB, mn *transport.MemNetwork, name string) *fakePrimary {
	t.Helper()
	l, err := mn.Listen(name)
	must(t, err)
	fp := &fakePrimary{l: l, conns: make(chan net.Conn, 64)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			fp.accepted.Add(1)
			fp.conns <- c
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		for {
			select {
			case c := <-fp.conns:
				c.Close()
			default:
				return
			}
		}
	})
	return fp
}

// next waits for the replica's next connection.
func (fp *fakePrimary) next(t testing.TB) *peerConn {
	t.Helper()
	select {
	case c := <-fp.conns:
		return newPeerConn(c)
	case <-time.After(10 * time.Second):
		t.Fatalf("the replica did not connect (after %d connections)", fp.accepted.Load())
		return nil
	}
}

// peerConn is one end of a replication link driven by the test.
type peerConn struct {
	net.Conn
	rd *resp.Reader
}

func newPeerConn(c net.Conn) *peerConn {
	return &peerConn{Conn: c, rd: resp.NewReader(c, resp.Limits{})}
}

// command reads the peer's next command, skipping keepalive newlines.
func (pc *peerConn) command(t testing.TB) []string {
	t.Helper()
	for {
		pc.SetReadDeadline(time.Now().Add(10 * time.Second))
		cmd, err := pc.rd.ReadCommand()
		if err != nil {
			t.Fatalf("reading the peer's command: %v", err)
		}
		if cmd.Empty {
			continue
		}
		args := make([]string, len(cmd.Args))
		for i, a := range cmd.Args {
			args[i] = string(a)
		}
		return args
	}
}

// write sends b, failing the test if the peer does not take it in time.
func (pc *peerConn) write(t testing.TB, b []byte) {
	t.Helper()
	pc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := pc.Write(b); err != nil {
		t.Fatalf("writing to the peer: %v", err)
	}
}

// offer sends b to a peer that may hang up before taking all of it.
func (pc *peerConn) offer(b []byte) {
	pc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	pc.Write(b)
}

// handshake answers a replica's PING, AUTH and REPLCONF as a primary does
// and returns the PSYNC (or SYNC) command that ends the handshake.
func (pc *peerConn) handshake(t testing.TB) []string {
	t.Helper()
	for {
		args := pc.command(t)
		switch strings.ToUpper(args[0]) {
		case "PING":
			pc.write(t, []byte("+PONG\r\n"))
		case "AUTH", "REPLCONF":
			pc.write(t, []byte("+OK\r\n"))
		case "PSYNC", "SYNC":
			return args
		default:
			t.Fatalf("unexpected command in the handshake: %q", args)
		}
	}
}

// expectPSync answers the handshake and checks that the replica asks to
// continue history replid from offset off (its PSYNC names off+1).
func (pc *peerConn) expectPSync(t testing.TB, replid string, off int64) {
	t.Helper()
	if got, want := strings.Join(pc.handshake(t), " "), fmt.Sprintf("PSYNC %s %d", replid, off+1); got != want {
		t.Fatalf("the replica sent %q, want %q", got, want)
	}
}

// followFake returns a replica (configured by cfg) of a fake primary.
func followFake(t *testing.T, cfg Config) (*fakePrimary, *Store) {
	t.Helper()
	mn := transport.NewMemNetwork()
	fp := newFakePrimary(t, mn, "p")
	r := newStore(t, cfg)
	must(t, r.ReplicaOf(mn.Dialer("p")))
	return fp, r
}

// drain reads and discards whatever the peer sends (ACKs), so that it
// never blocks writing, until the peer closes the connection.
func (pc *peerConn) drain() (closed <-chan struct{}) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		pc.SetReadDeadline(time.Time{})
		for {
			if _, err := pc.rd.Read(buf); err != nil {
				return
			}
		}
	}()
	return done
}

// hangUp ends what the test sends and waits for the peer to close its end
// (it must notice the end of the stream) before closing the connection.
// Closing at once could fail a write the peer has just completed: on a
// MemNetwork a Write racing with the reader's Close reports EPIPE even
// after delivering all its bytes.
func (pc *peerConn) hangUp(t testing.TB, drained <-chan struct{}) {
	t.Helper()
	pc.Conn.(interface{ CloseWrite() error }).CloseWrite()
	select {
	case <-drained:
	case <-time.After(10 * time.Second):
		t.Fatal("the peer did not close the connection after the end of the stream")
	}
	pc.Close()
}

// lenFramed is a full resync with "$<len>" framing.
func lenFramed(replid string, off int64, rdb []byte) []byte {
	return fmt.Appendf(nil, "+FULLRESYNC %s %d\r\n$%d\r\n%s", replid, off, len(rdb), rdb)
}

// eofFramed is a full resync with "$EOF:<mark>" framing; endMark is the
// mark sent after the payload (normally the same).
func eofFramed(replid string, off int64, rdb []byte, mark, endMark string) []byte {
	return fmt.Appendf(nil, "+FULLRESYNC %s %d\r\n$EOF:%s\r\n%s%s", replid, off, mark, rdb, endMark)
}

// snapshotOf returns a snapshot of a new store holding n random keys.
func snapshotOf(t testing.TB, seed uint64, n int) (rdb []byte, want map[string]entry, replid string, off int64) {
	t.Helper()
	src := newStore(t, Config{Shards: 8})
	rng := rand.New(rand.NewPCG(seed, 7))
	for i := 0; i < n; i++ {
		v := make([]byte, rng.IntN(300))
		for j := range v {
			v[j] = byte('a' + rng.IntN(3)) // compressible: LZF strings too
		}
		must(t, src.Set(fmt.Sprintf("s%d:%d", seed, i), v))
	}
	b, sn := snapshotBytes(t, src)
	return b, dump(src), sn.ReplID(), sn.Offset()
}

func flipBit(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 0x10
	return c
}

// waitLastErr waits until the replica reports a link error containing want.
func waitLastErr(t *testing.T, r *Store, want string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var seen []string
	for {
		got := r.Info().Master.LastErr
		if strings.Contains(got, want) {
			return got
		}
		if len(seen) == 0 || seen[len(seen)-1] != got {
			seen = append(seen, got)
		}
		if time.Now().After(deadline) {
			t.Fatalf("link error %q, want one containing %q", seen, want)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestCorruptSnapshot feeds a replica that holds data bad snapshots, one
// per connection: each fails with an error in Info, leaves the data
// exactly as it was (invariant 5), and is followed by a new PSYNC; then a
// valid snapshot loads.
func TestCorruptSnapshot(t *testing.T) {
	cfg := fastConfig()
	fp, r := followFake(t, cfg)

	// The first primary's data, loaded normally.
	first, before, id1, off1 := snapshotOf(t, 1, 300)
	pc := fp.next(t)
	pc.handshake(t)
	drained := pc.drain()
	pc.write(t, lenFramed(id1, off1, first))
	waitSynced(t, r)
	if d := cmp.Diff(before, dump(r)); d != "" {
		t.Fatalf("first load (-want +got):\n%s", d)
	}
	pc.hangUp(t, drained)

	good, want, id2, off2 := snapshotOf(t, 2, 300)
	n := len(good)
	mark := strings.Repeat("m", 40)
	garbage := make([]byte, n)
	for i := range garbage {
		garbage[i] = byte(rand.Uint32())
	}
	cases := []struct {
		name    string
		payload []byte
		hold    bool   // keep the connection open after the payload
		errHas  string // in Info().Master.LastErr
	}{
		{"flip in header", lenFramed(id2, off2, flipBit(good, 2)), false, "load snapshot"},
		{"flip in version", lenFramed(id2, off2, flipBit(good, 7)), false, "load snapshot"},
		{"flip in middle", lenFramed(id2, off2, flipBit(good, n/2)), false, "load snapshot"},
		{"flip in EOF opcode", lenFramed(id2, off2, flipBit(good, n-9)), false, "load snapshot"},
		{"flip in CRC", lenFramed(id2, off2, flipBit(good, n-3)), false, "load snapshot"},
		{"flip with EOF framing", eofFramed(id2, off2, flipBit(good, n/3), mark, mark), false, "load snapshot"},
		{"truncated", lenFramed(id2, off2, good)[:60+n/2], true, "load snapshot"},
		{"truncated EOF framing", eofFramed(id2, off2, good, mark, mark)[:60+n/2], true, "load snapshot"},
		{"shorter than announced", fmt.Appendf(nil, "+FULLRESYNC %s %d\r\n$%d\r\n%s", id2, off2, n-5, good), false, "load snapshot"},
		{"longer than announced", fmt.Appendf(nil, "+FULLRESYNC %s %d\r\n$%d\r\n%sEXTRA", id2, off2, n+5, good), false, "announced"},
		{"wrong EOF mark", eofFramed(id2, off2, good, mark, strings.Repeat("x", 40)), false, "end mark"},
		{"short EOF mark", fmt.Appendf(nil, "+FULLRESYNC %s %d\r\n$EOF:abc\r\n%s", id2, off2, good), false, "EOF mark"},
		{"garbage", lenFramed(id2, off2, garbage), false, "load snapshot"},
		{"garbage EOF framing", eofFramed(id2, off2, garbage, mark, mark), false, "load snapshot"},
		{"bad length", fmt.Appendf(nil, "+FULLRESYNC %s %d\r\n$-5\r\n", id2, off2), false, "bad length"},
	}
	prevFull := r.Info().Master.FullSyncs
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pc := fp.next(t)
			pc.handshake(t)
			drained := pc.drain()
			pc.offer(tc.payload)
			if tc.hold {
				// The partial payload is being loaded beside the live data,
				// which must not show any of it.
				poll(t, 10*time.Second, "the load to start", func() bool {
					m := r.Info().Master
					return m.LinkStatus == LinkSyncing && m.SyncBytesLoaded > 0
				})
				if d := cmp.Diff(before, dump(r)); d != "" {
					t.Fatalf("data changed while loading (-before +now):\n%s", d)
				}
			}
			pc.hangUp(t, drained)
			// The replica retries: the fake primary sees a new PSYNC.
			retry := fp.next(t)
			defer func() { fp.conns <- retry.Conn }() // for the next case
			got := waitLastErr(t, r, tc.errHas)
			m := r.Info().Master
			if m.LinkStatus == LinkUp || m.FullSyncs != prevFull {
				t.Fatalf("link %v, full syncs %d (was %d) after a bad snapshot", m.LinkStatus, m.FullSyncs, prevFull)
			}
			if d := cmp.Diff(before, dump(r)); d != "" {
				t.Fatalf("a bad snapshot changed the data (-before +after):\n%s", d)
			}
			if replid, off := r.Position(); replid != id1 || off != off1 {
				t.Fatalf("position %s %d after a bad snapshot, want %s %d", replid, off, id1, off1)
			}
			t.Logf("error: %s", got)
			r.rep.lastErr.Store(nil)
		})
	}

	pc = fp.next(t)
	pc.expectPSync(t, id1, off1) // the history it kept
	pc.drain()
	pc.write(t, lenFramed(id2, off2, good))
	poll(t, 10*time.Second, "the valid snapshot to load", func() bool {
		return r.Info().Master.FullSyncs == prevFull+1
	})
	if d := cmp.Diff(want, dump(r)); d != "" {
		t.Fatalf("valid snapshot (-want +got):\n%s", d)
	}
	if replid, off := r.Position(); replid != id2 || off != off2 {
		t.Fatalf("position %s %d, want %s %d", replid, off, id2, off2)
	}
}

// flipDialer corrupts one bit of what the first connection it dials
// receives, at byte pos of the stream; later connections are clean.
type flipDialer struct {
	d     transport.Dialer
	pos   int64
	dials atomic.Int64
}

func (f *flipDialer) Dial(ctx context.Context) (net.Conn, error) {
	c, err := f.d.Dial(ctx)
	if err != nil || f.dials.Add(1) > 1 {
		return c, err
	}
	return &flipConn{Conn: c, pos: f.pos}, nil
}

type flipConn struct {
	net.Conn
	pos, read int64
}

func (c *flipConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if i := c.pos - c.read; i >= 0 && i < int64(n) {
		p[i] ^= 0x04
	}
	c.read += int64(n)
	return n, err
}

// TestPrimaryHealthyWhenReplicaFailsLoad: a replica that receives a
// corrupted snapshot from a real primary fails, retries and loads the next
// one, while the primary's other replica keeps streaming the writes.
func TestPrimaryHealthyWhenReplicaFailsLoad(t *testing.T) {
	mn := memNet{transport.NewMemNetwork()}
	cfg := fastConfig()
	p := node(t, mn, "p", cfg)
	randomKeyspace(t, p, rand.New(rand.NewPCG(3, 3)), 500)
	steady := newStore(t, cfg)
	must(t, steady.ReplicaOf(mn.dialer("p")))
	waitSynced(t, steady)

	stop := make(chan struct{})
	writes := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				writes <- nil
				return
			default:
			}
			if err := p.Set(fmt.Sprint("w", i%500), []byte(fmt.Sprint(i))); err != nil {
				writes <- err
				return
			}
		}
	}()
	// Byte 4000 of the link is inside the snapshot (which is over 2 MiB).
	fd := &flipDialer{d: mn.dialer("p"), pos: 4000}
	bad := newStore(t, cfg)
	must(t, bad.ReplicaOf(fd))
	waitLastErr(t, bad, "load snapshot")
	if fd.dials.Load() < 1 {
		t.Fatal("the corrupted connection was never made")
	}
	waitSynced(t, bad)
	close(stop)
	must(t, <-writes)
	waitConverged(t, p, steady, bad)
	in := p.Info()
	if in.SyncFull != 3 || len(in.Replicas) != 2 {
		t.Fatalf("primary: %d full syncs, %d replicas; want 3 (one failed) and 2", in.SyncFull, len(in.Replicas))
	}
	if m := steady.Info().Master; m.FullSyncs != 1 || m.PartialSyncs != 0 {
		t.Fatalf("the steady replica resynced: %+v", m)
	}
}
