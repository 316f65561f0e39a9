package server_test

import (
	"context"
	"fmt"
	"log"
	"net"

	"github.com/redis/go-redis/v9"
	"github.com/replikv/replikv"
	"github.com/replikv/replikv/server"
)

// Serve a Store to Redis clients; here go-redis writes a key and reads it
// back, and the Store sees the write.
func Example() {
	store, err := replikv.New(replikv.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	srv, err := server.New(server.Config{Store: store})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go srv.Serve(l)

	ctx := context.Background()
	client := redis.NewClient(&redis.Options{Addr: l.Addr().String()})
	defer client.Close()
	client.Set(ctx, "greeting", "hello", 0)
	fmt.Println(client.Get(ctx, "greeting").Val())
	v, _ := store.Get("greeting")
	fmt.Println(string(v))
	// Output:
	// hello
	// hello
}

// A replica can follow a Server exactly as it follows Redis: the server
// hands the replica's connection to the Store.
func Example_replica() {
	primary, _ := replikv.New(replikv.Config{})
	defer primary.Close()
	srv, _ := server.New(server.Config{Store: primary})
	defer srv.Close()
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(l)
	primary.Set("k", []byte("v"))

	replica, _ := replikv.New(replikv.Config{})
	defer replica.Close()
	host, port, _ := net.SplitHostPort(l.Addr().String())
	ctx := context.Background()

	// The same as REPLICAOF host port sent to a second server.
	replica2, _ := server.New(server.Config{Store: replica})
	defer replica2.Close()
	l2, _ := net.Listen("tcp", "127.0.0.1:0")
	go replica2.Serve(l2)
	client2 := redis.NewClient(&redis.Options{Addr: l2.Addr().String()})
	defer client2.Close()
	fmt.Println(client2.SlaveOf(ctx, host, port).Val())
	replica.WaitSynced(ctx)
	fmt.Println(client2.Get(ctx, "k").Val())
	fmt.Println(client2.Set(ctx, "k", "w", 0).Err())
	// Output:
	// OK
	// v
	// READONLY You can't write against a read only replica.
}

// ApplyParam applies redis.conf directives to a replikv.Config, as the
// replikv binary does with its configuration file.
func ExampleApplyParam() {
	var c replikv.Config
	for _, d := range [][2]string{{"repl-backlog-size", "64mb"}, {"slave-read-only", "no"}, {"repl-timeout", "soon"}} {
		if err := server.ApplyParam(&c, d[0], d[1]); err != nil {
			fmt.Println(err)
		}
	}
	fmt.Println(c.BacklogSize, c.ReplicaWritable)
	// Output:
	// server: repl-timeout: argument couldn't be parsed into an integer
	// 67108864 true
}
