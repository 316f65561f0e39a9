package replikv

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/replikv/replikv/internal/allocs"
	"github.com/replikv/replikv/resp"
	"github.com/replikv/replikv/transport"
)

// This file tests hostile or broken peers on both sides of a link
// (invariant 8). It also holds the helpers with which a test speaks for a
// replica of a primary under test.

// dialPeer connects to a primary under test as a hand-driven replica.
func dialPeer(t testing.TB, d transport.Dialer) *peerConn {
	t.Helper()
	c, err := d.Dial(context.Background())
	must(t, err)
	t.Cleanup(func() { c.Close() })
	return newPeerConn(c)
}

func (pc *peerConn) send(t testing.TB, args ...string) {
	t.Helper()
	pc.write(t, resp.AppendCommandString(nil, args...))
}

// reply reads one reply line, skipping keepalive newlines.
func (pc *peerConn) reply(t testing.TB) string {
	t.Helper()
	for {
		pc.SetReadDeadline(time.Now().Add(10 * time.Second))
		line, err := pc.rd.ReadLine()
		if err != nil {
			t.Fatalf("reading a reply: %v", err)
		}
		if len(line) > 0 {
			return string(line)
		}
	}
}

func (pc *peerConn) expect(t testing.TB, want string) {
	t.Helper()
	if got := pc.reply(t); got != want {
		t.Fatalf("reply %q, want %q", got, want)
	}
}

// syncFull runs a replica's handshake with PSYNC ? -1 (announcing port,
// without capa eof, so the snapshot comes with "$<len>" framing), reads the
// whole snapshot and returns the history it starts.
func (pc *peerConn) syncFull(t testing.TB, port int) (replid string, off int64) {
	t.Helper()
	pc.send(t, "PING")
	pc.expect(t, "+PONG")
	pc.send(t, "REPLCONF", "listening-port", strconv.Itoa(port))
	pc.expect(t, "+OK")
	pc.send(t, "REPLCONF", "capa", "psync2")
	pc.expect(t, "+OK")
	pc.send(t, "PSYNC", "?", "-1")
	line := pc.reply(t)
	replid, off, err := parseFullResync(strings.TrimPrefix(line, "+"))
	if err != nil {
		t.Fatalf("PSYNC ? -1: %v", err)
	}
	header := pc.reply(t)
	n, err := strconv.Atoi(strings.TrimPrefix(header, "$"))
	if err != nil {
		t.Fatalf("snapshot header %q", header)
	}
	pc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.CopyN(io.Discard, pc.rd, int64(n)); err != nil {
		t.Fatalf("reading the snapshot: %v", err)
	}
	return replid, off
}

// replicaByPort returns the primary's entry for the replica announcing port.
func replicaByPort(s *Store, port int) (ReplicaInfo, bool) {
	for _, ri := range s.Info().Replicas {
		if ri.Port == port {
			return ri, true
		}
	}
	return ReplicaInfo{}, false
}

// TestUnauthenticatedReplicasGetNothing: without the password, every
// command a replica sends gets -NOAUTH, and a wrong password -WRONGPASS;
// these lines are all it receives, byte for byte.
func TestUnauthenticatedReplicasGetNothing(t *testing.T) {
	mn := transport.NewMemNetwork()
	cfg := fastConfig()
	cfg.Password = "s3cret"
	p := node(t, memNet{mn}, "p", cfg)
	for i := 0; i < 100; i++ {
		must(t, p.Set(fmt.Sprint("secret:", i), []byte("data")))
	}
	noauth := "-NOAUTH Authentication required.\r\n"
	wrongpass := "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
	cmd := resp.AppendCommandString
	for _, tc := range []struct {
		name string
		send []byte
		want string
	}{
		{"handshake", bytes.Join([][]byte{cmd(nil, "PING"), cmd(nil, "REPLCONF", "listening-port", "7005"),
			cmd(nil, "REPLCONF", "capa", "eof", "capa", "psync2"), cmd(nil, "PSYNC", "?", "-1"), cmd(nil, "SYNC"),
			cmd(nil, "REPLCONF", "ACK", "0")}, nil),
			strings.Repeat(noauth, 6)},
		{"inline", []byte("PSYNC ? -1\r\nSYNC\r\n\n"), noauth + noauth},
		{"wrong password", bytes.Join([][]byte{cmd(nil, "AUTH", "wrong"), cmd(nil, "PSYNC", "?", "-1"),
			cmd(nil, "AUTH", "default", "wrong"), cmd(nil, "AUTH", "bob", "s3cret"), cmd(nil, "SYNC")}, nil),
			wrongpass + noauth + wrongpass + wrongpass + noauth},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := exchange(t, mn.Dialer("p"), tc.send); string(got) != tc.want {
				t.Fatalf("received %q, want %q", got, tc.want)
			}
		})
	}
	if in := p.Info(); in.SyncFull != 0 || in.SyncPartialOK != 0 || len(in.Replicas) != 0 {
		t.Fatalf("primary synced an unauthenticated peer: %+v", in)
	}
}

