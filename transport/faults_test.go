package transport_test

import (
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/replikv/replikv/transport"
	"github.com/replikv/replikv/transport/transporttest"
)

// faultNet is a MemNetwork with a wrapped listener for node "p", which
// replicas dial through a Faults controller.
type faultNet struct {
	t   *testing.T
	mem *transport.MemNetwork
	f   *transport.Faults
	l   net.Listener
}

func newFaultNet(t *testing.T, seed int64, opts ...transport.MemOption) *faultNet {
	t.Helper()
	mem := transport.NewMemNetwork(opts...)
	raw, err := mem.Listen("p")
	if err != nil {
		t.Fatal(err)
	}
	f := transport.NewFaults(seed)
	l := f.Listener("p", raw)
	t.Cleanup(func() { l.Close() })
	return &faultNet{t: t, mem: mem, f: f, l: l}
}

// dialer returns node from's dialer to p.
func (fn *faultNet) dialer(from string) transport.Dialer {
	return fn.f.Dialer(from, "p", fn.mem.Dialer("p"))
}

// connect dials p from node from and accepts the connection.
func (fn *faultNet) connect(from string) (client, server net.Conn) {
	fn.t.Helper()
	return fn.connectWith(fn.dialer(from))
}

func (fn *faultNet) connectWith(d transport.Dialer) (client, server net.Conn) {
	fn.t.Helper()
	client, err := d.Dial(context.Background())
	if err != nil {
		fn.t.Fatalf("Dial: %v", err)
	}
	server, err = fn.l.Accept()
	if err != nil {
		fn.t.Fatalf("Accept: %v", err)
	}
	fn.t.Cleanup(func() {
		client.Close()
		server.Close()
	})
	return client, server
}

func (fn *faultNet) dial(from string) error {
	c, err := fn.dialer(from).Dial(context.Background())
	if err == nil {
		c.Close()
		// Drain the accept queue so it never fills.
		if s, err := fn.l.Accept(); err == nil {
			s.Close()
		}
	}
	return err
}

func TestFaultsConformanceMem(t *testing.T) {
	transporttest.Run(t, func(t *testing.T) (net.Listener, transport.Dialer) {
		fn := newFaultNet(t, 1)
		return fn.l, fn.dialer("r1")
	})
}

func TestFaultsConformanceTCP(t *testing.T) {
	transporttest.Run(t, func(t *testing.T) (net.Listener, transport.Dialer) {
		f := transport.NewFaults(1)
		l := listenTCP(t)
		return f.Listener("p", l), f.Dialer("r1", "p", transport.TCP(l.Addr().String()))
	})
}

// wantCut checks that a read and a write on c both fail with ErrCut, after
// the bytes in want are read.
func wantCut(t *testing.T, c net.Conn, want string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second)) // fail, not hang
	got, err := io.ReadAll(c)
	if string(got) != want || !errors.Is(err, transport.ErrCut) {
		t.Errorf("read %q, %v; want %q, then ErrCut", got, err, want)
	}
	if _, err := c.Write([]byte("x")); !errors.Is(err, transport.ErrCut) {
		t.Errorf("Write: %v; want ErrCut", err)
	}
}

func TestFaultsCut(t *testing.T) {
	fn := newFaultNet(t, 1)
	c1, s1 := fn.connect("r1")
	c2, _ := fn.connect("r2")
	c1.Write([]byte("sent before the cut"))
	if n := fn.f.Cut("p", "r1"); n != 1 {
		t.Fatalf("Cut(p, r1) = %d, want 1", n)
	}
	wantCut(t, s1, "sent before the cut")
	wantCut(t, c1, "")
	if n := fn.f.Cut("r1", "p"); n != 0 {
		t.Errorf("second Cut = %d, want 0", n)
	}
	// Other links and new connections are unaffected.
	fn.connect("r1")
	c2.Write([]byte("x"))
	if n := fn.f.Cut(transport.Any, "p"); n != 2 {
		t.Errorf("Cut(Any, p) = %d, want 2 (r2's and the new r1's)", n)
	}
}

