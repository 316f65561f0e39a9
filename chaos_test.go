package replikv

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/replikv/replikv/transport"
)

// TestChaos runs a primary and three replicas (r3 chained under r1) over
// the fault-injecting in-memory network, with writers running, through a
// random schedule of cuts, stalls, partitions, delays, replica restarts,
// backlog overflows and a promotion (the old primary rejoining as a
// replica). After the schedule it heals everything, stops the writers and
// checks invariant 1 (every keyspace equals the primary's, deadlines
// included) and invariant 4 (every PSYNC whose gap the backlog covered was
// answered +CONTINUE, checked against an independent oracle).
//
// REPLIKV_CHAOS_SEEDS=N runs N seeds from REPLIKV_CHAOS_SEED (default 1).
func TestChaos(t *testing.T) {
	seeds, first := 4, int64(1)
	if testing.Short() {
		seeds = 1
	}
	if v := os.Getenv("REPLIKV_CHAOS_SEEDS"); v != "" {
		n, err := strconv.Atoi(v)
		must(t, err)
		seeds = n
	}
	if v := os.Getenv("REPLIKV_CHAOS_SEED"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		must(t, err)
		first = n
	}
	for seed := first; seed < first+int64(seeds); seed++ {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			c := newChaos(t, seed)
			defer func() {
				if t.Failed() {
					t.Logf("REPLIKV_CHAOS_SEED=%d failed; schedule:\n  %s", seed, strings.Join(c.schedule, "\n  "))
				}
			}()
			c.run()
		})
	}
}

// chaos is one seeded run.
type chaos struct {
	t      *testing.T
	seed   int64
	rng    *rand.Rand
	faults *transport.Faults
	mn     *transport.MemNetwork

	mu       sync.Mutex
	nodes    map[string]*chaosNode
	parent   map[string]string // "" for the primary
	primary  string
	schedule []string

	partialOK, full, oracleChecks atomic.Int64
}

type chaosNode struct {
	name  string
	s     *Store
	l     net.Listener
	serve chan struct{}
}

func newChaos(t *testing.T, seed int64) *chaos {
	c := &chaos{
		t:      t,
		seed:   seed,
		faults: transport.NewFaults(seed),
		mn:     transport.NewMemNetwork(transport.WithMemBuffer(16 << 10)),
		nodes:  map[string]*chaosNode{},
		parent: map[string]string{"p": "", "r1": "p", "r2": "p", "r3": "r1"},
	}
	c.rng = rand.New(rand.NewPCG(uint64(seed), 99))
	c.primary = "p"
	for _, name := range []string{"p", "r1", "r2", "r3"} {
		c.start(name)
	}
	t.Cleanup(func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, n := range c.nodes {
			n.stop()
		}
	})
	return c
}

func chaosConfig() Config {
	return Config{
		Shards:               16,
		BacklogSize:          256 << 10,
		PingPeriod:           50 * time.Millisecond,
		AckPeriod:            20 * time.Millisecond,
		ReplTimeout:          2 * time.Second,
		ReconnectMin:         5 * time.Millisecond,
		ReconnectMax:         40 * time.Millisecond,
		ActiveExpiryInterval: 10 * time.Millisecond,
	}
}

// start creates node name as a fresh store serving on the network and,
// unless it is the primary, following its parent. The caller holds c.mu
// or runs before the writers.
func (c *chaos) start(name string) {
	s, err := New(chaosConfig())
	must(c.t, err)
	s.prim.psyncHook = c.oracle
	l, err := c.mn.Listen(name)
	must(c.t, err)
	n := &chaosNode{name: name, s: s, l: c.faults.Listener(name, l), serve: make(chan struct{})}
	go func() { defer close(n.serve); s.Serve(n.l) }()
	c.nodes[name] = n
	if p := c.parent[name]; p != "" {
		must(c.t, s.ReplicaOf(c.dialer(name, p)))
	}
}

func (n *chaosNode) stop() {
	n.s.Close()
	n.l.Close()
	<-n.serve
}

