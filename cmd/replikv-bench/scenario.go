package main

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// values are the figures one run of a scenario measured on one system,
// by key.
type values map[string]float64

// metric is one row of the table.
type metric struct {
	key string // the value's key in the replikv run
	// redisKey is the key of the Redis figure in the Redis run: "" for
	// key, "-" when Redis has none.
	redisKey string
	name     string
	unit     string
	target   string
	// pass tells whether the replikv figure rk meets the target, beside
	// Redis's rd (NaN when Redis has none); nil when there is no target.
	pass func(rk, rd float64) bool
	// noRatio leaves the ratio out where it means nothing.
	noRatio bool
}

// scenario is one of the measurements.
type scenario struct {
	id, title string
	// run measures one system; it returns nil values for a system the
	// scenario does not measure.
	run     func(e *env, sys system) (values, error)
	metrics []metric
}

// sizes are the scenarios' parameters, small in -quick mode.
type sizes struct {
	s1Requests   int           // redis-benchmark SETs per S1 figure
	bigKeys      int           // "1M keys" of S4, S5, S6, P1
	s2Sets       int           // in-process Sets of S2
	s3Keys       int           // keys read in S3
	s3Gets       int           // timed reads of S3
	s6Idle       time.Duration // S6's idle phase
	s7Kills      int           // link kills of S7
	s8Duration   time.Duration // S8's load
	s9Bytes      int64         // bytes written while S9's replicas are frozen
	s9SettleWait time.Duration // how long S9 waits for the RSS to settle
	hit          hitSizes      // H1's (hitratio.go)
}

var fullSizes = sizes{
	s1Requests: 2_000_000, bigKeys: 1_000_000, s2Sets: 4_000_000, s3Keys: 100_000, s3Gets: 200_000,
	s6Idle: 3 * time.Second, s7Kills: 20, s8Duration: 10 * time.Second, s9Bytes: 600 << 20, s9SettleWait: 30 * time.Second,
	hit: fullHit,
}

var quickSizes = sizes{
	s1Requests: 50_000, bigKeys: 20_000, s2Sets: 200_000, s3Keys: 10_000, s3Gets: 20_000,
	s6Idle: 500 * time.Millisecond, s7Kills: 3, s8Duration: time.Second, s9Bytes: 24 << 20, s9SettleWait: 2 * time.Second,
	hit: quickHit,
}

// result is a scenario's outcome over every run.
type result struct {
	sc      *scenario
	replikv []values // one per run
	redis   []values
	err     error
}

// runScenario runs sc runs times on both systems, alternating which goes
// first, and stops at the first error.
func (e *env) runScenario(sc *scenario, runs int) *result {
	r := &result{sc: sc}
	for i := range runs {
		order := []system{sysReplikv, sysRedis}
		if i%2 == 1 {
			order = []system{sysRedis, sysReplikv}
		}
		for _, sys := range order {
			e.logf("%s run %d/%d: %s", sc.id, i+1, runs, sys)
			start := time.Now()
			v, err := sc.run(e, sys)
			if err != nil {
				r.err = fmt.Errorf("%s (%s, run %d): %w", sc.id, sys, i+1, err)
				return r
			}
			e.logf("%s run %d/%d: %s done in %v: %v", sc.id, i+1, runs, sys, time.Since(start).Round(time.Millisecond), v)
			if v == nil {
				continue
			}
			if sys == sysReplikv {
				r.replikv = append(r.replikv, v)
			} else {
				r.redis = append(r.redis, v)
			}
		}
	}
	return r
}

// median returns the median of key over runs, the samples, and whether
// any run had it.
func median(runs []values, key string) (float64, []float64, bool) {
	var s []float64
	for _, v := range runs {
		if x, ok := v[key]; ok {
			s = append(s, x)
		}
	}
	if len(s) == 0 {
		return math.NaN(), nil, false
	}
	c := slices.Clone(s)
	slices.Sort(c)
	m := c[len(c)/2]
	if len(c)%2 == 0 {
		m = (c[len(c)/2-1] + c[len(c)/2]) / 2
	}
	return m, s, true
}

// Targets, as the issue sets them.

// atLeastRedis: replikv ≥ f × Redis.
func atLeastRedis(f float64) func(rk, rd float64) bool {
	return func(rk, rd float64) bool { return rk >= f*rd }
}

// atMostRedis: replikv ≤ f × Redis.
func atMostRedis(f float64) func(rk, rd float64) bool {
	return func(rk, rd float64) bool { return rk <= f*rd }
}

// atLeast: replikv ≥ x.
func atLeast(x float64) func(rk, rd float64) bool {
	return func(rk, _ float64) bool { return rk >= x }
}

// atMost: replikv ≤ x.
func atMost(x float64) func(rk, rd float64) bool {
	return func(rk, _ float64) bool { return rk <= x }
}

// scenarios are every scenario, in order.
func scenarios(sz sizes) []*scenario {
	return []*scenario{s1(), s2(), s3(), s4(), s5(), s6(), s7(), s8(), s9(sz), h1(sz), p1()}
}
