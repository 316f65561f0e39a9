package main

import (
	"runtime"
	"sync"
	"time"
)

// s2: Store.Set in process, with two in-memory replicas, timed until both
// have every write. Redis has no in-process form: replikv only.
func s2() *scenario {
	return &scenario{
		id:    "S2",
		title: "in-process Store.Set from GOMAXPROCS goroutines, 2 in-memory replicas caught up (replikv only)",
		run:   runS2,
		metrics: []metric{
			{key: "sets", redisKey: "-", name: "Set/s, 2 replicas caught up", unit: "ops/s", target: "≥1.5M", pass: atLeast(1.5e6)},
			{key: "writes", redisKey: "-", name: "Set/s, 2 replicas, until the writers return", unit: "ops/s"},
			{key: "full", redisKey: "-", name: "full resyncs during the writes", unit: ""},
			{key: "alone", redisKey: "-", name: "Set/s without replicas (reference)", unit: "ops/s"},
		},
	}
}

func runS2(e *env, sys system) (values, error) {
	if sys != sysReplikv {
		return nil, nil
	}
	v, err := e.inProcessSets(2)
	if err != nil {
		return nil, err
	}
	ref, err := e.inProcessSets(0)
	if err != nil {
		return nil, err
	}
	v["alone"] = ref["sets"]
	return v, nil
}

// inProcessSets times the Sets of S2 on a primary with n in-memory
// replicas: "sets" until the replicas have them all, "writes" until the
// writers are done, and "full" the full resyncs meanwhile.
func (e *env) inProcessSets(n int) (values, error) {
	c, err := newCluster(n)
	if err != nil {
		return nil, err
	}
	defer c.close()
	// The writes overwrite a keyspace written once before the clock
	// starts, so that what is timed is the steady state rather than the
	// maps and buffers growing.
	keys := min(e.s2Sets/2, 1<<20)
	names := make([]string, keys)
	for i := range names {
		names[i] = benchKey(i)
	}
	val := benchValue(0, 64)
	for _, k := range names {
		if err := c.primary.Set(k, val); err != nil {
			return nil, err
		}
	}
	if err := c.caughtUp(120 * time.Second); err != nil {
		return nil, err
	}
	full0 := c.primary.Info().SyncFull
	workers := runtime.GOMAXPROCS(0)
	per := e.s2Sets / workers
	errs := make([]error, workers)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				if err := c.primary.Set(names[(w*per+i)%keys], val); err != nil {
					errs[w] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	writes := time.Since(start)
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	if err := c.caughtUp(120 * time.Second); err != nil {
		return nil, err
	}
	total := time.Since(start)
	sets := float64(per * workers)
	return values{"sets": sets / total.Seconds(), "writes": sets / writes.Seconds(),
		"full": float64(c.primary.Info().SyncFull - full0)}, nil
}