func TestFaultsCutAfterWrites(t *testing.T) {
	fn := newFaultNet(t, 1)
	c, s := fn.connect("r1")
	fn.f.CutAfter("r1", "p", 10)
	n, err := c.Write([]byte("0123456789abcdef"))
	if n != 10 || !errors.Is(err, transport.ErrCut) {
		t.Fatalf("Write(16 bytes) with a 10-byte budget = %d, %v; want 10, ErrCut", n, err)
	}
	wantCut(t, s, "0123456789")

	// The rule holds for new connections, counting from their start,
	// until healed.
	c, s = fn.connect("r1")
	for _, part := range []string{"0123", "4567", "89"} {
		if _, err := c.Write([]byte(part)); err != nil {
			t.Fatalf("Write(%q) within the budget: %v", part, err)
		}
	}
	wantCut(t, s, "0123456789")
	fn.f.Heal("p", "r1")
	c, s = fn.connect("r1")
	if _, err := c.Write(make([]byte, 100)); err != nil {
		t.Fatalf("Write after Heal: %v", err)
	}
	if _, err := io.ReadFull(s, make([]byte, 100)); err != nil {
		t.Fatalf("Read after Heal: %v", err)
	}
}

func TestFaultsCutAfterReads(t *testing.T) {
	fn := newFaultNet(t, 1)
	c, s := fn.connect("r1")
	if _, err := s.Write([]byte("before the rule|")); err != nil {
		t.Fatal(err)
	}
	fn.f.CutAfter("p", "r1", 5)
	if _, err := s.Write([]byte("0123456789")); err != nil {
		t.Fatal(err)
	}
	// r1 reads its budget counted from the rule, then the cut.
	wantCut(t, c, "befor")
	if _, err := s.Write([]byte("x")); !errors.Is(err, transport.ErrCut) {
		t.Errorf("primary's Write after the cut: %v; want ErrCut", err)
	}
}

// TestFaultsCutOverTCP checks that a cut TCP connection fails at the
// remote end too (it is reset).
func TestFaultsCutOverTCP(t *testing.T) {
	f := transport.NewFaults(1)
	l := listenTCP(t)
	defer l.Close()
	c, err := f.Dialer("r1", "p", transport.TCP(l.Addr().String())).Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n := f.Cut("r1", "p"); n != 1 {
		t.Fatalf("Cut = %d, want 1", n)
	}
	s.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadAll(s); err == nil || errors.Is(err, io.EOF) || isTimeoutErr(err) {
		t.Errorf("peer of a cut TCP conn read: %v; want a reset", err)
	}
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, transport.ErrCut) {
		t.Errorf("cut end Read: %v; want ErrCut", err)
	}
}

func isTimeoutErr(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func TestFaultsPartition(t *testing.T) {
	fn := newFaultNet(t, 1)
	c1, s1 := fn.connect("r1")
	c2, _ := fn.connect("r2")
	fn.f.Partition("r1", "p")
	for _, c := range []net.Conn{c1, s1} {
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, transport.ErrCut) || !errors.Is(err, transport.ErrPartitioned) {
			t.Errorf("Read across a partition: %v; want ErrCut and ErrPartitioned", err)
		}
	}
	if err := fn.dial("r1"); !errors.Is(err, transport.ErrPartitioned) {
		t.Errorf("Dial across a partition: %v; want ErrPartitioned", err)
	}
	if err := fn.dial("r2"); err != nil {
		t.Errorf("Dial outside the partition: %v", err)
	}
	if _, err := c2.Write([]byte("x")); err != nil {
		t.Errorf("Write outside the partition: %v", err)
	}

	// Isolating p cuts everything to it.
	fn.f.Partition("p", transport.Any)
	if _, err := c2.Write([]byte("x")); !errors.Is(err, transport.ErrPartitioned) {
		t.Errorf("Write to an isolated node: %v; want ErrPartitioned", err)
	}
	if err := fn.dial("r2"); !errors.Is(err, transport.ErrPartitioned) {
		t.Errorf("Dial to an isolated node: %v; want ErrPartitioned", err)
	}
	fn.f.Heal("p", "r1")
	if err := fn.dial("r1"); !errors.Is(err, transport.ErrPartitioned) {
		t.Errorf("Dial with p still isolated: %v; want ErrPartitioned", err)
	}
	fn.f.Heal(transport.Any, "p")
	for _, r := range []string{"r1", "r2"} {
		if err := fn.dial(r); err != nil {
			t.Errorf("Dial from %s after healing: %v", r, err)
		}
	}
}

