package main

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// s6: one client writing to a primary holding the dataset, one SET at a
// time, first idle, then while a new replica full-syncs from it: the
// writes' latency in both phases, and the memory the sync costs the
// primary (its RSS growth over the idle figure, plus, for Redis, what its
// snapshot child no longer shares with it), against the dataset (the
// primary's RSS growth from empty to loaded).
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
			{key: "syncs", name: "sync time under these writes", unit: "s"},
			{key: "n", name: "writes during the sync", unit: ""},
		},
	}
}

// The phases of S6's writer.
const (
	phaseIdle = iota
	phaseSync
	phaseStop
)

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
	idleRSS, err := p.rss()
	if err != nil {
		return nil, err
	}

	// The writer records each SET's latency in the phase it started in.
	var phase, synced atomic.Int32
	var idle, during samples
	var werr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		ctx := context.Background()
		rng := rand.New(rand.NewPCG(9, 10))
		val := benchValue(1, 64)
		for {
			ph := phase.Load()
			if ph == phaseStop {
				return
			}
			k := benchKey(rng.IntN(e.bigKeys))
			t := time.Now()
			err := p.client.Set(ctx, k, val, 0).Err()
			d := time.Since(t)
			if err != nil {
				werr = err
				return
			}
			if ph == phaseIdle {
				idle = append(idle, d)
			} else {
				during = append(during, d)
				synced.Store(1)
			}
		}
	}()
	stopWriter := func() { phase.Store(phaseStop); wg.Wait() }
	defer stopWriter()

	idleEnd := time.Now().Add(e.s6Idle)
	for time.Now().Before(idleEnd) {
		time.Sleep(10 * time.Millisecond) // the idle phase's length, not a condition
	}
	phase.Store(phaseSync)
	if err := r.replicaOf(p); err != nil {
		return nil, err
	}
	start := time.Now()
	var peak int64
	err = poll(5*time.Minute, 5*time.Millisecond, "the full sync under writes", func() (bool, error) {
		rss, err := p.rss()
		if err != nil {
			return false, err
		}
		peak = max(peak, rss-idleRSS+p.childPrivate())
		ok, err := r.synced()
		// At least one write must have been timed during the sync.
		return ok && synced.Load() == 1, err
	})
	syncTime := time.Since(start)
	stopWriter()
	if err != nil {
		return nil, err
	}
	if werr != nil {
		return nil, werr
	}
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
