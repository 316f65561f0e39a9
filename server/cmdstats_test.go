package server

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/replikv/replikv"
	"github.com/replikv/replikv/resp"
)

// TestLatencyHistogram checks the buckets: every duration falls in a
// bucket whose bounds hold it, at most 12.5% wide, in order.
func TestLatencyHistogram(t *testing.T) {
	prev := int64(-1)
	for i := range histBuckets {
		up := histUpper(i)
		if up <= prev {
			t.Fatalf("bucket %d ends at %d, the one before at %d", i, up, prev)
		}
		if low := prev + 1; low >= 8 && float64(up-low+1) > float64(low)/8+1 {
			t.Fatalf("bucket %d [%d, %d] too wide", i, low, up)
		}
		for _, ns := range []int64{prev + 1, up} {
			if got := histBucket(ns); got != i {
				t.Fatalf("%d ns in bucket %d, want %d", ns, got, i)
			}
		}
		prev = up
	}
	if histBucket(-5) != 0 || histBucket(1<<62) != histBuckets-1 {
		t.Error("out-of-range durations not clamped")
	}
	var h latencyHist
	for i := 1; i <= 1000; i++ {
		h.record(time.Duration(i) * time.Microsecond)
	}
	counts, total := h.snapshot()
	for _, tc := range []struct {
		pct  float64
		want time.Duration
	}{{50, 500 * time.Microsecond}, {99, 990 * time.Microsecond}, {99.9, 999 * time.Microsecond}} {
		got := time.Duration(percentile(counts, total, tc.pct))
		if got < tc.want || float64(got) > float64(tc.want)*1.125 {
			t.Errorf("p%v = %v, want about %v", tc.pct, got, tc.want)
		}
	}
}

