package replikv

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/replikv/replikv/transport"
)

// foCluster is a primary "p" and replicas named by their announced
// ports, on one in-memory network.
type foCluster struct {
	mn    memNet
	f     *transport.Faults // wraps each replica's dialer to p
	p     *Store
	reps  map[int]*Store
	names map[int]string
}

// newFOCluster starts p and one replica per AckPeriod given (0: the
// fast default), announcing ports 1001, 1002, …, and waits for them.
func newFOCluster(t *testing.T, ackPeriods ...time.Duration) *foCluster {
	c := &foCluster{mn: memNet{transport.NewMemNetwork()}, f: transport.NewFaults(1), reps: map[int]*Store{}, names: map[int]string{}}
	c.p = node(t, c.mn, "p", fastConfig())
	for i, ack := range ackPeriods {
		port := 1001 + i
		cfg := fastConfig()
		cfg.ListeningPort = port
		if ack != 0 {
			cfg.AckPeriod = ack
		}
		name := fmt.Sprintf("r%d", port)
		r := node(t, c.mn, name, cfg)
		must(t, r.ReplicaOf(c.f.Dialer(name, "p", c.mn.dialer("p"))))
		waitSynced(t, r)
		c.reps[port], c.names[port] = r, name
	}
	poll(t, 10*time.Second, "every replica online", func() bool {
		n := 0
		for _, ri := range c.p.Info().Replicas {
			if ri.State == "online" {
				n++
			}
		}
		return n == len(ackPeriods)
	})
	return c
}

// stall stops the replica on port from sending anything to p (its ACKs
// block at its end): p never learns that it has what follows.
func (c *foCluster) stall(port int) { c.f.Stall(c.names[port], "p") }

// resume undoes stall.
func (c *foCluster) resume(port int) { c.f.Resume(c.names[port], "p") }

// dial reaches a replica by the port it announced.
func (c *foCluster) dial(r ReplicaInfo) transport.Dialer { return c.mn.dialer(c.names[r.Port]) }

// writers runs n writers of unique keys on s until stop is closed or a
// write is refused; it returns every acknowledged write and the
// refusals.
func writers(s *Store, n int, stop <-chan struct{}) func() (map[string]string, []error) {
	var mu sync.Mutex
	acked := map[string]string{}
	var refused []error
	var wg sync.WaitGroup
	for w := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				k, v := fmt.Sprintf("w%d:%d", w, i), fmt.Sprintf("v%d", i)
				err := s.Set(k, []byte(v))
				mu.Lock()
				if err != nil {
					refused = append(refused, err)
					mu.Unlock()
					return
				}
				acked[k] = v
				mu.Unlock()
			}
		}()
	}
	return func() (map[string]string, []error) {
		wg.Wait()
		return acked, refused
	}
}

