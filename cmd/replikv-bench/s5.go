package main

import (
	"context"
	"time"
)

// s5: memory per key once the reference dataset is loaded and the load
// is over: the process's RSS growth and its own heap figure (INFO memory: used_memory_heap, the Go
// heap in use, for replikv, whose used_memory is what it counts toward
// maxmemory; used_memory, the allocator's, for Redis), each over the keys.
func s5() *scenario {
	return &scenario{
		id:    "S5",
		title: "memory per key with the dataset loaded (16-byte keys, 64-byte values): RSS growth and INFO used_memory growth over the keys",
		run:   runS5,
		metrics: []metric{
			{key: "rss", name: "RSS per key", unit: "B", target: "≤0.8× Redis", pass: atMostRedis(0.8)},
			{key: "heap", name: "heap (used_memory) per key", unit: "B"},
		},
	}
}

func runS5(e *env, sys system) (values, error) {
	n, err := e.start(sys)
	if err != nil {
		return nil, err
	}
	defer e.stop(n)
	rss0, err := n.rss()
	if err != nil {
		return nil, err
	}
	heapField := "used_memory"
	if sys == sysReplikv {
		heapField = "used_memory_heap"
	}
	heap0, err := n.infoInt("memory", heapField)
	if err != nil {
		return nil, err
	}
	if err := fill(n, e.bigKeys); err != nil {
		return nil, err
	}
	// The connections of the load are closed: what stays is the data.
	n.client.Close()
	n.client = newClient(n.addr())
	if err := n.client.Ping(context.Background()).Err(); err != nil {
		return nil, err
	}
	// What is measured is the settled figure once the load is over: the
	// lowest reading over 7 s, for both servers. A Go process holds the
	// load's garbage until it collects; cmd/replikv collects and returns
	// it once a second passes without a collection
	// (cmd/replikv/memreturn.go). Redis's RSS does not move.
	rss1, err := n.rss()
	if err != nil {
		return nil, err
	}
	for range 70 {
		time.Sleep(100 * time.Millisecond)
		r, err := n.rss()
		if err != nil {
			return nil, err
		}
		rss1 = min(rss1, r)
	}
	heap1, err := n.infoInt("memory", heapField)
	if err != nil {
		return nil, err
	}
	k := float64(e.bigKeys)
	return values{"rss": float64(rss1-rss0) / k, "heap": float64(heap1-heap0) / k}, nil
}
