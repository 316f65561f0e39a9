package main

import (
	"context"
	"time"
)

// s7: under redis-benchmark load on a primary, the link of its replica is
// killed again and again (CLIENT KILL TYPE master on the replica): the
// time from each kill until the replica holds everything the primary had
// at the kill, and the full syncs the primary served meanwhile (it must
// serve none: every reconnection continues partially). Both have a 64 MB
// backlog. A Redis replica reconnects from its once-a-second cron.
func s7() *scenario {
	return &scenario{
		id:    "S7",
		title: "replica link killed repeatedly under SET load → time until caught up; full syncs served",
		run:   runS7,
		metrics: []metric{
			{key: "med", name: "kill → caught up, median", unit: "ms", target: "≤ Redis", pass: atMostRedis(1)},
			{key: "max", name: "kill → caught up, max", unit: "ms"},
			{key: "full", name: "full syncs during the kills", unit: "", target: "0", pass: atMost(0)},
			{key: "partial", name: "partial resyncs during the kills", unit: ""},
		},
	}
}

func runS7(e *env, sys system) (values, error) {
	p, rs, stopAll, err := e.group(sys, 1, "repl-backlog-size", "64mb")
	defer stopAll()
	if err != nil {
		return nil, err
	}
	r := rs[0]
	full0, partial0, err := p.syncCounts()
	if err != nil {
		return nil, err
	}
	stop, err := e.load(p)
	if err != nil {
		return nil, err
	}
	defer stop()
	ctx := context.Background()
	var took samples
	for range e.s7Kills {
		// Let the load run 1 MB past the replica's position, and kill
		// the link once the replica is close behind: what is measured is
		// the reconnection, not a replica that cannot keep up.
		ro, err := r.offset()
		if err != nil {
			return nil, err
		}
		err = poll(60*time.Second, 100*time.Microsecond, "replica following the load", func() (bool, error) {
			po, err := p.offset()
			if err != nil {
				return false, err
			}
			cur, err := r.offset()
			return err == nil && cur >= ro+1<<20 && po-cur <= 1<<20, err
		})
		if err != nil {
			return nil, err
		}
		if err := r.client.Do(ctx, "client", "kill", "type", "master").Err(); err != nil {
			return nil, err
		}
		start := time.Now()
		target, err := p.offset()
		if err != nil {
			return nil, err
		}
		err = poll(60*time.Second, 100*time.Microsecond, "replica caught up after a kill", func() (bool, error) {
			ok, err := r.synced()
			if !ok || err != nil {
				return false, err
			}
			cur, err := r.offset()
			return cur >= target, err
		})
		if err != nil {
			return nil, err
		}
		took = append(took, time.Since(start))
	}
	stop()
	full1, partial1, err := p.syncCounts()
	if err != nil {
		return nil, err
	}
	ms := time.Millisecond
	return values{"med": took.pct(50, ms), "max": took.max(ms),
		"full": float64(full1 - full0), "partial": float64(partial1 - partial0)}, nil
}
