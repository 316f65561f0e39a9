// Command inprocess runs a primary and two replicas in one process over the
// in-memory network and tells what replication does: the initial full
// sync, a cut link healed by a partial resync, and a failover in which the
// surviving replica continues from the promoted one without a snapshot.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"time"

	"github.com/replikv/replikv"
	"github.com/replikv/replikv/transport"
)

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	network := transport.NewMemNetwork()
	cfg := replikv.Config{AckPeriod: 50 * time.Millisecond, ReconnectMin: 20 * time.Millisecond}

	primary, err := start(network, "primary", cfg)
	if err != nil {
		return err
	}
	defer primary.Close()
	a, err := start(network, "replica-a", cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	b, err := start(network, "replica-b", cfg)
	if err != nil {
		return err
	}
	defer b.Close()

	step("1. A primary with 10,000 keys; two replicas join")
	for i := 0; i < 10_000; i++ {
		if err := primary.Set(fmt.Sprintf("user:%05d", i), []byte(fmt.Sprintf(`{"id":%d}`, i))); err != nil {
			return err
		}
	}
	if err := primary.SetTTL("session:42", []byte("alice"), time.Hour); err != nil {
		return err
	}
	for _, r := range []*replikv.Store{a, b} {
		if err := r.ReplicaOf(network.Dialer("primary")); err != nil {
			return err
		}
	}
	for _, r := range []*replikv.Store{a, b} {
		if err := r.WaitSynced(ctx); err != nil {
			return err
		}
	}
	if err := converge(ctx, primary, a, b); err != nil {
		return err
	}
	v, _ := a.Get("user:00042")
	ttl, _ := a.TTL("session:42")
	fmt.Printf("   replica-a reads user:00042 = %s and session:42 expires in %v\n", v, ttl.Round(time.Minute))
	show("primary", primary)

	step("2. Replicas refuse writes")
	fmt.Printf("   replica-a.Set: %v\n", a.Set("x", []byte("y")))

	step("3. The links to the primary are cut while it takes 500 writes")
	network.CutAll("primary")
	for i := 0; i < 500; i++ {
		if err := primary.Set(fmt.Sprintf("order:%d", i), []byte("paid")); err != nil {
			return err
		}
	}
	if err := converge(ctx, primary, a, b); err != nil {
		return err
	}
	in := primary.Info()
	fmt.Printf("   both replicas reconnected: %d partial resyncs, still %d full syncs (the backlog covered the gap)\n",
		in.SyncPartialOK, in.SyncFull)

	step("4. The primary dies; replica-a is promoted and replica-b follows it")
	primary.Close()
	if err := a.Promote(); err != nil {
		return err
	}
	if err := b.ReplicaOf(network.Dialer("replica-a")); err != nil {
		return err
	}
	if err := b.WaitSynced(ctx); err != nil {
		return err
	}
	if err := a.Set("after-failover", []byte("ok")); err != nil {
		return err
	}
	if err := converge(ctx, a, b); err != nil {
		return err
	}
	in = a.Info()
	fmt.Printf("   replica-b continued with %d partial resync(s) and %d full syncs\n", in.SyncPartialOK, in.SyncFull)
	v, _ = b.Get("after-failover")
	fmt.Printf("   replica-b reads after-failover = %s\n", v)
	show("new primary (replica-a)", a)
	show("replica-b", b)
	return nil
}

// start makes a store that serves replicas on the in-memory network.
func start(network *transport.MemNetwork, name string, cfg replikv.Config) (*replikv.Store, error) {
	s, err := replikv.New(cfg)
	if err != nil {
		return nil, err
	}
	l, err := network.Listen(name)
	if err != nil {
		return nil, err
	}
	go func() {
		if err := s.Serve(l); err != nil && !errors.Is(err, replikv.ErrClosed) && !errors.Is(err, net.ErrClosed) {
			fmt.Fprintln(os.Stderr, name, "serve:", err)
		}
	}()
	return s, nil
}

// converge waits until every replica has applied the primary's whole
// stream and the primary has their acknowledgements.
func converge(ctx context.Context, primary *replikv.Store, replicas ...*replikv.Store) error {
	for {
		in := primary.Info()
		done := len(in.Replicas) == len(replicas)
		for _, r := range replicas {
			if _, off := r.Position(); off != in.Offset {
				done = false
			}
		}
		for _, r := range in.Replicas {
			done = done && r.Offset == in.Offset
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("replicas did not catch up: %w", ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func step(s string) { fmt.Println("\n" + s) }

func show(name string, s *replikv.Store) {
	in := s.Info()
	fmt.Printf("   %s: role=%s keys=%d offset=%d replid=%.8s… replid2=%.8s… backlog=[%d, +%d)",
		name, in.Role, in.Keys, in.Offset, in.ReplID, in.ReplID2, in.BacklogFirstByte, in.BacklogHistLen)
	if in.Role == "slave" {
		fmt.Printf(" link=%s", in.Master.LinkStatus)
	}
	for _, r := range in.Replicas {
		fmt.Printf("\n      replica %d: state=%s acked offset=%d lag=%v", r.ID, r.State, r.Offset, r.Lag.Round(time.Millisecond))
	}
	fmt.Println()
}
