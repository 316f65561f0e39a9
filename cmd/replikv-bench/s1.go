package main

import (
	"fmt"
	"time"
)

// s1: SET throughput of a primary process with 0, 1 and 2 replica
// processes, from redis-benchmark; the replicas must have every write at
// the end (offsets verified).
func s1() *scenario {
	return &scenario{
		id:    "S1",
		title: "SET throughput (redis-benchmark -t set -r 1000000 -d 64 -c 50 -P 16) with 0, 1 and 2 replicas, all caught up at the end",
		run:   runS1,
		metrics: []metric{
			{key: "rps0", name: "SET/s, 0 replicas", unit: "ops/s", target: "≥1.0× Redis", pass: atLeastRedis(1.0)},
			{key: "rps1", name: "SET/s, 1 replica", unit: "ops/s"},
			{key: "rps2", name: "SET/s, 2 replicas", unit: "ops/s", target: "≥1.5× Redis", pass: atLeastRedis(1.5)},
			{key: "catchup2", name: "catch-up after the load, 2 replicas", unit: "ms"},
		},
	}
}

func runS1(e *env, sys system) (values, error) {
	v := values{}
	for replicas := 0; replicas <= 2; replicas++ {
		rps, catchup, err := e.setThroughput(sys, replicas)
		if err != nil {
			return nil, err
		}
		v[fmt.Sprintf("rps%d", replicas)] = rps
		if replicas == 2 {
			v["catchup2"] = float64(catchup) / float64(time.Millisecond)
		}
	}
	return v, nil
}

// setThroughput starts a primary of sys with replicas, runs the SET
// benchmark on it and waits until the replicas have all of it; it returns
// the benchmark's rate and the wait.
func (e *env) setThroughput(sys system, replicas int) (float64, time.Duration, error) {
	p, rs, stop, err := e.group(sys, replicas, "repl-backlog-size", "64mb")
	defer stop()
	if err != nil {
		return 0, 0, err
	}
	rps, err := e.benchmarkSet(p, e.s1Requests)
	if err != nil {
		return 0, 0, err
	}
	start := time.Now()
	if _, err := waitCaughtUp(120*time.Second, p, rs...); err != nil {
		return 0, 0, err
	}
	return rps, time.Since(start), nil
}