// TestFailoverUnderWriters: a coordinated failover to r1001 under four
// writers loses no acknowledged write; writers cut off by it get
// ErrReadOnly; the old primary and the sibling continue with +CONTINUE
// (no full resync anywhere after the initial ones), and every keyspace
// ends equal.
func TestFailoverUnderWriters(t *testing.T) {
	c := newFOCluster(t, 0, 0)
	r1, r2 := c.reps[1001], c.reps[1002]
	for i := range 200 {
		must(t, c.p.Set(fmt.Sprintf("pre%d", i), []byte("x")))
	}
	fullBefore := c.p.Info().SyncFull
	stop := make(chan struct{})
	wait := writers(c.p, 4, stop)
	poll(t, 5*time.Second, "writes under way", func() bool { return c.p.Len() > 400 })

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.p.Failover(ctx, FailoverOptions{Port: 1001, Dial: c.dial, Timeout: 5 * time.Second}); err != nil {
		t.Fatalf("Failover: %v", err)
	}
	acked, refused := wait() // every writer ends at its first refusal
	close(stop)
	if len(refused) != 4 {
		t.Fatalf("%d writers refused, want 4", len(refused))
	}
	for _, err := range refused {
		if !errors.Is(err, ErrReadOnly) {
			t.Fatalf("writer refused with %v, want ErrReadOnly", err)
		}
	}
	if r1.Role() != RolePrimary || c.p.Role() != RoleReplica {
		t.Fatalf("roles after failover: r1 %v, p %v", r1.Role(), c.p.Role())
	}
	if st := c.p.FailoverState(); st != NoFailover {
		t.Fatalf("FailoverState after = %v", st)
	}
	waitSynced(t, c.p)
	// Writes to the new primary reach the old one and, through it, r2.
	must(t, r1.Set("after", []byte("1")))
	waitConverged(t, r1, c.p)
	waitSynced(t, r2)
	waitConverged(t, c.p, r2)

	got := dump(r1)
	for k, v := range acked {
		if got[k].Value != v {
			t.Fatalf("acknowledged write %s=%s lost on the new primary (has %q)", k, v, got[k].Value)
		}
	}
	if in := c.p.Info(); in.Master.FullSyncs != 0 || in.Master.PartialSyncs < 1 {
		t.Fatalf("old primary resynced: %d full, %d partial; want 0 full", in.Master.FullSyncs, in.Master.PartialSyncs)
	}
	if in := r2.Info(); in.Master.FullSyncs != 1 {
		t.Fatalf("sibling had %d full resyncs, want only its first", in.Master.FullSyncs)
	}
	if in := c.p.Info(); in.SyncFull != fullBefore {
		t.Fatalf("old primary served %d full resyncs, had %d before", in.SyncFull, fullBefore)
	}
	if in := r1.Info(); in.SyncFull != 0 || in.SyncPartialOK < 1 {
		t.Fatalf("new primary served %d full and %d partial resyncs", in.SyncFull, in.SyncPartialOK)
	}

	// The sibling re-pointed to the new primary continues too.
	must(t, r2.ReplicaOf(c.mn.dialer("r1001")))
	waitSynced(t, r2)
	waitConverged(t, r1, r2)
	if in := r2.Info(); in.Master.FullSyncs != 1 {
		t.Fatalf("re-pointed sibling had %d full resyncs, want only its first", in.Master.FullSyncs)
	}
	if d := cmp.Diff(dump(r1), dump(c.p)); d != "" {
		t.Fatalf("old and new primary differ:\n%s", d)
	}
}

