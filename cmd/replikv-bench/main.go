// Command replikv-bench measures replikv beside redis-server on the same
// machine in the same run: it starts both itself (redis-server and
// redis-benchmark from PATH, replikv built from this repository), runs
// every scenario of issue 13 on both, alternating which goes first, and
// prints a table of replikv's figure, Redis's and their ratio, with the
// issue's target, also written as Markdown and JSON.
//
// Usage (from the repository):
//
//	go run ./cmd/replikv-bench [-quick] [-scenarios S1,S4] [-runs 3] [-out dir] [-replikv path]
//
// -quick uses small sizes so that every scenario runs in seconds (CI runs
// it to keep the harness working); the full run takes ten minutes or more.
// With -runs N each figure is the median of N runs. Every process the
// harness starts is ended on every exit path, SIGINT and SIGTERM included
// (and, on Linux, by the kernel if the harness is killed).
//
// How it measures, in short (each scenario's title in the table says what
// its figures are):
//   - Both servers run as separate processes on loopback ports with their
//     defaults, except: Redis saves nothing and its diskless full sync
//     starts at once (repl-diskless-sync-delay 0; S4 sets its own for four
//     replicas), and S1, S7 and S8 give both a 64 MB backlog.
//   - Replicas are pointed at their primary with REPLICAOF; a replica has
//     caught up when its slave_repl_offset equals the primary's
//     master_repl_offset, both read from INFO replication.
//   - RSS is VmRSS of /proc/pid/status (VmHWM for peaks); Redis's snapshot
//     child adds what it no longer shares with its parent (smaps_rollup).
//   - S2 and S3 use the library in this process (in-memory transport);
//     Redis has no in-process form, and S3 compares with a GET through
//     go-redis.
//   - The report carries the machine's load average: figures from a
//     machine busy with other work are flagged and not worth comparing.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// env is what the scenarios share: the programs, a scratch directory,
// the sizes, and the children to end.
type env struct {
	sizes
	tmp            string
	replikvBin     string
	redisServer    string
	redisBenchmark string
	procs          procs
	log            io.Writer
	hit            hitState // H1's traces and figures (hitratio.go)
}

// logf writes a progress line to the log (standard error).
func (e *env) logf(format string, args ...any) {
	fmt.Fprintf(e.log, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05.000")}, args...)...)
}

// run is the program; it returns the exit code: 0 when every scenario
// ran, 1 when one failed, 2 for a bad command line.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("replikv-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	quick := fs.Bool("quick", false, "small sizes: every scenario in seconds (CI)")
	only := fs.String("scenarios", "", "comma-separated scenarios to run (default all), e.g. S1,S4")
	runs := fs.Int("runs", 1, "runs of each scenario; figures are their medians")
	out := fs.String("out", ".", "directory for bench.md and bench.json")
	bin := fs.String("replikv", "", "replikv binary to use (default: built from this repository)")
	hitTarget := fs.String("hit-target", "replikv", "server in H1's replikv column: replikv, or redis to check the harness")
	cpuProfile := fs.String("cpuprofile", "", "write the harness process's CPU profile to this file (in-process scenarios S2 and S3)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *runs < 1 || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "replikv-bench: -runs must be ≥ 1 and no arguments are taken")
		return 2
	}
	redis.SetLogger(quietLogger{})
	e := &env{sizes: fullSizes, log: stderr}
	if *quick {
		e.sizes = quickSizes
	}
	if err := e.hit.init(*hitTarget, *runs); err != nil {
		fmt.Fprintln(stderr, "replikv-bench:", err)
		return 2
	}
	chosen, err := pick(*only, e.sizes)
	if err != nil {
		fmt.Fprintln(stderr, "replikv-bench:", err)
		return 2
	}
	// A signal ends the children before the harness goes.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer func() { signal.Stop(sig); close(sig) }()
	go func() {
		s, ok := <-sig
		if !ok {
			return
		}
		fmt.Fprintf(stderr, "replikv-bench: %v: ending the servers\n", s)
		e.cleanup()
		os.Exit(130)
	}()
	defer e.cleanup()
	if *cpuProfile != "" {
		stopProfile, err := startCPUProfile(*cpuProfile)
		if err != nil {
			fmt.Fprintln(stderr, "replikv-bench:", err)
			return 1
		}
		defer stopProfile()
	}
	if err := e.setup(*bin); err != nil {
		fmt.Fprintln(stderr, "replikv-bench:", err)
		return 1
	}

	rep := &report{Mode: map[bool]string{true: "quick", false: "full"}[*quick], Runs: *runs,
		Started: time.Now().UTC().Format(time.RFC3339), Machine: machine(), Redis: redisVersion(e.redisServer),
		LoadBefore: loadAverage()}
	start := time.Now()
	failed := false
	for _, sc := range chosen {
		r := e.runScenario(sc, *runs)
		if r.err != nil {
			failed = true
			e.logf("FAILED: %v", r.err)
		}
		rep.add(r)
	}
	rep.Seconds = time.Since(start).Seconds()
	rep.LoadAfter = loadAverage()
	rep.writeTable(stdout)
	if err := rep.save(*out); err != nil {
		fmt.Fprintln(stderr, "replikv-bench:", err)
		return 1
	}
	if err := e.hit.save(*out, stdout); err != nil {
		fmt.Fprintln(stderr, "replikv-bench:", err)
		return 1
	}
	if failed {
		return 1
	}
	return 0
}

