package main

import (
	"context"
	"math/rand/v2"
	"time"
)

// s3: a read from an embedded replica (Store.Get in process, the replica
// fed over the in-memory network) against GET to redis-server through
// go-redis, one at a time, each timed.
func s3() *scenario {
	return &scenario{
		id:    "S3",
		title: "embedded-replica Store.Get vs GET to redis-server through go-redis (64-byte values, random keys)",
		run:   runS3,
		metrics: []metric{
			{key: "p50", name: "read latency p50", unit: "µs"},
			{key: "p99", name: "read latency p99", unit: "µs"},
		},
	}
}

func runS3(e *env, sys system) (values, error) {
	rng := rand.New(rand.NewPCG(7, 8))
	keys := make([]string, e.s3Keys)
	for i := range keys {
		keys[i] = benchKey(i)
	}
	var lat samples
	switch sys {
	case sysReplikv:
		c, err := newCluster(1)
		if err != nil {
			return nil, err
		}
		defer c.close()
		for i, k := range keys {
			if err := c.primary.Set(k, benchValue(i, 64)); err != nil {
				return nil, err
			}
		}
		if err := c.caughtUp(60 * time.Second); err != nil {
			return nil, err
		}
		r := c.replicas[0]
		lat = make(samples, 0, e.s3Gets)
		for range e.s3Gets {
			k := keys[rng.IntN(len(keys))]
			t := time.Now()
			_, err := r.Get(k)
			lat = append(lat, time.Since(t))
			if err != nil {
				return nil, err
			}
		}
	case sysRedis:
		n, err := e.start(sysRedis)
		if err != nil {
			return nil, err
		}
		defer e.stop(n)
		if err := fill(n, len(keys)); err != nil {
			return nil, err
		}
		ctx := context.Background()
		gets := e.s3Gets / 4 // each takes a round trip: fewer suffice
		lat = make(samples, 0, gets)
		for range gets {
			k := keys[rng.IntN(len(keys))]
			t := time.Now()
			err := n.client.Get(ctx, k).Err()
			lat = append(lat, time.Since(t))
			if err != nil {
				return nil, err
			}
		}
	}
	return values{"p50": lat.pct(50, time.Microsecond), "p99": lat.pct(99, time.Microsecond)}, nil
}
