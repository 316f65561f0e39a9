// Command failover runs a primary and two replicas in one process over the
// in-memory network, with a steady writer, and shows what the two kinds of
// failover keep:
//
//   - a coordinated Failover (Redis FAILOVER): writes pause, the chosen
//     replica acknowledges the final offset and takes over, the old primary
//     follows it; every write that returned success is on the new primary;
//   - a crash failover: the new primary is cut off and closed while writes
//     go on, its replica is promoted; writes acknowledged only by the
//     crashed primary may be lost, but every write that Wait(ctx, 1, pos)
//     confirmed survives.
//
// It exits with an error if any of those promises is broken.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/replikv/replikv"
	"github.com/replikv/replikv/transport"
)

func main() {
	if err := run(os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// cluster is the in-process network and its three stores, by name.
type cluster struct {
	network *transport.MemNetwork
	faults  *transport.Faults // between a demoted primary and the one it follows
	stores  map[string]*replikv.Store
	byPort  map[int]string // the port each store announces, to its name
}

func run(out io.Writer) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := &cluster{network: transport.NewMemNetwork(), faults: transport.NewFaults(1),
		stores: map[string]*replikv.Store{}, byPort: map[int]string{}}
	defer c.close()
	for i, name := range []string{"p", "r1", "r2"} {
		if err := c.start(name, 1000+i); err != nil {
			return err
		}
	}
	p, r1, r2 := c.stores["p"], c.stores["r1"], c.stores["r2"]
	for _, r := range []*replikv.Store{r1, r2} {
		if err := r.ReplicaOf(c.network.Dialer("p")); err != nil {
			return err
		}
		if err := r.WaitSynced(ctx); err != nil {
			return err
		}
	}
	if err := online(ctx, p, 2); err != nil {
		return err
	}

	fmt.Fprintln(out, "1. Coordinated failover under a steady writer")
	w := startWriter(p, "a", false)
	if err := w.until(ctx, 300); err != nil {
		return err
	}
	start := time.Now()
	if err := p.Failover(ctx, replikv.FailoverOptions{Dial: c.dial("p"), Timeout: 5 * time.Second}); err != nil {
		return fmt.Errorf("failover: %w", err)
	}
	acked, refused := w.stop()
	np := c.primary()
	if np == "" {
		return errors.New("no primary after the failover")
	}
	fmt.Fprintf(out, "   %s took over in %v; the writer's last write was refused with %v\n",
		np, time.Since(start).Round(time.Millisecond), refused)
	lost := missing(c.stores[np], acked)
	fmt.Fprintf(out, "   %d acknowledged writes, %d missing on the new primary %s\n", len(acked), len(lost), np)
	if len(lost) > 0 {
		return fmt.Errorf("coordinated failover lost acknowledged writes: %v", first(lost))
	}
	show(out, c)

	fmt.Fprintln(out, "\n2. Crash failover: the new primary is cut off, keeps acknowledging writes, and dies")
	newP := c.stores[np]
	if err := online(ctx, newP, 1); err != nil {
		return err
	}
	w = startWriter(newP, "b", true)
	if err := w.until(ctx, 200); err != nil {
		return err
	}
	// Only the old primary p follows np directly (the other replica stays
	// chained under p, as in Redis): cutting p off leaves np alone.
	c.faults.Partition("p", np)
	if err := w.until(ctx, w.count()+10); err != nil {
		return err
	}
	newP.Close() // abrupt: whatever it did not send is gone
	acked, _ = w.stop()
	if err := p.Promote(); err != nil {
		return err
	}
	fmt.Fprintf(out, "   %s closed; p (its replica) promoted\n", np)
	lost = missing(p, acked)
	waited, waitedLost := 0, 0
	for k := range acked {
		if w.waited[k] {
			waited++
			if _, gone := lost[k]; gone {
				waitedLost++
			}
		}
	}
	fmt.Fprintf(out, "   %d writes acknowledged by %s: %d survived on p, %d lost (acknowledged by %s alone)\n",
		len(acked), np, len(acked)-len(lost), len(lost), np)
	fmt.Fprintf(out, "   %d of them were confirmed by Wait(ctx, 1, pos): %d lost\n", waited, waitedLost)
	if waitedLost > 0 {
		return fmt.Errorf("%d writes confirmed by Wait were lost", waitedLost)
	}
	if err := converge(ctx, p, c.stores[other(np)]); err != nil {
		return err
	}
	show(out, c)
	return nil
}

// start makes a store announcing port and serving on name.
func (c *cluster) start(name string, port int) error {
	s, err := replikv.New(replikv.Config{AckPeriod: 20 * time.Millisecond, ReconnectMin: 10 * time.Millisecond,
		ReconnectMax: 50 * time.Millisecond, ListeningPort: port})
	if err != nil {
		return err
	}
	l, err := c.network.Listen(name)
	if err != nil {
		s.Close()
		return err
	}
	go func() {
		if err := s.Serve(l); err != nil && !errors.Is(err, replikv.ErrClosed) && !errors.Is(err, net.ErrClosed) {
			fmt.Fprintln(os.Stderr, name, "serve:", err)
		}
	}()
	c.stores[name], c.byPort[port] = s, name
	return nil
}

// dial tells a failing-over primary from how to reach a replica, through
// the fault injector so that the example can cut that link later.
func (c *cluster) dial(from string) func(replikv.ReplicaInfo) transport.Dialer {
	return func(r replikv.ReplicaInfo) transport.Dialer {
		to := c.byPort[r.Port]
		return c.faults.Dialer(from, to, c.network.Dialer(to))
	}
}

// primary is the name of the replica that became primary.
func (c *cluster) primary() string {
	for _, name := range []string{"r1", "r2"} {
		if c.stores[name].Role() == replikv.RolePrimary {
			return name
		}
	}
	return ""
}

func other(name string) string {
	if name == "r1" {
		return "r2"
	}
	return "r1"
}

func (c *cluster) close() {
	for _, s := range c.stores {
		s.Close()
	}
}

// writer writes unique keys to one store until stopped or refused, and
// keeps every write that returned success; with wait, it asks for one
// replica's acknowledgement of each write (for at most 100ms) and marks
// the confirmed ones.
type writer struct {
	mu      sync.Mutex
	acked   map[string]string
	waited  map[string]bool
	refused error
	n       int
	quit    chan struct{}
	done    chan struct{}
}

func startWriter(s *replikv.Store, prefix string, wait bool) *writer {
	w := &writer{acked: map[string]string{}, waited: map[string]bool{}, quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for i := 0; ; i++ {
			select {
			case <-w.quit:
				return
			default:
			}
			key, val := fmt.Sprintf("%s:%06d", prefix, i), strconv.Itoa(i)
			_, pos, err := s.SetPos(key, []byte(val), replikv.SetOptions{})
			if err != nil {
				w.mu.Lock()
				w.refused = err
				w.mu.Unlock()
				return
			}
			confirmed := false
			if wait {
				ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
				n, _ := s.Wait(ctx, 1, pos)
				cancel()
				confirmed = n >= 1
			}
			w.mu.Lock()
			w.acked[key], w.n = val, w.n+1
			w.waited[key] = confirmed
			w.mu.Unlock()
		}
	}()
	return w
}

func (w *writer) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

// until waits until the writer has made n writes (or was refused).
func (w *writer) until(ctx context.Context, n int) error {
	for w.count() < n {
		select {
		case <-w.done:
			return fmt.Errorf("writer stopped after %d writes: %v", w.count(), w.refused)
		case <-ctx.Done():
			return fmt.Errorf("writer made %d of %d writes: %w", w.count(), n, ctx.Err())
		case <-time.After(time.Millisecond):
		}
	}
	return nil
}

// stop ends the writer and returns its acknowledged writes and the error
// that stopped it, if any.
func (w *writer) stop() (map[string]string, error) {
	close(w.quit)
	<-w.done
	return w.acked, w.refused
}

// missing returns the acknowledged writes s does not hold.
func missing(s *replikv.Store, acked map[string]string) map[string]string {
	lost := map[string]string{}
	for k, v := range acked {
		if got, err := s.Get(k); err != nil || string(got) != v {
			lost[k] = v
		}
	}
	return lost
}

func first(m map[string]string) string {
	for k := range m {
		return k
	}
	return ""
}

// online waits until s has n replicas online.
func online(ctx context.Context, s *replikv.Store, n int) error {
	for {
		k := 0
		for _, r := range s.Info().Replicas {
			if r.State == "online" {
				k++
			}
		}
		if k >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d of %d replicas online: %w", k, n, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// converge waits until replica has primary's offset.
func converge(ctx context.Context, primary, replica *replikv.Store) error {
	for {
		_, po := primary.Position()
		_, ro := replica.Position()
		if po == ro {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("replica at %d, primary at %d: %w", ro, po, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func show(out io.Writer, c *cluster) {
	for _, name := range []string{"p", "r1", "r2"} {
		s := c.stores[name]
		if s.Role() == replikv.RoleClosed {
			fmt.Fprintf(out, "   %-2s closed\n", name)
			continue
		}
		in := s.Info()
		fmt.Fprintf(out, "   %-2s role=%-6s keys=%-5d offset=%-6d replicas=%d\n", name, in.Role, in.Keys, in.Offset, len(in.Replicas))
	}
}