// setup finds the programs, makes the scratch directory and builds
// replikv.
func (e *env) setup(bin string) error {
	var err error
	if e.redisServer, err = exec.LookPath("redis-server"); err != nil {
		return fmt.Errorf("redis-server not found (apt-get install redis-server): %v", err)
	}
	if e.redisBenchmark, err = exec.LookPath("redis-benchmark"); err != nil {
		return fmt.Errorf("redis-benchmark not found (apt-get install redis-tools): %v", err)
	}
	if e.tmp, err = os.MkdirTemp("", "replikv-bench-"); err != nil {
		return err
	}
	if bin != "" {
		e.replikvBin, err = filepath.Abs(bin)
		return err
	}
	e.logf("building replikv")
	e.replikvBin, err = buildReplikv(e.tmp)
	return err
}

// cleanup ends every child and removes the scratch directory.
func (e *env) cleanup() {
	e.procs.killAll()
	if e.tmp != "" {
		os.RemoveAll(e.tmp)
	}
}

// pick returns the scenarios named in a comma-separated list, or all.
func pick(list string, sz sizes) ([]*scenario, error) {
	all := scenarios(sz)
	if list == "" {
		return all, nil
	}
	var out []*scenario
	for _, id := range strings.Split(list, ",") {
		id = strings.ToUpper(strings.TrimSpace(id))
		found := false
		for _, sc := range all {
			if sc.id == id {
				out, found = append(out, sc), true
			}
		}
		if !found {
			return nil, errors.New("unknown scenario " + id)
		}
	}
	return out, nil
}

// redisVersion is redis-server --version's first line.
func redisVersion(path string) string {
	out, _ := exec.Command(path, "--version").Output()
	return strings.TrimSpace(string(out))
}

// machine describes the CPU and memory.
func machine() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	model, cpus := "", 0
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			model, cpus = strings.TrimSpace(v), cpus+1
		}
	}
	mem, _ := kbField("/proc/meminfo", "MemTotal")
	return fmt.Sprintf("%d × %s, %.0f GiB", cpus, model, float64(mem)/(1<<30))
}

// loadAverage is the 1-minute load average (the first field of
// /proc/loadavg), or 0 when unknown.
func loadAverage() float64 {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// quietLogger drops go-redis's own log lines (a dial refused while a
// server starts).
type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}
