package replikv_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/replikv/replikv"
	"github.com/replikv/replikv/transport"
)

// serveWith starts a store configured by cfg that serves replicas as
// name on the network.
func serveWith(network *transport.MemNetwork, name string, cfg replikv.Config) *replikv.Store {
	s, err := replikv.New(cfg)
	if err != nil {
		panic(err)
	}
	l, err := network.Listen(name)
	if err != nil {
		panic(err)
	}
	go s.Serve(l) // returns when s closes
	return s
}

// Read-your-writes: a service writes to the primary, hands the write's
// position to a reader (in a response header, a queue message…), and the
// reader, in another process with a replica, waits for that position
// before reading: it sees the write, never an older value.
func ExampleStore_WaitOffset() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	network := transport.NewMemNetwork()
	primary := serveWith(network, "primary", replikv.Config{})
	defer primary.Close()
	replica := serveWith(network, "replica", replikv.Config{})
	defer replica.Close()
	replica.ReplicaOf(network.Dialer("primary"))

	// The writer: SetPos reports where its write is in the stream.
	_, pos, err := primary.SetPos("profile:42", []byte(`{"name":"Ada"}`), replikv.SetOptions{})
	if err != nil {
		panic(err)
	}

	// The reader, given pos: wait (bounded by ctx), then read locally.
	if err := replica.WaitOffset(ctx, pos.ReplID, pos.Offset); err != nil {
		panic(err)
	}
	v, _ := replica.Get("profile:42")
	fmt.Printf("replica read %s\n", v)

	// Durability for this write only: how many replicas have it.
	n, err := primary.Wait(ctx, 1, pos)
	fmt.Println("acknowledged by", n, "replica(s), err:", err)
	// Output:
	// replica read {"name":"Ada"}
	// acknowledged by 1 replica(s), err: <nil>
}

// A planned switchover with Failover: writes pause, the replica catches
// up, takes over on the replication link, and the old primary follows
// it; a write after the switch is refused on the old primary (it now is
// a replica) and accepted on the new one.
func ExampleStore_Failover() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	network := transport.NewMemNetwork()
	cfg := replikv.Config{AckPeriod: 50 * time.Millisecond}
	a := serveWith(network, "a", cfg)
	defer a.Close()
	bcfg := cfg
	bcfg.ListeningPort = 6380 // how a names b in its replica list
	b := serveWith(network, "b", bcfg)
	defer b.Close()
	b.ReplicaOf(network.Dialer("a"))
	if err := b.WaitSynced(ctx); err != nil {
		panic(err)
	}
	for a.Info().Replicas == nil || a.Info().Replicas[0].State != "online" {
		time.Sleep(time.Millisecond)
	}
	a.Set("order:1", []byte("paid"))

	err := a.Failover(ctx, replikv.FailoverOptions{
		Port:    6380,
		Dial:    func(replikv.ReplicaInfo) transport.Dialer { return network.Dialer("b") },
		Timeout: 5 * time.Second,
	})
	fmt.Println("failover:", err)
	fmt.Println("a is", a.Role(), "and b is", b.Role())
	fmt.Println("write on a:", errors.Is(a.Set("order:2", []byte("paid")), replikv.ErrReadOnly))
	fmt.Println("write on b:", b.Set("order:2", []byte("paid")))
	v, _ := b.Get("order:1")
	fmt.Printf("b has order:1 = %s, full resyncs of a: %d\n", v, a.Info().Master.FullSyncs)
	// Output:
	// failover: <nil>
	// a is replica and b is primary
	// write on a: true
	// write on b: <nil>
	// b has order:1 = paid, full resyncs of a: 0
}
