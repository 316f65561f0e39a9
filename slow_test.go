package replikv

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/replikv/replikv/backlog"
	"github.com/replikv/replikv/transport"
)

// pauseDialer dials connections whose reads can be paused, to make a
// replica that stops reading what its primary sends (its writes, the
// ACKs, go on).
type pauseDialer struct {
	d    transport.Dialer
	gate atomic.Pointer[chan struct{}] // reads wait while set
}

func (p *pauseDialer) Dial(ctx context.Context) (net.Conn, error) {
	c, err := p.d.Dial(ctx)
	if err != nil {
		return nil, err
	}
	return &pauseConn{Conn: c, p: p}, nil
}

func (p *pauseDialer) pause() {
	ch := make(chan struct{})
	p.gate.Store(&ch)
}

func (p *pauseDialer) resume() {
	if ch := p.gate.Swap(nil); ch != nil {
		close(*ch)
	}
}

type pauseConn struct {
	net.Conn
	p *pauseDialer
}

func (c *pauseConn) Read(b []byte) (int, error) {
	if ch := c.p.gate.Load(); ch != nil {
		<-*ch
	}
	return c.Conn.Read(b)
}

// heapInUse returns the live heap after a collection, plus the stream's
// blocks mapped outside it (backlog.MappedInUse), once the cleanups that
// give back the mapped blocks found unreachable have run.
func heapInUse() uint64 {
	var ms runtime.MemStats
	use := uint64(0)
	for i := range 20 {
		runtime.GC()
		if i > 0 {
			time.Sleep(2 * time.Millisecond) // the cleanups run after the collection
		}
		runtime.ReadMemStats(&ms)
		now := ms.HeapAlloc + uint64(backlog.MappedInUse())
		if i > 0 && now >= use {
			return min(now, use)
		}
		use = now
	}
	return use
}

// slowSetup is a primary with a 1 MiB backlog and a 1 MiB output limit on
// small MemNetwork buffers, a steady replica and a slow one (announcing
// port 4242) whose reads can be paused, both synced; write(n) sets n
// 1000-byte values.
type slowSetup struct {
	cfg          Config
	p            *Store
	steady, slow *Store
	pd           *pauseDialer
}

func newSlowSetup(t *testing.T, replTimeout time.Duration) *slowSetup {
	mn := memNet{transport.NewMemNetwork(transport.WithMemBuffer(16 << 10))}
	cfg := fastConfig()
	cfg.ReplTimeout = replTimeout
	cfg.ReplicaOutputLimits = SubscribeLimits{Hard: 1 << 20}
	cfg.BacklogSize = 1 << 20
	ss := &slowSetup{cfg: cfg, p: node(t, mn, "p", cfg)}
	ss.steady = newStore(t, cfg)
	must(t, ss.steady.ReplicaOf(mn.dialer("p")))
	slowCfg := cfg
	slowCfg.ListeningPort = 4242
	ss.slow = newStore(t, slowCfg)
	ss.pd = &pauseDialer{d: mn.dialer("p")}
	t.Cleanup(ss.pd.resume) // before slow.Close: a paused read would hold it up
	must(t, ss.slow.ReplicaOf(ss.pd))
	waitSynced(t, ss.steady)
	waitSynced(t, ss.slow)
	ss.writeBatched(t, 2000) // every buffer at its working size
	waitConverged(t, ss.p, ss.steady, ss.slow)
	if _, ok := replicaByPort(ss.p, 4242); !ok {
		t.Fatal("the slow replica is not listed")
	}
	return ss
}

func (ss *slowSetup) write(t *testing.T, n int) {
	value := bytes.Repeat([]byte("x"), 1000)
	for i := 0; i < n; i++ {
		must(t, ss.p.Set(fmt.Sprint("k", i%200), value))
	}
}

// writeBatched writes n values in batches of 250 (about 250 KB of stream),
// letting the steady replica catch up after each, so that only a replica
// that does not read goes over the 1 MiB limit.
func (ss *slowSetup) writeBatched(t *testing.T, n int) {
	for ; n > 0; n -= 250 {
		ss.write(t, min(n, 250))
		waitConverged(t, ss.p, ss.steady)
	}
}

