package main

import (
	"context"
	"math/rand/v2"
	"time"
)

// s6: one client writing to a primary holding the dataset, one SET at a
// time, first idle, then while a new replica full-syncs from it: the
// writes' latency in both phases, and the memory the sync costs the
// primary (its RSS growth over the idle figure, plus, for Redis, what its
// snapshot child no longer shares with it).
func s6() *scenario {
	return &scenario{
		id:    "S6",
		title: "primary write latency (one client, one SET at a time) and extra memory while a full sync of the dataset runs, vs idle",
		run:   runS6,
		metrics: []metric{
			{key: "idle50", name: "write p50, idle", unit: "µs"},
			{key: "idle99", name: "write p99, idle", unit: "µs"},
			{key: "sync50", name: "write p50, during sync", unit: "µs"},
			{key: "sync99", name: "write p99, during sync", unit: "µs"},
			{key: "syncMax", name: "write max, during sync", unit: "µs"},
			{key: "p99x", name: "p99 during sync / p99 idle", unit: "×", target: "≤2", pass: atMost(2)},
			{key: "extraMB", name: "extra memory during sync", unit: "MiB"},
			{key: "extraPct", name: "extra memory / dataset", unit: "%", target: "≤10%", pass: atMost(10)},
			{key: "syncs", name: "sync time under this load", unit: "s"},
			{key: "n", name: "writes during the sync", unit: ""},
		},
	}
}

func runS6(e *env, sys system) (values, error) {
	p, err := e.start(sys)
	if err != nil {
		return nil, err
	}
	defer e.stop(p)
	empty, err := p.rss()
	if err != nil {
		return nil, err
	}
	if err := fill(p, e.bigKeys); err != nil {
		return nil, err
	}
	r, err := e.start(sys)
	if err != nil {
		return nil, err
	}
	defer e.stop(r)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(9, 10))
	val := benchValue(1, 64)
	write := func(lat *samples) error {
		k := benchKey(rng.IntN(e.bigKeys))
		t := time.Now()
		err := p.client.Set(ctx, k, val, 0).Err()
		*lat = append(*lat, time.Since(t))
		return err
	}
	var idle, during samples
	idleRSS, err := p.rss()
	if err != nil {
		return nil, err
	}
	for start := time.Now(); time.Since(start) < e.s6Idle; {
		if err := write(&idle); err != nil {
			return nil, err
		}
	}
	if err := r.replicaOf(p); err != nil {
		return nil, err
	}
	start := time.Now()
	var peak int64
	lastCheck := time.Time{}
	for done := false; !done; {
		if err := write(&during); err != nil {
			return nil, err
		}
		if time.Since(lastCheck) < 5*time.Millisecond {
			continue
		}
		lastCheck = time.Now()
		rss, err := p.rss()
		if err != nil {
			return nil, err
		}
		peak = max(peak, rss-idleRSS+p.childPrivate())
		if done, err = r.synced(); err != nil {
			return nil, err
		}
		if time.Since(start) > 5*time.Minute {
			return nil, errSlow("the full sync under writes")
		}
	}
	syncTime := time.Since(start)
	dataset := idleRSS - empty
	us := time.Microsecond
	return values{
		"idle50": idle.pct(50, us), "idle99": idle.pct(99, us),
		"sync50": during.pct(50, us), "sync99": during.pct(99, us), "syncMax": during.max(us),
		"p99x":     during.pct(99, us) / idle.pct(99, us),
		"extraMB":  mb(peak),
		"extraPct": 100 * float64(peak) / float64(dataset),
		"syncs":    syncTime.Seconds(),
		"n":        float64(len(during)),
	}, nil
}
