package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sync/errgroup"
)

// s9: replicas frozen (SIGSTOP) while the primary takes a burst of writes
// (1 KB values over 10,000 keys written once before, so that the dataset
// does not grow and the stream is what does): the primary's peak RSS growth during the burst,
// and after it, with the replicas still frozen, the growth it settles at
// and when it comes within 64 MB of where it started. Default settings
// otherwise (1 MB backlogs; Redis's replica output buffer limit, replikv's
// ReplicaOutputLimits).
func s9(sz sizes) *scenario {
	wait := sz.s9SettleWait.Seconds()
	ms := []metric{}
	for _, k := range []int{1, 3} {
		ms = append(ms,
			metric{key: fmt.Sprint("peak", k), name: fmt.Sprintf("peak RSS growth, %d frozen", k), unit: "MiB",
				target: "≤1.0× Redis", pass: atMostRedis(1)},
			metric{key: fmt.Sprint("settled", k), name: fmt.Sprintf("settled RSS growth, %d frozen", k), unit: "MiB",
				target: "≤64", pass: atMost(64)},
			metric{key: fmt.Sprint("settle", k), name: fmt.Sprintf("time to ≤ +64 MiB, %d frozen (%.0f: never)", k, wait), unit: "s",
				target: "≤30", noRatio: true, pass: func(rk, _ float64) bool { return rk <= 30 && rk < wait }},
		)
	}
	return &scenario{
		id:      "S9",
		title:   "frozen replicas (SIGSTOP) under a burst of writes: the primary's RSS",
		run:     runS9,
		metrics: ms,
	}
}

func runS9(e *env, sys system) (values, error) {
	v := values{}
	for _, k := range []int{1, 3} {
		peak, settled, settle, err := e.frozen(sys, k)
		if err != nil {
			return nil, err
		}
		v[fmt.Sprint("peak", k)], v[fmt.Sprint("settled", k)] = mb(peak), mb(settled)
		v[fmt.Sprint("settle", k)] = settle.Seconds()
	}
	return v, nil
}

// settledAt is the growth over the starting RSS at which the primary has
// settled.
const settledAt = 64 << 20

// frozen runs the burst with k frozen replicas of a primary of sys and
// returns the peak and settled RSS growth and the time to settle (the
// whole wait when it did not).
func (e *env) frozen(sys system, k int) (peak, settled int64, settle time.Duration, err error) {
	p, rs, stop, err := e.group(sys, k) // stop thaws the frozen replicas as it kills them
	defer stop()
	if err != nil {
		return 0, 0, 0, err
	}
	// The burst's keys exist before it, so that it grows no dataset.
	if err := burst(p, burstKeys*burstValue); err != nil {
		return 0, 0, 0, err
	}
	if _, err := waitCaughtUp(60*time.Second, p, rs...); err != nil {
		return 0, 0, 0, err
	}
	for _, r := range rs {
		if err := r.freeze(); err != nil {
			return 0, 0, 0, err
		}
	}
	base, err := p.rss()
	if err != nil {
		return 0, 0, 0, err
	}
	if err := p.resetPeakRSS(); err != nil {
		e.logf("S9: cannot reset VmHWM (%v); sampling only", err)
	}
	// Sample the RSS through the burst as well as reading VmHWM after it.
	sampled := base // read once sampling is closed
	stopSampling := make(chan struct{})
	sampling := make(chan struct{})
	go func() {
		defer close(sampling)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stopSampling:
				return
			case <-t.C:
				if r, err := p.rss(); err == nil {
					sampled = max(sampled, r)
				}
			}
		}
	}()
	err = burst(p, e.s9Bytes)
	close(stopSampling)
	<-sampling
	if err != nil {
		return 0, 0, 0, err
	}
	end := time.Now()
	cur := base
	err = poll(e.s9SettleWait, 100*time.Millisecond, "settle", func() (bool, error) {
		var err error
		cur, err = p.rss()
		sampled = max(sampled, cur)
		return cur-base <= settledAt, err
	})
	settle = time.Since(end)
	if errors.Is(err, errTimeout) {
		err = nil // not settled: the figures say so
	}
	if err != nil {
		return 0, 0, 0, err
	}
	// The peak is the highest RSS from the burst's start to the end of
	// the wait: the primary may still be growing once the writes stop.
	hwm, err := p.peakRSS()
	if err != nil {
		return 0, 0, 0, err
	}
	return max(hwm, sampled) - base, cur - base, settle, nil
}

// The burst's keys and the size of their values.
const burstKeys, burstValue = 10_000, 1000

// burst writes about bytes of SETs (1,000-byte values over 10,000 keys,
// in order from the first) to p through pipelines on 2 connections.
func burst(p *node, bytes int64) error {
	const keys, batch, conns = burstKeys, 500, 2
	n := int(bytes / burstValue)
	val := benchValue(3, burstValue)
	g, ctx := errgroup.WithContext(context.Background())
	for c := range conns {
		g.Go(func() error {
			pipe := p.client.Pipeline()
			for i := c; i < n; i += conns {
				pipe.Set(ctx, fmt.Sprintf("burst:%d", i%keys), val, 0)
				if pipe.Len() == batch {
					if _, err := pipe.Exec(ctx); err != nil {
						return err
					}
				}
			}
			_, err := pipe.Exec(ctx)
			return err
		})
	}
	return g.Wait()
}