// TestHugeDeclarationsRefusedByPrimary: a peer announcing a 100 GiB bulk
// string or a 1e9-element array in the handshake gets a protocol error and
// is disconnected at once, and it costs the primary next to nothing.
func TestHugeDeclarationsRefusedByPrimary(t *testing.T) {
	mn := transport.NewMemNetwork()
	cfg := fastConfig()
	cfg.ReplTimeout = time.Minute // the disconnection must not be a timeout
	node(t, memNet{mn}, "p", cfg)
	// One connection with a small protocol error, for comparison.
	baseline := allocs.During(func() { refusedAt(t, mn, "*x\r\n") })
	for _, decl := range []string{
		"*1000000000\r\n",
		"*2\r\n$4\r\nAUTH\r\n$107374182400\r\n",
		"*2\r\n$4\r\nPING\r\n$9223372036854775807\r\n",
	} {
		n := allocs.During(func() { refusedAt(t, mn, decl) })
		t.Logf("%q: %d bytes allocated (a small protocol error: %d)", decl, n, baseline)
		if n > 512<<10 || n > baseline+64<<10 {
			t.Errorf("%q cost %d bytes (a small protocol error: %d)", decl, n, baseline)
		}
	}
}

// refusedAt sends decl and expects one protocol error line and the end of
// the connection, without closing its own side.
func refusedAt(t *testing.T, mn *transport.MemNetwork, decl string) {
	t.Helper()
	pc := dialPeer(t, mn.Dialer("p"))
	pc.offer([]byte(decl))
	pc.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := io.ReadAll(pc)
	if err != nil {
		t.Fatalf("%q: not disconnected: %v (received %q)", decl, err, got)
	}
	if !bytes.HasPrefix(got, []byte("-ERR Protocol error")) || bytes.Count(got, []byte("\r\n")) != 1 || !bytes.HasSuffix(got, []byte("\r\n")) {
		t.Fatalf("%q: received %q, want one protocol error line", decl, got)
	}
}

// TestHugeDeclarationsRefusedByReplica: a primary announcing huge things
// (a 100 GiB snapshot, a 400 MiB string or a million keys inside it, a
// 1e9-element command or a 100 GiB argument in the stream) costs the
// replica next to nothing;
// the replica drops the link (at once when the declaration is over a
// limit) and reconnects, its data intact.
func TestHugeDeclarationsRefusedByReplica(t *testing.T) {
	cfg := fastConfig()
	cfg.Shards = 16
	cfg.ReplTimeout = time.Minute
	fp, r := followFake(t, cfg)
	rdb, want, id, off := snapshotOf(t, 4, 20)

	// An RDB whose first key's value claims 400 MiB (under MaxBulkLen).
	bigString := []byte("REDIS0009\x00\x01k\x80")
	bigString = binary.BigEndian.AppendUint32(bigString, 400<<20)
	bigString = append(bigString, "only a few bytes"...)
	// An RDB whose RESIZEDB record announces a million keys in db 0.
	manyKeys := []byte("REDIS0009\xfe\x00\xfb\x80")
	manyKeys = binary.BigEndian.AppendUint32(manyKeys, 1<<20)
	manyKeys = append(manyKeys, 0)

	a40 := strings.Repeat("a", 40)
	for _, tc := range []struct {
		name   string
		send   []byte
		synced bool   // send a valid snapshot first
		hangUp bool   // the replica waits for more: the test hangs up
		errHas string // in the link error
	}{
		{"100 GiB snapshot", []byte("+FULLRESYNC " + a40 + " 0\r\n$107374182400\r\nREDIS0009"), false, true, "unexpected EOF"},
		{"400 MiB string in the snapshot", append([]byte("+FULLRESYNC "+a40+" 0\r\n$107374182400\r\n"), bigString...), false, true, "unexpected EOF"},
		{"a million keys announced in the snapshot", append([]byte("+FULLRESYNC "+a40+" 0\r\n$107374182400\r\n"), manyKeys...), false, true, "unexpected EOF"},
		{"1e9 arguments in the stream", []byte("*1000000000\r\n"), true, false, "limit"},
		{"100 GiB argument in the stream", []byte("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$107374182400\r\n"), true, false, "limit"},
		{"512 MiB argument in the stream", []byte("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$536870912\r\nabc"), true, true, "EOF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pc := fp.next(t)
			r.rep.lastErr.Store(nil) // the previous case's
			pc.handshake(t)
			drained := pc.drain()
			if tc.synced {
				pc.write(t, lenFramed(id, off, rdb))
				waitSynced(t, r)
			}
			n := allocs.During(func() {
				pc.offer(tc.send)
				if tc.hangUp {
					pc.hangUp(t, drained)
				} else {
					select {
					case <-drained: // the replica hung up by itself
					case <-time.After(10 * time.Second):
						t.Fatal("the replica kept the link after a declaration over its limits")
					}
					pc.Close()
				}
				next := fp.next(t) // it reconnects
				fp.conns <- next.Conn
			})
			t.Logf("%d bytes allocated", n)
			if n > 1<<20 {
				t.Errorf("%s cost the replica %d bytes", tc.name, n)
			}
			waitLastErr(t, r, tc.errHas)
			if tc.synced {
				if d := cmp.Diff(want, dump(r)); d != "" {
					t.Fatalf("data changed (-want +got):\n%s", d)
				}
			}
		})
	}
}

