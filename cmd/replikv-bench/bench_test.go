package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/replikv/replikv/internal/redistest"
)

// TestQuick runs the whole -quick mode, as CI does, and checks that the
// JSON has every scenario with a figure for every row: replikv's, and
// Redis's where the scenario measures Redis. It asserts no timings.
func TestQuick(t *testing.T) {
	redistest.Require(t, "redis-server")
	redistest.Require(t, "redis-benchmark")
	if testing.Short() {
		t.Skip("the quick run takes about a minute")
	}
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-quick", "-out", out}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	t.Logf("\n%s", stdout.String())
	b, err := os.ReadFile(filepath.Join(out, "bench.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Mode != "quick" || rep.Runs != 1 {
		t.Errorf("mode %q runs %d", rep.Mode, rep.Runs)
	}
	want := scenarios(quickSizes)
	if len(rep.Scenarios) != len(want) {
		t.Fatalf("%d scenarios in the JSON, want %d", len(rep.Scenarios), len(want))
	}
	for i, sc := range want {
		got := rep.Scenarios[i]
		if got.ID != sc.id || got.Error != "" {
			t.Errorf("scenario %d: %s, error %q; want %s without error", i, got.ID, got.Error, sc.id)
			continue
		}
		if len(got.Metrics) != len(sc.metrics) {
			t.Errorf("%s: %d rows, want %d", sc.id, len(got.Metrics), len(sc.metrics))
			continue
		}
		for j, m := range sc.metrics {
			g := got.Metrics[j]
			sane(t, sc.id+" "+m.name+" (replikv)", g.Unit, g.Replikv)
			if m.redisKey != "-" {
				sane(t, sc.id+" "+m.name+" (Redis)", g.Unit, g.Redis)
			}
		}
	}
	md, err := os.ReadFile(filepath.Join(out, "bench.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range want {
		if !strings.Contains(string(md), "| "+sc.id+" |") {
			t.Errorf("bench.md has no row of %s", sc.id)
		}
	}
}

// sane checks that a figure is there and finite, not negative, and
// positive for rates, times and sizes.
func sane(t *testing.T, what, unit string, v *float64) {
	t.Helper()
	switch {
	case v == nil:
		t.Errorf("%s: no figure", what)
	case math.IsNaN(*v) || math.IsInf(*v, 0) || *v < 0:
		t.Errorf("%s: %v", what, *v)
	case *v == 0 && unit != "" && unit != "MiB" && unit != "%":
		t.Errorf("%s: 0 %s", what, unit)
	}
}

// TestPick: scenario selection by name.
func TestPick(t *testing.T) {
	got, err := pick("s1, S4", quickSizes)
	if err != nil || len(got) != 2 || got[0].id != "S1" || got[1].id != "S4" {
		t.Fatalf("pick: %v %v", got, err)
	}
	if _, err := pick("S10", quickSizes); err == nil {
		t.Fatal("pick S10: no error")
	}
}

// TestMedian: medians of odd and even counts, and a missing key.
func TestMedian(t *testing.T) {
	runs := []values{{"a": 3}, {"a": 1}, {"a": 2, "b": 5}}
	if m, _, ok := median(runs, "a"); !ok || m != 2 {
		t.Errorf("median a = %v %v", m, ok)
	}
	if m, _, ok := median(runs[:2], "a"); !ok || m != 2 {
		t.Errorf("median of 3, 1 = %v %v", m, ok)
	}
	if _, _, ok := median(runs[:2], "b"); ok {
		t.Error("median of a missing key")
	}
}

// TestBenchmarkOutput: the result line of redis-benchmark -q among its
// progress lines.
func TestBenchmarkOutput(t *testing.T) {
	out := "SET: rps=0.0 (overall: nan) avg_msec=nan (overall: nan)\r" +
		"SET: 123456.79 requests per second, p50=0.327 msec\n"
	m := rpsLine.FindAllStringSubmatch(out, -1)
	if len(m) != 1 || m[0][1] != "123456.79" {
		t.Fatalf("%q", m)
	}
}
