package server

import (
	"strings"
	"testing"
	"time"

	"github.com/replikv/replikv"
)

// TestPendingStatsPublished: a client's command counters, kept back
// during a pipeline, are in INFO for a command later in the same pipeline
// and, once the pipeline's replies are written, for every other client;
// a pipeline of more distinct latency buckets than a client keeps loses
// no call.
func TestPendingStatsPublished(t *testing.T) {
	n := startNode(t, replikv.Config{}, Config{})
	a, b := n.raw(t), n.raw(t)
	a.send("SET", "k1", "v")
	a.send("SET", "k2", "v")
	a.send("INFO", "commandstats")
	a.read()
	a.read()
	if info := a.read(); !strings.Contains(info, "cmdstat_set:calls=2,") {
		t.Errorf("INFO in the pipeline after two SETs:\n%s", info)
	}
	if info := b.do("INFO", "commandstats"); !strings.Contains(info, "cmdstat_set:calls=2,") || !strings.Contains(info, "cmdstat_info:calls=1,") {
		t.Errorf("INFO of another client after the pipeline:\n%s", info)
	}
}

// TestPendingStatsManyBuckets: calls landing in more latency buckets than
// a client keeps apart, and more calls than it keeps back, are all
// counted, each in its bucket.
func TestPendingStatsManyBuckets(t *testing.T) {
	s := &Server{cmdStats: newCommandStats()}
	c := &client{s: s}
	get := commands["get"]
	var want latencyHist
	total, nanos := 0, int64(0)
	for i := range 3000 {
		d := time.Duration(1 + i%37*i%1000*1000) // many buckets, in no order
		c.noteCall(get, d, i%7 == 0)
		want[histBucket(int64(d))].Add(1)
		total++
		nanos += int64(d)
	}
	c.publishStats()
	st := &s.cmdStats.byCmd[get.idx]
	if st.calls.Load() != int64(total) || st.nanos.Load() != nanos || s.stats.commands.Load() != int64(total) {
		t.Fatalf("calls %d nanos %d commands %d, want %d, %d, %d", st.calls.Load(), st.nanos.Load(), s.stats.commands.Load(), total, nanos, total)
	}
	if st.failed.Load() != int64((total+6)/7) {
		t.Errorf("failed %d, want %d", st.failed.Load(), (total+6)/7)
	}
	h := st.hist.Load()
	for i := range want {
		if h[i].Load() != want[i].Load() {
			t.Fatalf("bucket %d: %d calls, want %d", i, h[i].Load(), want[i].Load())
		}
	}
}
