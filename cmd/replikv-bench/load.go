package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// The reference dataset: 16-byte keys, 64-byte random values (random so
// that Redis's RDB compression gains nothing that real data would not
// give it).
func benchKey(i int) string { return fmt.Sprintf("key:%012d", i) }

// benchValue returns the value of key i: size bytes from a PRNG seeded
// with i.
func benchValue(i, size int) []byte {
	rng := rand.New(rand.NewPCG(uint64(i), 42))
	v := make([]byte, size)
	for j := 0; j < size; j += 8 {
		var w [8]byte
		binary.LittleEndian.PutUint64(w[:], rng.Uint64())
		copy(v[j:], w[:])
	}
	return v
}

// fill writes keys [0, n) of the reference dataset to node through
// pipelines on 4 connections.
func fill(n *node, keys int) error {
	const conns, batch = 4, 2000
	g, ctx := errgroup.WithContext(context.Background())
	for c := range conns {
		g.Go(func() error {
			pipe := n.client.Pipeline()
			for i := c; i < keys; i += conns {
				pipe.Set(ctx, benchKey(i), benchValue(i, 64), 0)
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
	if err := g.Wait(); err != nil {
		return fmt.Errorf("%s: loading %d keys: %w", n.name, keys, err)
	}
	got, err := n.client.DBSize(context.Background()).Result()
	if err != nil || got != int64(keys) {
		return fmt.Errorf("%s: DBSIZE %d after loading %d keys (%v)", n.name, got, keys, err)
	}
	return nil
}

// rpsLine matches redis-benchmark's -q result line.
var rpsLine = regexp.MustCompile(`SET: ([0-9.]+) requests per second`)

// benchmarkSet runs redis-benchmark's SET test against n (requests,
// random keys over a million, 64-byte values, 50 connections, 16-deep
// pipelines) and returns its requests per second.
func (e *env) benchmarkSet(n *node, requests int) (float64, error) {
	cmd := exec.Command(e.redisBenchmark, "-h", "127.0.0.1", "-p", strconv.Itoa(n.port),
		"-t", "set", "-n", strconv.Itoa(requests), "-r", "1000000", "-d", "64", "-c", "50", "-P", "16", "-q")
	cmd.SysProcAttr = childAttr()
	out, err := e.output(cmd)
	if err != nil {
		return 0, fmt.Errorf("redis-benchmark: %v: %s", err, out)
	}
	m := rpsLine.FindAllSubmatch(out, -1)
	if m == nil {
		return 0, fmt.Errorf("redis-benchmark: no result in %q", out)
	}
	return strconv.ParseFloat(string(m[len(m)-1][1]), 64)
}

// output runs cmd as a tracked child and returns its standard output.
func (e *env) output(cmd *exec.Cmd) ([]byte, error) {
	var out, errb limitedBuffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	<-e.procs.track(cmd)
	if !cmd.ProcessState.Success() {
		return append(out.b, errb.b...), fmt.Errorf("%s", cmd.ProcessState)
	}
	return out.b, nil
}

// limitedBuffer keeps the last 64 KiB written to it (redis-benchmark
// rewrites its progress line many times).
type limitedBuffer struct{ b []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.b = append(l.b, p...)
	if len(l.b) > 64<<10 {
		l.b = slices.Clone(l.b[len(l.b)-64<<10:])
	}
	return len(p), nil
}

// load runs redis-benchmark's SET test on n without end (as fast as the
// server takes it) until the returned function is called.
func (e *env) load(n *node) (stop func(), err error) {
	cmd := exec.Command(e.redisBenchmark, "-h", "127.0.0.1", "-p", strconv.Itoa(n.port),
		"-t", "set", "-n", "2000000000", "-r", "1000000", "-d", "64", "-c", "50", "-P", "16", "-q")
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done := e.procs.track(cmd)
	var once sync.Once
	return func() {
		once.Do(func() {
			kill(cmd.Process.Pid)
			<-done
		})
	}, nil
}

// samples collects durations and reports their percentiles.
type samples []time.Duration

// pct returns the p-th percentile (0 ≤ p ≤ 100) in the unit u, or 0 when
// there are no samples.
func (s samples) pct(p float64, u time.Duration) float64 {
	if len(s) == 0 {
		return 0
	}
	c := slices.Clone(s)
	slices.Sort(c)
	i := min(int(float64(len(c))*p/100), len(c)-1)
	return float64(c[i]) / float64(u)
}

// max returns the largest sample in the unit u.
func (s samples) max(u time.Duration) float64 { return s.pct(100, u) }

// mb is bytes in MiB.
func mb(b int64) float64 { return float64(b) / (1 << 20) }

// errSlow reports something that took past its generous deadline.
type errSlow string

func (e errSlow) Error() string { return string(e) + ": past its deadline" }