func TestFaultsRefuseDials(t *testing.T) {
	fn := newFaultNet(t, 1)
	c, s := fn.connect("r1")
	fn.f.RefuseDials("p", 0)
	if err := fn.dial("r2"); !errors.Is(err, transport.ErrConnRefused) {
		t.Fatalf("refused Dial: %v; want ErrConnRefused", err)
	}
	// Live connections are not affected.
	if _, err := c.Write([]byte("x")); err != nil {
		t.Errorf("Write on a live conn: %v", err)
	}
	if _, err := s.Read(make([]byte, 1)); err != nil {
		t.Errorf("Read on a live conn: %v", err)
	}
	fn.f.AcceptDials("p")
	if err := fn.dial("r2"); err != nil {
		t.Fatalf("Dial after AcceptDials: %v", err)
	}

	const d = 30 * time.Millisecond
	start := time.Now()
	fn.f.RefuseDials("p", d)
	for {
		err := fn.dial("r2")
		if err == nil {
			break
		}
		if !errors.Is(err, transport.ErrConnRefused) {
			t.Fatalf("Dial during a timed refusal: %v", err)
		}
		if time.Since(start) > 10*time.Second {
			t.Fatal("a 30ms refusal never ended")
		}
		time.Sleep(time.Millisecond) // polling interval
	}
	if el := time.Since(start); el < d {
		t.Errorf("a %v refusal ended after %v", d, el)
	}
}

// TestFaultsUnknownPeer checks connections from a dialer the controller
// does not wrap: only faults naming Any reach them, and a link is counted
// once even when both of its ends are wrapped.
func TestFaultsUnknownPeer(t *testing.T) {
	fn := newFaultNet(t, 1)
	fn.connect("r1")
	stranger, ss := fn.connectWith(fn.mem.Dialer("p"))
	if n := fn.f.Cut("r9", "p"); n != 0 {
		t.Errorf("Cut(r9, p) = %d, want 0", n)
	}
	if n := fn.f.Cut("p", transport.Any); n != 2 {
		t.Errorf("Cut(p, Any) = %d, want 2", n)
	}
	wantCut(t, stranger, "")
	wantCut(t, ss, "")
	stranger, ss = fn.connectWith(fn.mem.Dialer("p"))
	fn.f.Partition(transport.Any, "p")
	if _, err := ss.Write([]byte("x")); !errors.Is(err, transport.ErrPartitioned) {
		t.Errorf("Write to an unknown peer of an isolated node: %v; want ErrPartitioned", err)
	}
	if _, err := stranger.Read(make([]byte, 1)); !errors.Is(err, transport.ErrPartitioned) {
		t.Errorf("unknown peer's Read: %v; want ErrPartitioned", err)
	}
}

// cutPoints opens n connections one after another under a random byte
// budget and returns how many bytes each carried before its cut.
func cutPoints(t *testing.T, seed int64, n int) []int {
	fn := newFaultNet(t, seed)
	fn.f.CutAfterRandom("r1", "p", 1000)
	var points []int
	for range n {
		c, _ := fn.connect("r1")
		w, err := c.Write(make([]byte, 2000))
		if !errors.Is(err, transport.ErrCut) {
			t.Fatalf("Write past a random budget: %d, %v; want ErrCut", w, err)
		}
		if w < 1 || w > 1000 {
			t.Fatalf("cut after %d bytes, outside [1, 1000]", w)
		}
		points = append(points, w)
	}
	return points
}

func TestFaultsDeterministic(t *testing.T) {
	a, b, other := cutPoints(t, 42, 8), cutPoints(t, 42, 8), cutPoints(t, 43, 8)
	if !slices.Equal(a, b) {
		t.Errorf("same seed, different cut points: %v and %v", a, b)
	}
	if slices.Equal(a, other) {
		t.Errorf("seeds 42 and 43 chose the same cut points %v", a)
	}
	if len(slices.Compact(slices.Clone(a))) == 1 {
		t.Errorf("every connection was cut at the same point %v", a)
	}
	r1, r2 := transport.NewFaults(7).Rand(), transport.NewFaults(7).Rand()
	for range 10 {
		if x, y := r1.Uint64(), r2.Uint64(); x != y {
			t.Fatalf("Rand differs for one seed: %d and %d", x, y)
		}
	}
}

func TestFaultsHealAll(t *testing.T) {
	fn := newFaultNet(t, 1)
	fn.f.Partition("r1", "p")
	fn.f.RefuseDials("p", 0)
	fn.f.CutAfter("r2", "p", 1)
	fn.f.Stall("r2", "p")
	fn.f.HealAll()
	if err := fn.dial("r1"); err != nil {
		t.Fatalf("Dial after HealAll: %v", err)
	}
	c, s := fn.connect("r2")
	if _, err := c.Write([]byte("hello")); err != nil {
		t.Fatalf("Write after HealAll: %v", err)
	}
	if _, err := io.ReadFull(s, make([]byte, 5)); err != nil {
		t.Fatalf("Read after HealAll: %v", err)
	}
}