// TestFailoverTimeoutReleasesWriters: a target that does not acknowledge
// in time (its link from p is stalled) makes the failover time out; a
// writer that came during the pause waited for its end and then
// succeeded; the roles are as before and the replica continues.
func TestFailoverTimeoutReleasesWriters(t *testing.T) {
	c := newFOCluster(t, 0)
	r := c.reps[1001]
	c.stall(1001)
	must(t, c.p.Set("k", []byte("v0")))
	res, err := c.p.StartFailover(FailoverOptions{Port: 1001, Dial: c.dial, Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if st := c.p.Info().FailoverState; st != FailoverWaitingForSync {
		t.Fatalf("FailoverState = %v, want waiting-for-sync", st)
	}
	type result struct {
		err   error
		state FailoverState
	}
	wrote := make(chan result, 1)
	go func() {
		err := c.p.Set("k", []byte("v1"))
		wrote <- result{err, c.p.FailoverState()}
	}()
	err = <-res
	if !errors.Is(err, ErrFailover) {
		t.Fatalf("failover: %v, want ErrFailover (timeout)", err)
	}
	w := <-wrote
	if w.err != nil || w.state != NoFailover {
		t.Fatalf("paused writer: err %v, returned while the failover was %v; want nil after it ended", w.err, w.state)
	}
	if c.p.Role() != RolePrimary || r.Role() != RoleReplica {
		t.Fatalf("roles after timeout: p %v, r %v", c.p.Role(), r.Role())
	}
	c.resume(1001)
	must(t, c.p.Set("k2", []byte("v2")))
	waitConverged(t, c.p, r)
	if in := r.Info(); in.Master.FullSyncs != 1 {
		t.Fatalf("replica had %d full resyncs, want only its first", in.Master.FullSyncs)
	}
}

// TestFailoverAbort: FAILOVER ABORT during the wait restores the roles at
// once and releases the writers.
func TestFailoverAbort(t *testing.T) {
	c := newFOCluster(t, 0)
	r := c.reps[1001]
	c.stall(1001)
	must(t, c.p.Set("k0", []byte("v")))
	res, err := c.p.StartFailover(FailoverOptions{Dial: c.dial})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.p.StartFailover(FailoverOptions{Dial: c.dial}); !errors.Is(err, ErrFailover) {
		t.Fatalf("second failover: %v, want ErrFailover (already in progress)", err)
	}
	if err := c.p.ReplicaOf(c.mn.dialer("r1001")); !errors.Is(err, ErrFailover) {
		t.Fatalf("ReplicaOf during the failover: %v", err)
	}
	wrote := make(chan error, 1)
	go func() { wrote <- c.p.Set("k", []byte("v")) }()
	if !c.p.AbortFailover() {
		t.Fatal("AbortFailover found no failover")
	}
	if err := <-res; !errors.Is(err, ErrFailover) {
		t.Fatalf("aborted failover: %v", err)
	}
	if err := <-wrote; err != nil {
		t.Fatalf("paused writer after abort: %v", err)
	}
	if c.p.AbortFailover() {
		t.Fatal("AbortFailover after the end reported a failover")
	}
	if c.p.Role() != RolePrimary {
		t.Fatalf("role after abort: %v", c.p.Role())
	}
	c.resume(1001)
	waitConverged(t, c.p, r)
	if in := r.Info(); in.Master.FullSyncs != 1 {
		t.Fatalf("replica had %d full resyncs, want only its first", in.Master.FullSyncs)
	}
}

// TestFailoverPicksCaughtUpReplica: without a target, the replica that
// acknowledges the final offset first (the highest acknowledged offset)
// takes over; the slow one stays a replica.
func TestFailoverPicksCaughtUpReplica(t *testing.T) {
	c := newFOCluster(t, 4*time.Second, 0)
	for i := range 50 {
		must(t, c.p.Set(fmt.Sprintf("k%d", i), []byte("v")))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.p.Failover(ctx, FailoverOptions{Dial: c.dial, Timeout: 3 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if c.reps[1002].Role() != RolePrimary || c.reps[1001].Role() != RoleReplica {
		t.Fatalf("picked the wrong replica: r1001 %v, r1002 %v", c.reps[1001].Role(), c.reps[1002].Role())
	}
	waitSynced(t, c.p)
	waitConverged(t, c.reps[1002], c.p)
}

// TestFailoverRefusals: the reasons a failover does not start.
func TestFailoverRefusals(t *testing.T) {
	mn := memNet{transport.NewMemNetwork()}
	p := node(t, mn, "p", fastConfig())
	dial := func(ReplicaInfo) transport.Dialer { return mn.dialer("x") }
	for _, tc := range []struct {
		opts FailoverOptions
		want string
	}{
		{FailoverOptions{}, "Dial is required"},
		{FailoverOptions{Dial: dial}, "FAILOVER requires connected replicas"},
		{FailoverOptions{Dial: dial, Force: true, Timeout: time.Second}, "force option requires both a timeout and target"},
		{FailoverOptions{Dial: dial, Timeout: -1}, "timeout must be greater than 0"},
	} {
		_, err := p.StartFailover(tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("StartFailover(%+v): %v, want %q", tc.opts, err, tc.want)
		}
	}
	r := node(t, mn, "r", fastConfig())
	must(t, r.ReplicaOf(mn.dialer("p")))
	waitSynced(t, r)
	poll(t, 5*time.Second, "the replica online", func() bool { return len(p.Info().Replicas) == 1 })
	if _, err := p.StartFailover(FailoverOptions{Dial: dial, Port: 9}); err == nil || !strings.Contains(err.Error(), "is not a replica") {
		t.Errorf("unknown target: %v", err)
	}
	if _, err := r.StartFailover(FailoverOptions{Dial: dial}); err == nil || !strings.Contains(err.Error(), "not valid when server is a replica") {
		t.Errorf("on a replica: %v", err)
	}
}