// TestGarbagePeersDoNotHarmReplicas: while two replicas follow a primary
// under writes, peers send malformed RESP, before the handshake or
// instead of ACKs after a full sync. Each is disconnected at once (well
// before the 30 s ReplTimeout); the replicas never resync and converge.
func TestGarbagePeersDoNotHarmReplicas(t *testing.T) {
	mn := memNet{transport.NewMemNetwork()}
	cfg := fastConfig()
	cfg.ReplTimeout = 30 * time.Second
	p := node(t, mn, "p", cfg)
	for i := 0; i < 300; i++ {
		must(t, p.Set(fmt.Sprint("k", i), bytes.Repeat([]byte{'v'}, i)))
	}
	r1, r2 := newStore(t, cfg), newStore(t, cfg)
	must(t, r1.ReplicaOf(mn.dialer("p")))
	must(t, r2.ReplicaOf(mn.dialer("p")))
	waitSynced(t, r1)
	waitSynced(t, r2)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			p.Set(fmt.Sprint("w", i%1000), []byte(strconv.Itoa(i)))
			if i%100 == 0 {
				time.Sleep(time.Millisecond) // leave the CPU to the others now and then
			}
		}
	})
	rng := rand.New(rand.NewPCG(6, 6))
	garbage := []string{
		"*x\r\n",
		"*2\r\n$4\r\nPING\r\n:1\r\n",
		"*1\r\n$-5\r\n",
		"*1\r\n$3\r\nabcXY",
		"*1\r\n$4\r\nPING\r\n*01\r\n",
		"PSYNC \"? -1\r\n",
		"*1\r\n$$$\r\n",
	}
	for i := 0; i < 40; i++ {
		g := []byte(garbage[i%len(garbage)])
		if i >= 2*len(garbage) { // random bytes after a valid prefix
			g = append([]byte("*2\r\n$4\r\nPING\r\n"), make([]byte, 1+rng.IntN(64))...)
			for j := 14; j < len(g); j++ {
				g[j] = byte(rng.Uint32())
			}
			g[14] = ':' // not a bulk string: a protocol error whatever follows
		}
		pc := dialPeer(t, mn.dialer("p"))
		if i%2 == 1 { // garbage instead of ACKs, after a full sync
			port := 40000 + i
			pc.syncFull(t, port)
			waitListed(t, p, port)
			pc.offer(g)
			poll(t, 5*time.Second, "the primary to drop the replica", func() bool {
				_, ok := replicaByPort(p, port)
				return !ok
			})
		} else {
			pc.offer(g)
		}
		pc.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.Copy(io.Discard, pc); err != nil {
			t.Fatalf("garbage %q: the primary kept the connection: %v", g, err)
		}
		pc.Close()
	}
	close(stop)
	wg.Wait()
	waitConverged(t, p, r1, r2)
	for _, r := range []*Store{r1, r2} {
		if m := r.Info().Master; m.FullSyncs != 1 || m.PartialSyncs != 0 {
			t.Fatalf("a replica resynced: %d full, %d partial", m.FullSyncs, m.PartialSyncs)
		}
	}
	if in := p.Info(); len(in.Replicas) != 2 {
		t.Fatalf("primary lists %d replicas, want the 2 real ones", len(in.Replicas))
	}
}

