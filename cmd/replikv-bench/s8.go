package main

import (
	"context"
	"strconv"
	"time"
)

// s8: replication lag under saturating load. While redis-benchmark
// drives the primary as fast as it takes SETs, a probe writes a counter
// to the primary and reads the replica until it shows it: the lag is the
// time from the primary's reply to the value readable on the replica.
func s8() *scenario {
	return &scenario{
		id:    "S8",
		title: "replication lag under saturating SET load: primary's reply → value readable on the replica",
		run:   runS8,
		metrics: []metric{
			{key: "med", name: "lag median", unit: "ms", target: "≤1 ms", pass: atMost(1)},
			{key: "p99", name: "lag p99", unit: "ms"},
			{key: "max", name: "lag max", unit: "ms", target: "≤5 ms", pass: atMost(5)},
			{key: "n", name: "probes", unit: ""},
		},
	}
}

func runS8(e *env, sys system) (values, error) {
	p, rs, stopAll, err := e.group(sys, 1, "repl-backlog-size", "64mb")
	defer stopAll()
	if err != nil {
		return nil, err
	}
	r := rs[0]
	stop, err := e.load(p)
	if err != nil {
		return nil, err
	}
	defer stop()
	ctx := context.Background()
	var lag samples
	for i, start := 0, time.Now(); time.Since(start) < e.s8Duration || len(lag) < 10; i++ {
		want := strconv.Itoa(i)
		if err := p.client.Set(ctx, "lag:probe", want, 0).Err(); err != nil {
			return nil, err
		}
		t := time.Now()
		err := poll(60*time.Second, 0, "the probe on the replica", func() (bool, error) {
			got, err := r.client.Get(ctx, "lag:probe").Result()
			return got == want, ignoreNil(err)
		})
		if err != nil {
			return nil, err
		}
		lag = append(lag, time.Since(t))
	}
	ms := time.Millisecond
	return values{"med": lag.pct(50, ms), "p99": lag.pct(99, ms), "max": lag.max(ms), "n": float64(len(lag))}, nil
}