// TestCommandStats checks INFO commandstats, errorstats, latencystats and
// CONFIG RESETSTAT: calls, failed calls (run, error reply) and rejected
// calls (refused before running: arity, NOAUTH).
func TestCommandStats(t *testing.T) {
	n := startNode(t, replikv.Config{}, Config{})
	r := n.raw(t)
	r.expect([]exchange{
		{[]string{"SET", "k", "v"}, "+OK"},
		{[]string{"GET", "k"}, `"v"`},
		{[]string{"GET", "k"}, `"v"`},
		{[]string{"INCR", "k"}, "-ERR value is not an integer or out of range"},
		{[]string{"GET"}, "-ERR wrong number of arguments for 'get' command"},
		{[]string{"NOPE"}, "-ERR unknown command 'NOPE', with args beginning with: "},
		{[]string{"CLIENT", "KILL", "USER", "x"}, "-ERR No such user 'x'"},
		{[]string{"AUTH", "a", "b"}, "-WRONGPASS invalid username-password pair or user is disabled."},
		{[]string{"CONFIG", "SET", "requirepass", "pw"}, "+OK"},
	})
	other := n.raw(t)
	other.expect([]exchange{{[]string{"GET", "k"}, "-NOAUTH Authentication required."}})
	info := r.bulk("INFO", "commandstats")
	for name, want := range map[string]string{
		"cmdstat_set":         "calls=1,rejected_calls=0,failed_calls=0",
		"cmdstat_get":         "calls=2,rejected_calls=2,failed_calls=0",
		"cmdstat_incr":        "calls=1,rejected_calls=0,failed_calls=1",
		"cmdstat_client|kill": "calls=1,rejected_calls=0,failed_calls=1",
		"cmdstat_auth":        "calls=1,rejected_calls=0,failed_calls=1",
	} {
		got := infoField(info, name)
		m := regexp.MustCompile(`^calls=(\d+),usec=(\d+),usec_per_call=(\d+\.\d\d),rejected_calls=(\d+),failed_calls=(\d+)$`).FindStringSubmatch(got)
		if m == nil || "calls="+m[1]+",rejected_calls="+m[4]+",failed_calls="+m[5] != want {
			t.Errorf("%s:%s, want %s", name, got, want)
		}
	}
	if strings.Contains(info, "nope") {
		t.Errorf("an unknown command in commandstats: %s", info)
	}
	errs := r.bulk("INFO", "errorstats")
	for name, want := range map[string]string{"errorstat_ERR": "count=4", "errorstat_WRONGPASS": "count=1", "errorstat_NOAUTH": "count=1"} {
		if got := infoField(errs, name); got != want {
			t.Errorf("%s:%s, want %s", name, got, want)
		}
	}
	if got := infoField(r.bulk("INFO", "stats"), "total_error_replies"); got != "6" {
		t.Errorf("total_error_replies:%s, want 6", got)
	}
	lat := r.bulk("INFO", "latencystats")
	re := regexp.MustCompile(`^p50=(\d+\.\d{3}),p99=(\d+\.\d{3}),p99\.9=(\d+\.\d{3})$`)
	for _, name := range []string{"set", "get", "incr", "client|kill", "config|set"} {
		m := re.FindStringSubmatch(infoField(lat, "latency_percentiles_usec_"+name))
		if m == nil {
			t.Errorf("latency_percentiles_usec_%s missing or malformed in %q", name, lat)
			continue
		}
		p50, _ := strconv.ParseFloat(m[1], 64)
		p999, _ := strconv.ParseFloat(m[3], 64)
		if p50 <= 0 || p999 < p50 {
			t.Errorf("latency_percentiles_usec_%s: %s", name, m[0])
		}
	}
	r.expect([]exchange{{[]string{"CONFIG", "RESETSTAT"}, "+OK"}})
	for _, sec := range []string{"commandstats", "errorstats", "latencystats"} {
		got := r.bulk("INFO", sec)
		// Only CONFIG RESETSTAT itself (counted once done, as in Redis)
		// and the INFO commands since count after the reset.
		for _, line := range strings.Split(strings.TrimSpace(got), "\r\n")[1:] {
			if !strings.Contains(line, "_config|resetstat:") && !strings.Contains(line, "_info:") {
				t.Errorf("INFO %s after CONFIG RESETSTAT: %q", sec, got)
			}
		}
	}
}

// TestInfoCPU checks INFO cpu: Redis's six fields, seconds with six
// decimals, and the process's time growing as it works.
func TestInfoCPU(t *testing.T) {
	n := startNode(t, replikv.Config{}, Config{})
	r := n.raw(t)
	read := func() map[string]float64 {
		info := r.bulk("INFO", "cpu")
		out := map[string]float64{}
		for _, f := range []string{"used_cpu_sys", "used_cpu_user", "used_cpu_sys_children", "used_cpu_user_children",
			"used_cpu_sys_main_thread", "used_cpu_user_main_thread"} {
			v := infoField(info, f)
			if !regexp.MustCompile(`^\d+\.\d{6}$`).MatchString(v) {
				t.Fatalf("%s:%q in %q", f, v, info)
			}
			out[f], _ = strconv.ParseFloat(v, 64)
		}
		return out
	}
	before := read()
	deadline := time.Now().Add(10 * time.Second)
	for {
		x := 0
		for i := range 1 << 22 {
			x += i * i
		}
		_ = x
		after := read()
		if after["used_cpu_user"]+after["used_cpu_sys"] > before["used_cpu_user"]+before["used_cpu_sys"] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("CPU time did not grow: %v then %v", before, after)
		}
	}
}

// bulk sends a command and returns its bulk string reply's text.
func (r *rawConn) bulk(args ...string) string {
	r.t.Helper()
	r.send(args...)
	r.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	v, err := r.rd.ReadReply()
	if err != nil || v.Kind != resp.KindBulk {
		r.t.Fatalf("%q: %v, %v; want a bulk string", args, v, err)
	}
	return string(v.Str)
}