// TestProtocolDesyncDropsLink: a primary that sends a reply line ("+OK",
// "-ERR …") into the stream makes the replica drop the link, as Redis does
// ("Master using the inline protocol. Desync?"), with everything before it
// applied and nothing after; it reconnects and asks to continue from there.
func TestProtocolDesyncDropsLink(t *testing.T) {
	fp, r := followFake(t, fastConfig())
	rdb, _, id, off := snapshotOf(t, 8, 10)

	// Round 0 follows a full sync, round 1 a partial one; each line after
	// the bad one must not be applied.
	pc := fp.next(t)
	pc.handshake(t)
	for i, round := range []struct {
		greeting []byte
		bad      string
	}{
		{lenFramed(id, off, rdb), "+OK\r\n"},
		{[]byte("+CONTINUE " + id + "\r\n"), "-ERR unknown command 'x'\r\n"},
	} {
		if i > 0 {
			pc = fp.next(t)
			pc.expectPSync(t, id, off)
		}
		set := resp.AppendCommandString(nil, "SET", fmt.Sprint("before", i), "1")
		drained := pc.drain()
		pc.offer(bytes.Join([][]byte{round.greeting, set, []byte(round.bad),
			resp.AppendCommandString(nil, "SET", fmt.Sprint("after", i), "1")}, nil))
		select {
		case <-drained:
		case <-time.After(10 * time.Second):
			t.Fatalf("the replica kept the link after %q in the stream", round.bad)
		}
		waitLastErr(t, r, "protocol desync")
		off += int64(len(set))
	}
	pc = fp.next(t)
	pc.expectPSync(t, id, off)
	fp.conns <- pc.Conn
	for key, present := range map[string]bool{"before0": true, "after0": false, "before1": true, "after1": false} {
		if _, ok := dump(r)[key]; ok != present {
			t.Errorf("key %q present: %v, want %v", key, ok, present)
		}
	}
}

// TestGarbageConnectionsBounded: 10,000 connections that send garbage
// (malformed RESP, unknown commands, binary noise) leave the primary
// serving, with its goroutines and heap back where they were.
func TestGarbageConnectionsBounded(t *testing.T) {
	mn := memNet{transport.NewMemNetwork()}
	cfg := fastConfig()
	p := node(t, mn, "p", cfg)
	must(t, p.Set("k", []byte("v")))
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	heap0, g0 := ms.HeapAlloc, runtime.NumGoroutine()

	inputs := [][]byte{
		[]byte("*x\r\n"),
		[]byte("hello world\r\nFOO\r\n"),
		[]byte("*1\r\n$4\r\nPING\r\n*1000000000\r\n"),
		[]byte("\x00\xff\xfe garbage"),
	}
	// Now and then a replica that goes away during its sync (no password is
	// set); a snapshot each time would make the loop slow.
	psync := []byte("PSYNC ? -1\r\n")
	const conns, workers = 10000, 4
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Go(func() {
			for i := w; i < conns; i += workers {
				in := inputs[i%len(inputs)]
				if i%100 == 0 {
					in = psync
				}
				if err := garbageConn(mn.dialer("p"), in); err != nil {
					errs <- fmt.Errorf("connection %d: %w", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	poll(t, 10*time.Second, "goroutines back to the baseline", func() bool {
		return runtime.NumGoroutine() <= g0+2
	})
	runtime.GC()
	runtime.ReadMemStats(&ms)
	t.Logf("heap %d -> %d bytes, goroutines %d -> %d, after %d connections", heap0, ms.HeapAlloc, g0, runtime.NumGoroutine(), conns)
	if ms.HeapAlloc > heap0+4<<20 {
		t.Fatalf("heap grew from %d to %d bytes", heap0, ms.HeapAlloc)
	}
	r := newStore(t, cfg)
	must(t, r.ReplicaOf(mn.dialer("p")))
	waitSynced(t, r)
	waitConverged(t, p, r)
}

// garbageConn sends data, half-closes, and reads until the primary closes.
func garbageConn(d transport.Dialer, data []byte) error {
	c, err := d.Dial(context.Background())
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	c.Write(data) // may report EPIPE if the primary hangs up at once
	c.(interface{ CloseWrite() error }).CloseWrite()
	_, err = io.Copy(io.Discard, c)
	return err
}

// TestPSyncExtremeOffsets: PSYNC with the smallest or largest offset is a
// full resync, never a partial one from a nonsense position.
func TestPSyncExtremeOffsets(t *testing.T) {
	mn := memNet{transport.NewMemNetwork()}
	p := node(t, mn, "p", fastConfig())
	must(t, p.Set("k", []byte("v")))
	replid, _ := p.Position()
	for _, off := range []string{"-9223372036854775808", "9223372036854775807", "0", "-1"} {
		pc := dialPeer(t, mn.dialer("p"))
		pc.send(t, "REPLCONF", "capa", "psync2")
		pc.expect(t, "+OK")
		pc.send(t, "PSYNC", replid, off)
		got := pc.reply(t)
		if !strings.HasPrefix(got, "+FULLRESYNC ") {
			t.Fatalf("PSYNC %s %s: %q, want +FULLRESYNC", replid, off, got)
		}
		pc.Close()
	}
}
