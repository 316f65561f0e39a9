package replikv

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/replikv/replikv/transport"
)

// Measurements of full resyncs with a million keys (issue 11). They run
// only with REPLIKV_MEASURE=1, without -race, and log their figures; they
// assert no timings. For example:
//
//	REPLIKV_MEASURE=1 go test -run 'TestMeasure' -v -timeout 30m .

const measureKeys = 1_000_000

// joinCases are the measured situations: how many replicas join at once,
// and whether the first of them stalls in its transfer.
var joinCases = []struct {
	name  string
	n     int
	stall bool
}{{"1 replica", 1, false}, {"4 replicas", 4, false}, {"4 replicas, 1 stalled", 4, true}}

func needMeasure(t *testing.T) {
	t.Helper()
	if os.Getenv("REPLIKV_MEASURE") != "1" {
		t.Skip("a long measurement: REPLIKV_MEASURE=1 runs it")
	}
}

// stallDialer dials connections that stop reading for good once they
// have read after bytes, until release: a replica stuck in its transfer.
type stallDialer struct {
	d       transport.Dialer
	after   int64
	release chan struct{}
}

func (s *stallDialer) Dial(ctx context.Context) (net.Conn, error) {
	c, err := s.d.Dial(ctx)
	if err != nil {
		return nil, err
	}
	return &stallConn{Conn: c, s: s}, nil
}

type stallConn struct {
	net.Conn
	s    *stallDialer
	read atomic.Int64
}

func (c *stallConn) Read(b []byte) (int, error) {
	if c.read.Load() >= c.s.after {
		<-c.s.release
	}
	n, err := c.Conn.Read(b)
	c.read.Add(int64(n))
	return n, err
}

// joinTime starts n replicas of p at once (the first stalled after 1 MB
// when stall is set) and returns how long the others took to be synced.
func joinTime(t *testing.T, p *Store, addr string, n int, stall bool) time.Duration {
	t.Helper()
	cfg := Config{ReplTimeout: 60 * time.Second}
	release := make(chan struct{})
	var all, healthy []*Store
	defer func() {
		close(release)
		for _, r := range all {
			r.Close()
		}
	}()
	start := time.Now()
	for i := range n {
		r := newStore(t, cfg)
		all = append(all, r)
		var d transport.Dialer = transport.TCP(addr)
		if stall && i == 0 {
			d = &stallDialer{d: d, after: 1 << 20, release: release}
		} else {
			healthy = append(healthy, r)
		}
		must(t, r.ReplicaOf(d))
	}
	var wg sync.WaitGroup
	for _, r := range healthy {
		wg.Add(1)
		go func() {
			defer wg.Done()
			waitSyncedFor(t, r, 10*time.Minute)
		}()
	}
	wg.Wait()
	took := time.Since(start)
	for _, r := range healthy {
		if keys, _ := r.counts(); keys != measureKeys {
			t.Fatalf("replica holds %d keys, want %d", keys, measureKeys)
		}
	}
	return took
}

// TestMeasureJoinManyReplicas: time for 1 replica to sync 1M keys, for 4
// joining at once (they share one snapshot), and for 4 with one of them
// stalled in its transfer.
func TestMeasureJoinManyReplicas(t *testing.T) {
	needMeasure(t)
	p := newStore(t, Config{ReplTimeout: 60 * time.Second})
	fillN(t, p, measureKeys, 20)
	port := servePrimary(t, p, "127.0.0.1:0")
	addr := "127.0.0.1:" + strconv.Itoa(port)
	for _, c := range joinCases {
		jobs := p.prim.jobs.Load()
		took := joinTime(t, p, addr, c.n, c.stall)
		t.Logf("%s, %d keys: synced in %v (%d snapshot(s) produced)", c.name, measureKeys, took.Round(time.Millisecond),
			p.prim.jobs.Load()-jobs)
		poll(t, 2*time.Minute, "the replicas to leave", func() bool { return len(p.Info().Replicas) == 0 })
	}
}