func (c *chaos) dialer(from, to string) transport.Dialer {
	return c.faults.Dialer(from, to, c.mn.Dialer(to))
}

// oracle checks each PSYNC decision against its own reading of the rule:
// the same history (or an earlier one it continued, up to that one's
// switch point) and an offset the backlog still holds must get
// +CONTINUE, anything else not.
func (c *chaos) oracle(replid string, offset int64, h history, d psyncDecision) {
	c.oracleChecks.Add(1)
	earlier := append([]pastID{{h.ReplID2, h.Off2}}, h.Older...)
	sameHistory := replid != "?" && replid == h.ReplID
	for _, e := range earlier {
		if e.ID != "" && replid == e.ID && offset <= e.End {
			sameHistory = true
		}
	}
	next := offset - 1 // the first byte the replica lacks, 0-based
	covered := sameHistory && next >= h.First && next <= h.End
	if covered != d.Continue {
		c.t.Errorf("PSYNC %s %d against %+v: decision %+v, but the gap is covered=%v", replid, offset, h, d, covered)
	}
	if d.Continue {
		c.partialOK.Add(1)
	} else {
		c.full.Add(1)
	}
}

func (c *chaos) log(format string, args ...any) {
	c.mu.Lock()
	c.schedule = append(c.schedule, fmt.Sprintf(format, args...))
	c.mu.Unlock()
}

func (c *chaos) current() *Store {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[c.primary].s
}

// write runs until stop, issuing every kind of write to whichever node is
// the primary at the time.
func (c *chaos) write(rng *rand.Rand, stop *atomic.Bool, ops *atomic.Int64) {
	for !stop.Load() {
		s := c.current()
		k := fmt.Sprintf("key:%d", rng.IntN(500))
		var err error
		switch op := rng.IntN(100); {
		case op < 35:
			err = s.Set(k, []byte(strconv.Itoa(rng.IntN(1e6))))
		case op < 45:
			err = s.SetTTL(k, []byte("ttl"), time.Duration(5+rng.IntN(200))*time.Millisecond)
		case op < 55:
			_, err = s.Delete(k)
		case op < 65:
			_, err = s.IncrBy(fmt.Sprintf("ctr:%d", rng.IntN(20)), int64(rng.IntN(100)))
		case op < 75:
			_, err = s.Append(k, []byte("+"))
		case op < 85:
			_, err = s.Expire(k, time.Duration(10+rng.IntN(300))*time.Millisecond)
		case op < 92:
			_, err = s.Persist(k)
		case op < 99:
			_, err = s.SetWithOptions(k, []byte("big-"+strings.Repeat("x", rng.IntN(400))), SetOptions{})
		default:
			if rng.IntN(30) == 0 {
				err = s.FlushAll()
			}
		}
		if err != nil && !errors.Is(err, ErrReadOnly) && !errors.Is(err, ErrNotInteger) && !errors.Is(err, ErrClosed) {
			c.t.Errorf("write: %v", err)
			return
		}
		ops.Add(1)
		if ops.Load()%16 == 0 {
			time.Sleep(100 * time.Microsecond) // pace the writers: the links must keep up sometimes
		}
	}
}

// links lists the replication links (child, parent) of the topology.
func (c *chaos) links() [][2]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out [][2]string
	for _, name := range []string{"p", "r1", "r2", "r3"} {
		if p := c.parent[name]; p != "" {
			out = append(out, [2]string{name, p})
		}
	}
	return out
}

