package replikv_test

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/replikv/replikv"
	"github.com/replikv/replikv/transport"
)

func ExampleNew() {
	s, err := replikv.New(replikv.Config{})
	if err != nil {
		panic(err)
	}
	defer s.Close()
	s.Set("greeting", []byte("hello"))
	s.IncrBy("visits", 41)
	n, _ := s.IncrBy("visits", 1)
	v, _ := s.Get("greeting")
	_, err = s.Get("missing")
	fmt.Println(string(v), n, err)
	// Output: hello 42 replikv: key not found
}

// A primary and a replica in one process over the in-memory network.
func ExampleStore_ReplicaOf() {
	network := transport.NewMemNetwork()
	primary, _ := replikv.New(replikv.Config{})
	defer primary.Close()
	l, _ := network.Listen("primary")
	go primary.Serve(l)
	primary.Set("user:1", []byte("alice"))

	replica, _ := replikv.New(replikv.Config{})
	defer replica.Close()
	replica.ReplicaOf(network.Dialer("primary"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := replica.WaitSynced(ctx); err != nil {
		panic(err)
	}
	v, _ := replica.Get("user:1")
	fmt.Println(string(v), replica.Info().Role, replica.Set("x", nil))
	// Output: alice slave replikv: read-only replica
}

// A point-in-time snapshot in the RDB format, loaded into another store.
func ExampleStore_BeginSnapshot() {
	src, _ := replikv.New(replikv.Config{})
	defer src.Close()
	src.Set("a", []byte("1"))
	src.SetWithOptions("b", []byte("2"), replikv.SetOptions{ExpireAt: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)})

	snap, _ := src.BeginSnapshot(context.Background())
	var rdb bytes.Buffer
	snap.WriteTo(&rdb)

	dst, _ := replikv.New(replikv.Config{})
	defer dst.Close()
	stats, _ := dst.LoadSnapshot(context.Background(), &rdb, replikv.LoadOptions{})
	deadline, _ := dst.ExpireTime("b")
	fmt.Println(stats.Keys, deadline.UTC(), stats.Offset == snap.Offset())
	// Output: 2 2100-01-01 00:00:00 +0000 UTC true
}
