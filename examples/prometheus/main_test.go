package main

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/replikv/replikv"
)

func TestCollector(t *testing.T) {
	s, err := replikv.New(replikv.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Set("a", []byte("1"))
	s.SetTTL("bb", []byte("22"), time.Hour)
	s.Get("a")
	s.Get("missing")

	c := NewCollector(s, nil)
	want := `
# HELP replikv_data_bytes Bytes of the keys and values held, without per-key overhead.
# TYPE replikv_data_bytes gauge
replikv_data_bytes 6
# HELP replikv_keys Keys held, counting expired keys not deleted yet (DBSIZE).
# TYPE replikv_keys gauge
replikv_keys 2
# HELP replikv_keys_with_deadline Keys held that have a deadline.
# TYPE replikv_keys_with_deadline gauge
replikv_keys_with_deadline 1
# HELP replikv_reads_total Reads by Get, AppendGet, View and Exists, by whether they found a live key.
# TYPE replikv_reads_total counter
replikv_reads_total{result="hit"} 1
replikv_reads_total{result="miss"} 1
# HELP replikv_role 1 for the store's current replication role, 0 for the others.
# TYPE replikv_role gauge
replikv_role{role="closed"} 0
replikv_role{role="failing-over"} 0
replikv_role{role="primary"} 1
replikv_role{role="replica"} 0
# HELP replikv_sets_total Keys written, through the API or applied from a primary.
# TYPE replikv_sets_total counter
replikv_sets_total 2
`
	names := []string{"replikv_data_bytes", "replikv_keys", "replikv_keys_with_deadline", "replikv_reads_total", "replikv_role", "replikv_sets_total"}
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), names...); err != nil {
		t.Fatal(err)
	}
	// Every series, each descriptor described once, names and help text
	// as the Prometheus conventions want them.
	if n := testutil.CollectAndCount(c); n != 14+len(roles) {
		t.Fatalf("collected %d series, want %d", n, 14+len(roles))
	}
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}
