package transport

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// Any stands for every node in the arguments of a [Faults] method:
// Partition("p", Any) isolates node p, Stall(Any, "r1") stops every flow
// into r1. Connections accepted by a wrapped listener from a dialer the
// controller did not wrap have an unknown peer, which only Any matches.
const Any = "*"

// Faults injects network faults between named nodes, for tests.
//
// Nodes are names chosen by the test ("primary", "r1", ...). Wrap each
// node's dialers with [Faults.Dialer] (naming the dialing node and the
// target) and its listeners with [Faults.Listener]; then cut, delay, stall,
// partition or refuse the links between nodes while the system runs, and
// heal them. With no fault set, the wrappers pass everything through.
//
// Every fault applies at one end of a connection: the dialing end when its
// dialer is wrapped, otherwise the accepting end of a wrapped listener
// (whose peer is then unknown). Faults on a flow from→to act there: a stall
// stops writes (at the sending end) or reads (at the receiving end), so the
// sender blocks once the transport's buffers fill; a delay holds each write
// before sending it, or each chunk read before returning it, so bytes are
// never reordered; a byte budget cuts the connection once it has carried
// that many bytes in that direction.
//
// Random choices (delay jitter, random cut points) come from a source
// seeded by the controller's seed, the two node names and the number of
// earlier connections between them, so a test that opens connections in the
// same order sees the same decisions for the same seed.
//
// Unless a method says otherwise, a fault stays in force, and applies to
// connections opened later, until [Faults.Heal] or [Faults.HealAll]. A
// Faults is safe for concurrent use.
type Faults struct {
	seed int64
	rnd  *rand.Rand

	mu         sync.Mutex
	flows      map[flow]*flowRule
	partitions map[flow]bool          // keyed by pairKey
	refusals   map[string]time.Time   // target -> until (zero: until lifted)
	live       map[*faultConn]bool    // ends that apply faults
	dialed     map[addrKey]*faultConn // dialing ends, by (local, remote)
	opened     map[flow]uint64        // connections seen per (self, peer)
	gen        uint64                 // numbers CutAfter rules
	changed    broadcast              // any rule changed
}

// NewFaults returns a controller with no faults set, whose random decisions
// derive from seed.
func NewFaults(seed int64) *Faults {
	return &Faults{
		seed:       seed,
		rnd:        rand.New(rand.NewPCG(uint64(seed), 0x7265706c696b76)),
		flows:      make(map[flow]*flowRule),
		partitions: make(map[flow]bool),
		refusals:   make(map[string]time.Time),
		live:       make(map[*faultConn]bool),
		dialed:     make(map[addrKey]*faultConn),
		opened:     make(map[flow]uint64),
	}
}

// Rand returns a random source seeded from the controller's seed, for tests
// to draw fault schedules from (which link to cut, when). It is distinct
// from the sources the connections use, and not safe for concurrent use.
func (f *Faults) Rand() *rand.Rand { return f.rnd }

// Cut cuts every live connection between nodes a and b (either one having
// dialed), as if the link died: both ends fail with errors wrapping
// [ErrCut]. It returns how many connections it cut. New connections are
// not affected.
func (f *Faults) Cut(a, b string) int {
	return f.cutMatching(a, b, ErrCut)
}

// CutAfter cuts each connection between from and to after it has carried n
// more bytes from from to to: the n-th byte is delivered, then both ends
// fail with errors wrapping [ErrCut]. Live connections count from now, new
// ones from their start. n below 1 cuts at the next read or write of that
// flow.
func (f *Faults) CutAfter(from, to string, n int64) {
	f.update(from, to, func(r *flowRule) {
		f.gen++
		r.cutGen, r.cutN, r.cutRandom = f.gen, max(n, 0), false
	})
}