// writeAndMeasure pauses the slow replica and writes 8 MB of stream, 8
// times the limit, in batches small enough for the steady replica to stay
// within the limit. It returns the primary's largest heap growth, measured
// between batches once the steady replica has caught up, so that the
// garbage of the writes does not count.
func (ss *slowSetup) writeAndMeasure(t *testing.T) int64 {
	base := heapInUse()
	ss.pd.pause()
	var peak uint64
	for batch := 0; batch < 32; batch++ {
		ss.write(t, 250)
		waitConverged(t, ss.p, ss.steady)
		peak = max(peak, heapInUse())
	}
	return int64(peak) - int64(base)
}

// TestSlowReplicaDropped: a replica that stops reading makes the primary
// queue its stream until the output limit, then drop it, while writers
// keep writing and another replica keeps up (invariant 7). The primary's
// heap stays within the backlog plus the limit plus a small constant.
func TestSlowReplicaDropped(t *testing.T) {
	ss := newSlowSetup(t, 30*time.Second) // the drop must come from the limit, not a timeout
	start := time.Now()
	growth := ss.writeAndMeasure(t)
	t.Logf("primary heap grew by %d bytes at most (backlog %d, limit %d)", growth, ss.cfg.BacklogSize, ss.cfg.ReplicaOutputLimits.Hard)
	if growth > int64(ss.cfg.BacklogSize+ss.cfg.ReplicaOutputLimits.Hard+2<<20) {
		t.Fatalf("heap grew by %d bytes with one stalled replica", growth)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, ok := replicaByPort(ss.p, 4242); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a replica over its output limit is still connected %v after the writes began (ReplTimeout %v)", time.Since(start).Round(time.Millisecond), ss.cfg.ReplTimeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("slow replica dropped %v after the writes began", time.Since(start).Round(time.Millisecond))
	if m := ss.steady.Info().Master; m.FullSyncs != 1 || m.PartialSyncs != 0 {
		t.Fatalf("the steady replica resynced: %d full, %d partial", m.FullSyncs, m.PartialSyncs)
	}
}

// TestSlowReplicaResyncsInFull: a replica dropped while it was not reading
// (here by its write deadline, a short ReplTimeout) finds its link gone
// when it reads again, reconnects and, the backlog having moved on past
// its offset, resyncs in full and converges.
func TestSlowReplicaResyncsInFull(t *testing.T) {
	ss := newSlowSetup(t, 2*time.Second)
	ss.pd.pause()
	ss.writeBatched(t, 2000) // 2 MB: past the backlog and the limit
	poll(t, 10*time.Second, "the primary to drop the slow replica", func() bool {
		_, ok := replicaByPort(ss.p, 4242)
		return !ok
	})
	waitConverged(t, ss.p, ss.steady)
	before := ss.p.Info()
	ss.pd.resume()
	waitConverged(t, ss.p, ss.steady, ss.slow)
	in := ss.p.Info()
	if in.SyncFull != before.SyncFull+1 || in.SyncPartialErr != before.SyncPartialErr+1 || in.SyncPartialOK != before.SyncPartialOK {
		t.Fatalf("the slow replica's return: full %d->%d, partial refused %d->%d, partial ok %d->%d; want one refused partial, then a full resync",
			before.SyncFull, in.SyncFull, before.SyncPartialErr, in.SyncPartialErr, before.SyncPartialOK, in.SyncPartialOK)
	}
	if m := ss.slow.Info().Master; m.FullSyncs != 2 {
		t.Fatalf("the slow replica counted %d full resyncs, want 2", m.FullSyncs)
	}
	if m := ss.steady.Info().Master; m.FullSyncs != 1 || m.PartialSyncs != 0 {
		t.Fatalf("the steady replica resynced: %d full, %d partial", m.FullSyncs, m.PartialSyncs)
	}
}
