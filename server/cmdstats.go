package server

import (
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// commandStats are a server's per-command counters, for INFO
// commandstats, latencystats and errorstats. Recording a call costs a few
// atomic additions on the command's own counters (and a clock reading
// around it); nothing is locked.
type commandStats struct {
	byCmd []cmdStats // by command.idx
	errs  errorStats
}

// monoEpoch is the origin of monoNow.
var monoEpoch = time.Now()

// monoNow reads the monotonic clock only (time.Now reads the wall clock
// too, as dear again on a VM): the time a command takes is the difference
// of two readings.
func monoNow() time.Duration { return time.Since(monoEpoch) }

// cmdStats are the counters of one command table entry.
type cmdStats struct {
	calls    atomic.Int64 // executed
	rejected atomic.Int64 // refused before running: arity, NOAUTH, READONLY …
	failed   atomic.Int64 // executed, replied with an error
	nanos    atomic.Int64 // time spent executing
	hist     atomic.Pointer[latencyHist]
}

func newCommandStats() *commandStats {
	return &commandStats{byCmd: make([]cmdStats, numCommands)}
}

// called records an execution of cmd that took d.
func (cs *commandStats) called(cmd *command, d time.Duration, failed bool) {
	st := &cs.byCmd[cmd.idx]
	st.calls.Add(1)
	st.nanos.Add(int64(d))
	if failed {
		st.failed.Add(1)
	}
	st.histogram().record(d)
}

// histogram returns the command's latency histogram, made at the first
// call since the start or CONFIG RESETSTAT.
func (st *cmdStats) histogram() *latencyHist {
	h := st.hist.Load()
	if h == nil {
		st.hist.CompareAndSwap(nil, new(latencyHist))
		h = st.hist.Load()
	}
	return h
}

// rejectedCall records a call of cmd refused before it ran.
func (cs *commandStats) rejectedCall(cmd *command) { cs.byCmd[cmd.idx].rejected.Add(1) }

// reset zeroes every counter (CONFIG RESETSTAT).
func (cs *commandStats) reset() {
	for i := range cs.byCmd {
		st := &cs.byCmd[i]
		st.calls.Store(0)
		st.rejected.Store(0)
		st.failed.Store(0)
		st.nanos.Store(0)
		st.hist.Store(nil)
	}
	cs.errs.reset()
}

// used returns the commands of table (subcommands included) that were
// called or rejected, by name.
func (cs *commandStats) used(table map[string]*command) []*command {
	var out []*command
	seen := make(map[*command]bool)
	var visit func(c *command)
	visit = func(c *command) {
		if seen[c] {
			return
		}
		seen[c] = true
		st := &cs.byCmd[c.idx]
		if st.calls.Load() > 0 || st.rejected.Load() > 0 || st.failed.Load() > 0 {
			out = append(out, c)
		}
		for _, sub := range c.subs {
			visit(sub)
		}
	}
	for _, c := range table {
		visit(c)
	}
	slices.SortFunc(out, func(a, b *command) int { return strings.Compare(a.name, b.name) })
	return out
}

// infoCommandStats writes INFO's Commandstats section: Redis's
// cmdstat_<name>:calls=…,usec=…,usec_per_call=…,rejected_calls=…,failed_calls=…
func (s *Server) infoCommandStats(b *infoBuilder) {
	b.section("Commandstats")
	for _, c := range s.cmdStats.used(s.commands) {
		st := &s.cmdStats.byCmd[c.idx]
		calls, usec := st.calls.Load(), st.nanos.Load()/1000
		perCall := 0.0
		if calls > 0 {
			perCall = float64(usec) / float64(calls)
		}
		b.field("cmdstat_"+c.name, "calls="+strconv.FormatInt(calls, 10)+
			",usec="+strconv.FormatInt(usec, 10)+
			",usec_per_call="+strconv.FormatFloat(perCall, 'f', 2, 64)+
			",rejected_calls="+strconv.FormatInt(st.rejected.Load(), 10)+
			",failed_calls="+strconv.FormatInt(st.failed.Load(), 10))
	}
}

// infoLatencyStats writes INFO's Latencystats section: Redis's
// latency_percentiles_usec_<name>:p50=…,p99=…,p99.9=… for every command
// called since the start or CONFIG RESETSTAT.
func (s *Server) infoLatencyStats(b *infoBuilder) {
	b.section("Latencystats")
	for _, c := range s.cmdStats.used(s.commands) {
		h := s.cmdStats.byCmd[c.idx].hist.Load()
		if h == nil {
			continue
		}
		counts, total := h.snapshot()
		if total == 0 {
			continue
		}
		var v strings.Builder
		for i, p := range []struct {
			name string
			pct  float64
		}{{"p50", 50}, {"p99", 99}, {"p99.9", 99.9}} {
			if i > 0 {
				v.WriteByte(',')
			}
			v.WriteString(p.name + "=" + strconv.FormatFloat(float64(percentile(counts, total, p.pct))/1000, 'f', 3, 64))
		}
		b.field("latency_percentiles_usec_"+c.name, v.String())
	}
}

// latencyHist is a log-linear histogram of durations in nanoseconds:
// exact below 8 ns, then 8 buckets per power of two (at most 12.5% wide),
// up to 2⁴⁵ ns (about 9.8 hours; longer is counted there). Recording is
// one atomic addition.
type latencyHist [histBuckets]atomic.Int64

const (
	histSubBits = 3
	histSub     = 1 << histSubBits
	histMaxExp  = 44 // the highest power of two with buckets of its own
	histBuckets = (histMaxExp-histSubBits+1)<<histSubBits + histSub
)

// histBucket returns the bucket of a duration of ns nanoseconds.
func histBucket(ns int64) int {
	if ns < histSub {
		return int(max(ns, 0))
	}
	e := bits.Len64(uint64(ns)) - 1 // ≥ histSubBits
	if e > histMaxExp {
		return histBuckets - 1
	}
	return (e-histSubBits+1)<<histSubBits + int(ns>>(e-histSubBits))&(histSub-1)
}

// histUpper returns the highest duration, in nanoseconds, bucket i holds.
func histUpper(i int) int64 {
	if i < histSub {
		return int64(i)
	}
	e := i>>histSubBits + histSubBits - 1
	m := int64(i & (histSub - 1))
	return (histSub+m+1)<<(e-histSubBits) - 1
}

func (h *latencyHist) record(d time.Duration) { h[histBucket(int64(d))].Add(1) }

// snapshot returns the buckets' counts and their sum.
func (h *latencyHist) snapshot() (counts [histBuckets]int64, total int64) {
	for i := range h {
		counts[i] = h[i].Load()
		total += counts[i]
	}
	return counts, total
}

// percentile returns the highest duration of the bucket holding the
// pct-th percentile of the total recorded durations.
func percentile(counts [histBuckets]int64, total int64, pct float64) int64 {
	rank := int64(float64(total)*pct/100 + 0.5)
	rank = min(max(rank, 1), total)
	var cum int64
	for i, n := range counts {
		cum += n
		if cum >= rank {
			return histUpper(i)
		}
	}
	return histUpper(histBuckets - 1)
}

// maxErrorCodes is how many distinct error codes errorstats tracks, as
// Redis (128); the replies of others still count in total_error_replies.
const maxErrorCodes = 128

// errorStats counts error replies by code, the first word of the error
// ("ERR", "WRONGPASS", "NOAUTH" …), for INFO errorstats.
type errorStats struct {
	mu     sync.Mutex
	counts map[string]int64
}

// count records an error reply with text msg.
func (e *errorStats) count(msg string) {
	code, _, _ := strings.Cut(msg, " ")
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.counts[code]; !ok {
		if len(e.counts) >= maxErrorCodes {
			return
		}
		if e.counts == nil {
			e.counts = make(map[string]int64)
		}
		code = strings.Clone(code)
	}
	e.counts[code]++
}

func (e *errorStats) reset() {
	e.mu.Lock()
	e.counts = nil
	e.mu.Unlock()
}

// infoErrorStats writes INFO's Errorstats section: errorstat_<code>:count=…
// by code.
func (s *Server) infoErrorStats(b *infoBuilder) {
	e := &s.cmdStats.errs
	e.mu.Lock()
	codes := make([]string, 0, len(e.counts))
	for c := range e.counts {
		codes = append(codes, c)
	}
	counts := make(map[string]int64, len(codes))
	for _, c := range codes {
		counts[c] = e.counts[c]
	}
	e.mu.Unlock()
	slices.Sort(codes)
	b.section("Errorstats")
	for _, c := range codes {
		b.field("errorstat_"+c, "count="+strconv.FormatInt(counts[c], 10))
	}
}