func (c *chaos) run() {
	var stop atomic.Bool
	var ops atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		rng := rand.New(rand.NewPCG(uint64(c.seed), uint64(w)))
		wg.Go(func() { c.write(rng, &stop, &ops) })
	}
	defer func() { stop.Store(true); wg.Wait() }()

	promoted := false
	steps := 8 + c.rng.IntN(8)
	for i := 0; i < steps; i++ {
		links := c.links()
		l := links[c.rng.IntN(len(links))]
		pause := time.Duration(5+c.rng.IntN(40)) * time.Millisecond
		switch k := c.rng.IntN(9); {
		case k == 0:
			c.log("cut %s-%s", l[0], l[1])
			c.faults.Cut(l[0], l[1])
		case k == 1:
			c.log("stall %s->%s for %v", l[1], l[0], pause)
			c.faults.Stall(l[1], l[0])
			time.Sleep(pause)
			c.faults.Resume(l[1], l[0])
		case k == 2:
			c.log("partition %s|%s for %v", l[0], l[1], pause)
			c.faults.Partition(l[0], l[1])
			time.Sleep(pause)
			c.faults.Heal(l[0], l[1])
		case k == 3:
			n := int64(1 + c.rng.IntN(4000))
			c.log("cut %s->%s after %d bytes", l[1], l[0], n)
			c.faults.CutAfter(l[1], l[0], n)
			time.Sleep(pause)
			c.faults.Heal(l[0], l[1])
		case k == 4:
			c.log("delay %s->%s by 2ms for %v", l[1], l[0], pause)
			c.faults.Delay(l[1], l[0], 2*time.Millisecond, time.Millisecond)
			time.Sleep(pause)
			c.faults.Heal(l[0], l[1])
		case k == 5:
			c.restart(l[0])
		case k == 6:
			// Backlog overflow: a long cut under heavy writes.
			c.log("long partition %s|%s with 400 KiB of writes", l[0], l[1])
			c.faults.Partition(l[0], l[1])
			s := c.current()
			for j := 0; j < 1000; j++ {
				s.Set(fmt.Sprint("flood:", j%40), []byte(strings.Repeat("f", 400)))
			}
			c.faults.Heal(l[0], l[1])
		case k == 7 && !promoted:
			promoted = true
			c.promote()
		default:
			c.log("refuse dials to %s for %v", l[1], pause)
			c.faults.RefuseDials(l[1], pause)
		}
		time.Sleep(pause)
	}
	c.faults.HealAll()
	stop.Store(true)
	wg.Wait()
	c.converge()
	c.t.Logf("seed %d: %d writes, %d steps, PSYNC decisions: %d partial, %d full",
		c.seed, ops.Load(), len(c.schedule), c.partialOK.Load(), c.full.Load())
}

// restart replaces a replica with a new, empty store that rejoins.
func (c *chaos) restart(name string) {
	c.log("restart %s", name)
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.nodes[name]
	old.stop()
	c.start(name)
}

// promote makes a direct replica of the primary the new primary; the
// other replicas of the old primary and the old primary itself follow it.
func (c *chaos) promote() {
	c.mu.Lock()
	defer c.mu.Unlock()
	var cands []string
	for _, name := range []string{"r1", "r2", "r3", "p"} {
		if c.parent[name] == c.primary {
			cands = append(cands, name)
		}
	}
	next := cands[c.rng.IntN(len(cands))]
	old := c.primary
	c.schedule = append(c.schedule, fmt.Sprintf("promote %s; %s and its other replicas follow it", next, old))
	must(c.t, c.nodes[next].s.Promote())
	c.parent[next] = ""
	c.primary = next
	for _, name := range []string{"p", "r1", "r2", "r3"} {
		if name != next && (name == old || c.parent[name] == old) {
			c.parent[name] = next
			must(c.t, c.nodes[name].s.ReplicaOf(c.dialer(name, next)))
		}
	}
}

// converge waits until every node equals the primary (invariant 1).
func (c *chaos) converge() {
	c.mu.Lock()
	primary := c.nodes[c.primary].s
	var replicas []*Store
	for name, n := range c.nodes {
		if name != c.primary {
			replicas = append(replicas, n.s)
		}
	}
	c.mu.Unlock()
	waitConverged(c.t, primary, replicas...)
	if c.oracleChecks.Load() == 0 {
		c.t.Fatal("no PSYNC was checked")
	}
}