// CutAfterRandom is like [Faults.CutAfter] with a budget drawn for each
// connection, uniformly between 1 and limit bytes, from the connection's
// seeded source.
func (f *Faults) CutAfterRandom(from, to string, limit int64) {
	limit = max(limit, 1)
	f.update(from, to, func(r *flowRule) {
		f.gen++
		r.cutGen, r.cutN, r.cutRandom = f.gen, limit, true
	})
}

// Delay holds bytes flowing from from to to for d plus a random jitter in
// [0, jitter) before passing them on, once per write (or per chunk read).
// Bytes stay in order. A zero d and jitter remove the delay.
func (f *Faults) Delay(from, to string, d, jitter time.Duration) {
	f.update(from, to, func(r *flowRule) { r.delay, r.jitter = max(d, 0), max(jitter, 0) })
}

// Stall stops the flow of bytes from from to to: the end applying faults
// stops writing or reading them, so the sender eventually blocks, as if the
// receiver had stopped reading. Deadlines still fire and Close still
// unblocks. [Faults.Resume] restarts the flow.
func (f *Faults) Stall(from, to string) {
	f.update(from, to, func(r *flowRule) { r.stalled = true })
}

// Resume restarts a flow stopped by [Faults.Stall].
func (f *Faults) Resume(from, to string) {
	f.update(from, to, func(r *flowRule) { r.stalled = false })
}

// Partition separates nodes a and b: dials between them fail with an error
// wrapping [ErrPartitioned], and live connections between them are cut
// with an error wrapping both [ErrCut] and ErrPartitioned. It lasts until
// Heal(a, b) or HealAll.
func (f *Faults) Partition(a, b string) {
	f.mu.Lock()
	f.partitions[pairKey(a, b)] = true
	f.changed.signal()
	f.mu.Unlock()
	f.cutMatching(a, b, errPartitionCut)
}

// errPartitionCut is what connections cut by a partition fail with.
var errPartitionCut = fmt.Errorf("%w: %w", ErrCut, ErrPartitioned)

// RefuseDials makes dials to node to fail at once with an error wrapping
// [ErrConnRefused], as if nothing listened there, for duration d, or until
// [Faults.AcceptDials] or HealAll when d is 0 or less. Live connections are
// not affected.
func (f *Faults) RefuseDials(to string, d time.Duration) {
	var until time.Time
	if d > 0 {
		until = time.Now().Add(d)
	}
	f.mu.Lock()
	f.refusals[to] = until
	f.mu.Unlock()
}

// AcceptDials lifts a refusal set by [Faults.RefuseDials].
func (f *Faults) AcceptDials(to string) {
	f.mu.Lock()
	delete(f.refusals, to)
	f.mu.Unlock()
}

// Heal removes every fault set between a and b with exactly these names (in
// either direction): partition, stalls, delays and byte budgets. Faults set
// with [Any] are healed only by naming Any.
func (f *Faults) Heal(a, b string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.partitions, pairKey(a, b))
	delete(f.flows, flow{a, b})
	delete(f.flows, flow{b, a})
	f.changed.signal()
}

// HealAll removes every fault, including dial refusals.
func (f *Faults) HealAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.partitions)
	clear(f.flows)
	clear(f.refusals)
	f.changed.signal()
}

// update changes the rule of flow from→to and wakes stalled connections.
func (f *Faults) update(from, to string, change func(*flowRule)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := flow{from, to}
	r := f.flows[k]
	if r == nil {
		r = &flowRule{}
		f.flows[k] = r
	}
	change(r)
	f.changed.signal()
}

// cutMatching cuts the live connections between a and b with err.
func (f *Faults) cutMatching(a, b string, err error) int {
	f.mu.Lock()
	var victims []*faultConn
	for c := range f.live {
		f.resolveLocked(c)
		if !c.passive && pairMatches(a, b, c.self, c.peer) && c.markCutLocked(err) {
			victims = append(victims, c)
		}
	}
	f.mu.Unlock()
	for _, c := range victims {
		sever(c.Conn, err)
	}
	return len(victims)
}