// TestMeasureLenSyncHeap: the primary's heap while it serves a "$len"
// (SYNC) full resync of 1M keys, against the dataset's own heap.
func TestMeasureLenSyncHeap(t *testing.T) {
	needMeasure(t)
	mem := memNet{transport.NewMemNetwork()}
	base := heapInUse()
	p := node(t, mem, "p", Config{ReplTimeout: 60 * time.Second})
	fillN(t, p, measureKeys, 20)
	before := heapInUse()
	stop := make(chan struct{})
	peak := make(chan uint64)
	go func() {
		var ms runtime.MemStats
		var top uint64
		tk := time.NewTicker(5 * time.Millisecond)
		defer tk.Stop()
		for {
			runtime.ReadMemStats(&ms)
			top = max(top, ms.HeapAlloc)
			select {
			case <-stop:
				peak <- top
				return
			case <-tk.C:
			}
		}
	}()
	pc := dialPeer(t, mem.dialer("p"))
	pc.write(t, []byte("SYNC\r\n"))
	pc.SetReadDeadline(time.Now().Add(5 * time.Minute))
	var size int64
	for {
		line, err := pc.rd.ReadLine()
		must(t, err)
		if len(line) > 0 {
			size, err = strconv.ParseInt(string(line[1:]), 10, 64)
			must(t, err)
			break
		}
	}
	if _, err := io.CopyN(io.Discard, pc.rd, size); err != nil {
		t.Fatal(err)
	}
	close(stop)
	top := <-peak
	after := heapInUse()
	mb := func(b uint64) string { return fmt.Sprintf("%.1f MB", float64(b)/1e6) }
	t.Logf("$len sync of %d keys (RDB %s): dataset heap %s; heap before %s, peak during %s (+%s, %.1f%% of the dataset), after %s",
		measureKeys, mb(uint64(size)), mb(before-base), mb(before), mb(top), mb(top-before),
		100*float64(top-before)/float64(before-base), mb(after))
}

// rawSync runs a replica's handshake on pc (capa eof) and reads the
// snapshot to its end, discarding it: a replica that costs its primary
// the transfer only. With stall, it stops reading after 1 MB instead.
func rawSync(t *testing.T, pc *peerConn, stall bool) error {
	pc.send(t, "REPLCONF", "capa", "eof", "capa", "psync2")
	pc.expect(t, "+OK")
	pc.send(t, "PSYNC", "?", "-1")
	pc.reply(t) // +FULLRESYNC
	header := pc.reply(t)
	mark, ok := strings.CutPrefix(header, "$EOF:")
	if !ok {
		return fmt.Errorf("snapshot header %q", header)
	}
	pc.SetReadDeadline(time.Now().Add(10 * time.Minute))
	buf := make([]byte, 64<<10)
	var tail []byte
	var read int64
	for {
		if stall && read >= 1<<20 {
			return nil
		}
		n, err := pc.rd.Read(buf)
		if err != nil {
			return err
		}
		read += int64(n)
		tail = append(tail, buf[:n]...)
		if bytes.HasSuffix(tail, []byte(mark)) {
			return nil
		}
		if len(tail) > 40 {
			tail = append(tail[:0], tail[len(tail)-40:]...)
		}
	}
}

// TestMeasureServeManyReplicas is TestMeasureJoinManyReplicas with
// replicas that discard the snapshot instead of loading it, so that the
// figures show the primary's side only (on a 2-core machine, four
// in-process replicas loading a million keys each compete for the CPU
// with the primary and with each other).
func TestMeasureServeManyReplicas(t *testing.T) {
	needMeasure(t)
	p := newStore(t, Config{ReplTimeout: 60 * time.Second})
	fillN(t, p, measureKeys, 20)
	port := servePrimary(t, p, "127.0.0.1:0")
	d := transport.TCP("127.0.0.1:" + strconv.Itoa(port))
	for _, c := range joinCases {
		jobs := p.prim.jobs.Load()
		var peers []*peerConn
		for range c.n {
			peers = append(peers, dialPeer(t, d))
		}
		start := time.Now()
		errs := make(chan error, c.n)
		var wg sync.WaitGroup
		for i, pc := range peers {
			stall := c.stall && i == 0
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- rawSync(t, pc, stall)
			}()
		}
		wg.Wait()
		took := time.Since(start)
		close(errs)
		for err := range errs {
			must(t, err)
		}
		t.Logf("%s, %d keys, snapshot discarded: transferred in %v (%d snapshot(s) produced)", c.name, measureKeys,
			took.Round(time.Millisecond), p.prim.jobs.Load()-jobs)
		for _, pc := range peers {
			pc.Close()
		}
		poll(t, 2*time.Minute, "the replicas to leave", func() bool { return len(p.Info().Replicas) == 0 })
	}
}
