package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/redis/go-redis/v9"
)

// H1: the hit ratio of a cache under maxmemory (issue 14, part 4).
//
// A cache-aside client (GET; on a miss, SET) replays each trace of
// trace.go against a fresh server of each system with the same
// maxmemory, once per eviction policy, and reports the hit ratio of the
// trace's second half (the first warms the cache up), the keys held
// (DBSIZE), evicted_keys (INFO stats), used_memory (INFO memory) and the
// server's RSS (VmRSS) at the end. Both servers take maxmemory and
// maxmemory-policy by CONFIG SET after they start, and keep every other
// setting at its default (Redis: maxmemory-samples 5, lfu-log-factor 10,
// lfu-decay-time 1).
//
// A policy counts as acting on maxmemory when CONFIG SET takes it and
// INFO memory then reports the maxmemory and the policy set; otherwise
// the run is recorded as unsupported, with the reason, and the trace is
// not replayed (a server that stores the setting but does not evict
// would score the hit ratio of unbounded memory).
//
// The volatile-* policies are left out: a cache-aside client sets no
// TTL, so under them no key can be evicted and a full server refuses
// writes as under noeviction.
//
// The client pipelines: it sends a batch of GETs, then, in trace order, a
// SET for the first miss of each key in the batch and a GET again for
// each later request of a key that missed earlier in the batch (which a
// client waiting for each reply would have sent after the SET). So the
// server sees each key's requests in the trace's order, though the
// batch's SETs come after its GETs of other keys.
//
// The scenario's rows in the main table are each trace's best policy per
// system (0 for a system no policy acts on); the full table, per trace
// and policy, goes to hitratio.md and hitratio.json and is printed after
// the main one.

// hitSizes are H1's parameters.
type hitSizes struct {
	keys      int   // the key space of the Zipf requests
	requests  int   // requests per trace; the second half is measured
	valueSize int   // bytes of every value
	maxMemory int64 // maxmemory of both servers
	// maxMemoryFor overrides maxMemory for a trace: one whose requests
	// all fit in maxMemory would test no eviction.
	maxMemoryFor map[string]int64
	batch        int // requests per pipeline
	traces       []traceSpec
	policies     []string
}

// In the full run, 32 MiB holds about 16 % of the million keys in Redis
// (≈ 200 bytes a key). Zipf 1.2's 2 million requests ask for only about
// 130,000 distinct keys, which 32 MiB would hold: it gets 8 MiB, about a
// quarter of them.
var fullHit = hitSizes{keys: 1_000_000, requests: 2_000_000, valueSize: 100, maxMemory: 32 << 20, batch: 200,
	maxMemoryFor: map[string]int64{traceZipf12.name: 8 << 20},
	traces:       []traceSpec{traceZipf08, traceZipf099, traceZipf12, traceScan},
	policies:     []string{"allkeys-lru", "allkeys-lfu", "allkeys-random"}}

var quickHit = hitSizes{keys: 20_000, requests: 30_000, valueSize: 100, maxMemory: 2 << 20, batch: 200,
	traces: []traceSpec{traceZipf099}, policies: []string{"allkeys-lru"}}

// maxMemoryOf is the maxmemory of trace.
func (hs hitSizes) maxMemoryOf(trace string) int64 {
	if m, ok := hs.maxMemoryFor[trace]; ok {
		return m
	}
	return hs.maxMemory
}

// hitFigures are one replay's outcome on one server.
type hitFigures struct {
	// Unsupported says why the server does not act on the maxmemory
	// and policy set; the other figures are then absent.
	Unsupported string  `json:"unsupported,omitempty"`
	HitPct      float64 `json:"hit_pct"`
	Keys        int64   `json:"keys"`
	Evicted     int64   `json:"evicted_keys"`
	RSSMiB      float64 `json:"rss_mib"`
	UsedMiB     float64 `json:"used_memory_mib"`
	// SetErrors counts SETs refused (an OOM error, say).
	SetErrors int64   `json:"set_errors"`
	Seconds   float64 `json:"seconds"`
	// Note flags a doubtful replay: a server that took the setting but
	// evicted nothing although the data written exceeds maxmemory.
	Note string `json:"note,omitempty"`
}

// hitKey names a cell of the table.
type hitKey struct{ trace, policy string }

// hitCell holds a cell's replays, one per run.
type hitCell struct{ rk, rd []hitFigures }

// hitState is what H1 keeps across its runs: the traces, generated once,
// and every replay's figures.
type hitState struct {
	// target is the server measured in the replikv column: replikv, or
	// redis-server to check the harness with Redis on both sides.
	target system
	runs   int
	sizes  hitSizes
	traces map[string][]uint32
	cells  map[hitKey]*hitCell
	order  []hitKey
}

// init takes the -hit-target flag and the number of runs.
func (h *hitState) init(target string, runs int) error {
	switch system(target) {
	case sysReplikv, sysRedis:
		h.target = system(target)
	default:
		return fmt.Errorf("-hit-target %q: want replikv or redis", target)
	}
	h.runs = runs
	return nil
}

// h1 is the scenario, with a row per trace and one of the policies that
// act.
func h1(sz sizes) *scenario {
	hs := sz.hit
	var ms []metric
	for _, tr := range hs.traces {
		ms = append(ms, metric{key: "best/" + tr.name, name: tr.name + ": hit % of the best policy", unit: "%",
			target: "≥1.0× Redis", pass: atLeastRedis(1)})
	}
	overrides := ""
	for _, tr := range hs.traces {
		if m, ok := hs.maxMemoryFor[tr.name]; ok {
			overrides += fmt.Sprintf(" (%s: %d MiB)", tr.name, m>>20)
		}
	}
	ms = append(ms, metric{key: "acting", name: fmt.Sprintf("policies acting on maxmemory (of %d)", len(hs.policies)),
		noRatio: true})
	return &scenario{
		id: "H1",
		title: fmt.Sprintf("hit ratio of a cache-aside client (GET, SET on a miss), %d keys of %d B, %d requests per trace "+
			"(second half measured), maxmemory %d MiB on both%s, policies %s; per trace, the best policy "+
			"(0 when none acts on maxmemory); every policy's figures are in hitratio.md",
			hs.keys, hs.valueSize, hs.requests, hs.maxMemory>>20, overrides, strings.Join(hs.policies, ", ")),
		run:     runH1,
		metrics: ms,
	}
}

func runH1(e *env, sys system) (values, error) {
	h, hs := &e.hit, e.sizes.hit
	if h.target == "" {
		h.target = sysReplikv
	}
	h.sizes = hs
	server := sys
	if sys == sysReplikv {
		server = h.target
	}
	v := values{}
	acting := map[string]bool{}
	for _, tr := range hs.traces {
		trace := h.trace(tr, hs)
		best := 0.0
		for _, p := range hs.policies {
			f, err := e.hitReplay(server, trace, hs.maxMemoryOf(tr.name), p)
			if err != nil {
				return nil, fmt.Errorf("%s, %s: %w", tr.name, p, err)
			}
			if f.Unsupported != "" {
				e.logf("H1 %s %s on %s: unsupported: %s", tr.name, p, server, f.Unsupported)
			} else {
				e.logf("H1 %s %s on %s: hit %.2f %%, %d keys, %d evicted, RSS %.1f MiB, %.1f s",
					tr.name, p, server, f.HitPct, f.Keys, f.Evicted, f.RSSMiB, f.Seconds)
				acting[p] = true
				best = max(best, f.HitPct)
			}
			h.record(sys, hitKey{tr.name, p}, f)
		}
		v["best/"+tr.name] = best
	}
	v["acting"] = float64(len(acting))
	return v, nil
}

// trace returns the trace of spec, generated on first use from a seed
// derived from its name.
func (h *hitState) trace(spec traceSpec, hs hitSizes) []uint32 {
	if t, ok := h.traces[spec.name]; ok {
		return t
	}
	if h.traces == nil {
		h.traces = map[string][]uint32{}
	}
	f := fnv.New64a()
	f.Write([]byte(spec.name))
	t := makeTrace(spec, hs.keys, hs.requests, f.Sum64())
	h.traces[spec.name] = t
	return t
}

// record keeps a replay's figures.
func (h *hitState) record(sys system, k hitKey, f hitFigures) {
	if h.cells == nil {
		h.cells = map[hitKey]*hitCell{}
	}
	c := h.cells[k]
	if c == nil {
		c = &hitCell{}
		h.cells[k] = c
		h.order = append(h.order, k)
	}
	if sys == sysReplikv {
		c.rk = append(c.rk, f)
	} else {
		c.rd = append(c.rd, f)
	}
}

// hitReplay starts a fresh server of sys, sets maxmemory and policy, and
// replays trace against it.
func (e *env) hitReplay(sys system, trace []uint32, maxMemory int64, policy string) (hitFigures, error) {
	hs := e.sizes.hit
	n, err := e.start(sys)
	if err != nil {
		return hitFigures{}, err
	}
	defer e.stop(n)
	why, err := setMaxMemory(n, maxMemory, policy)
	if err != nil || why != "" {
		return hitFigures{Unsupported: why}, err
	}
	start := time.Now()
	hits, setErrs, err := replay(n.addr(), trace, hs)
	if err != nil {
		return hitFigures{}, fmt.Errorf("%s: %w", n.name, err)
	}
	f := hitFigures{SetErrors: setErrs, Seconds: time.Since(start).Seconds()}
	f.HitPct = 100 * float64(hits) / float64(len(trace)-len(trace)/2)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if f.Keys, err = n.client.DBSize(ctx).Result(); err != nil {
		return hitFigures{}, fmt.Errorf("%s: DBSIZE: %w", n.name, err)
	}
	if f.Evicted, err = n.infoInt("stats", "evicted_keys"); err != nil {
		return hitFigures{}, err
	}
	used, err := n.infoInt("memory", "used_memory")
	if err != nil {
		return hitFigures{}, err
	}
	rss, err := n.rss()
	if err != nil {
		return hitFigures{}, err
	}
	f.UsedMiB, f.RSSMiB = mb(used), mb(rss)
	if f.Evicted == 0 && f.Keys*int64(hs.valueSize) > maxMemory {
		f.Note = "no key evicted, yet the values held exceed maxmemory"
	}
	return f, nil
}

// setMaxMemory sets maxmemory and maxmemory-policy on n by CONFIG SET and
// checks that INFO memory reports them. It returns why the server does
// not act on them ("" when it does); err is for a failure to ask.
func setMaxMemory(n *node, bytes int64, policy string) (why string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, kv := range [][2]string{{"maxmemory", strconv.FormatInt(bytes, 10)}, {"maxmemory-policy", policy}} {
		err := n.client.ConfigSet(ctx, kv[0], kv[1]).Err()
		var rerr redis.Error
		if errors.As(err, &rerr) {
			return fmt.Sprintf("CONFIG SET %s %s: %v", kv[0], kv[1], err), nil
		}
		if err != nil {
			return "", fmt.Errorf("%s: CONFIG SET %s: %w", n.name, kv[0], err)
		}
	}
	m, err := n.info("memory")
	if err != nil {
		return "", err
	}
	if m["maxmemory"] != strconv.FormatInt(bytes, 10) || m["maxmemory_policy"] != policy {
		return fmt.Sprintf("CONFIG SET took maxmemory %d and %s, but INFO memory says maxmemory %q, maxmemory_policy %q",
			bytes, policy, m["maxmemory"], m["maxmemory_policy"]), nil
	}
	return "", nil
}

// hitKeyLen is the length of a key: "key:" and 12 digits.
const hitKeyLen = 16

// appendHitKey appends the key of id to b.
func appendHitKey(b []byte, id uint32) []byte {
	b = append(b, "key:"...)
	var d [12]byte
	for i := len(d) - 1; i >= 0; i-- {
		d[i] = byte('0' + id%10)
		id /= 10
	}
	return append(b, d[:]...)
}

// hitValue is the value of every key: size bytes of printable noise.
func hitValue(size int) []byte {
	v := make([]byte, size)
	x := uint32(2463534242)
	for i := range v {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		v[i] = 'a' + byte(x%26)
	}
	return v
}

// replay runs trace against the server at addr as a cache-aside client
// in pipelines of hs.batch requests (see the top of this file), and
// returns the hits among the second half of the trace's requests and the
// SETs refused.
func replay(addr string, trace []uint32, hs hitSizes) (hits, setErrs int64, err error) {
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return 0, 0, err
	}
	defer conn.Close()
	c := &respConn{r: bufio.NewReaderSize(conn, 64<<10), w: bufio.NewWriterSize(conn, 64<<10)}
	value := hitValue(hs.valueSize)
	getCmd := []byte("*2\r\n$3\r\nGET\r\n$" + strconv.Itoa(hitKeyLen) + "\r\n")
	setCmd := []byte("*3\r\n$3\r\nSET\r\n$" + strconv.Itoa(hitKeyLen) + "\r\n")
	valHdr := []byte("\r\n$" + strconv.Itoa(len(value)) + "\r\n")
	measured := len(trace) / 2
	hit := make([]bool, hs.batch)
	type followUp struct {
		i   int // the request's index in the batch
		set bool
	}
	var follow []followUp
	setThisBatch := map[uint32]bool{}
	var kb []byte
	for off := 0; off < len(trace); off += hs.batch {
		batch := trace[off:min(off+hs.batch, len(trace))]
		if err := conn.SetDeadline(time.Now().Add(60 * time.Second)); err != nil {
			return 0, 0, err
		}
		for _, id := range batch {
			c.w.Write(getCmd)
			kb = appendHitKey(kb[:0], id)
			c.w.Write(kb)
			c.w.WriteString("\r\n")
		}
		if err := c.w.Flush(); err != nil {
			return 0, 0, err
		}
		for i := range batch {
			found, _, err := c.readReply()
			if err != nil {
				return 0, 0, fmt.Errorf("GET: %w", err)
			}
			hit[i] = found
		}
		follow = follow[:0]
		clear(setThisBatch)
		for i, id := range batch {
			if hit[i] {
				continue
			}
			kb = appendHitKey(kb[:0], id)
			if setThisBatch[id] {
				c.w.Write(getCmd)
				c.w.Write(kb)
				c.w.WriteString("\r\n")
				follow = append(follow, followUp{i: i})
				continue
			}
			setThisBatch[id] = true
			c.w.Write(setCmd)
			c.w.Write(kb)
			c.w.Write(valHdr)
			c.w.Write(value)
			c.w.WriteString("\r\n")
			follow = append(follow, followUp{i: i, set: true})
		}
		if len(follow) > 0 {
			if err := c.w.Flush(); err != nil {
				return 0, 0, err
			}
		}
		for _, f := range follow {
			found, isErr, err := c.readReply()
			if err != nil {
				return 0, 0, err
			}
			switch {
			case f.set && isErr:
				setErrs++
			case !f.set:
				hit[f.i] = found
			}
		}
		for i := range batch {
			if hit[i] && off+i >= measured {
				hits++
			}
		}
	}
	return hits, setErrs, nil
}

// respConn reads and writes RESP on a connection, as far as replay needs.
type respConn struct {
	r *bufio.Reader
	w *bufio.Writer
}

// readReply reads one reply and discards its content: found is true for
// a bulk string that is not nil (a GET that hit) and for a status reply;
// isErr for an error reply.
func (c *respConn) readReply() (found, isErr bool, err error) {
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return false, false, err
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return false, false, fmt.Errorf("bad reply line %q", line)
	}
	body := line[1 : len(line)-2]
	switch line[0] {
	case '+', ':':
		return true, false, nil
	case '-':
		return false, true, nil
	case '$':
		n, err := strconv.Atoi(string(body))
		if err != nil {
			return false, false, fmt.Errorf("bad bulk length %q", line)
		}
		if n < 0 {
			return false, false, nil
		}
		if _, err := c.r.Discard(n + 2); err != nil {
			return false, false, err
		}
		return true, false, nil
	}
	return false, false, fmt.Errorf("unexpected reply %q", line)
}

// The full table.

// hitReport is hitratio.json.
type hitReport struct {
	Keys       int   `json:"keys"`
	Requests   int   `json:"requests"`
	ValueBytes int   `json:"value_bytes"`
	MaxMemory  int64 `json:"maxmemory"`
	Pipeline   int   `json:"pipeline"`
	Runs       int   `json:"runs"`
	// ReplikvColumn is the server measured in the replikv column:
	// replikv, or redis-server with -hit-target redis.
	ReplikvColumn string       `json:"replikv_column"`
	Rows          []hitRowOut  `json:"rows"`
	Best          []hitBestOut `json:"best"`
}

// hitRowOut is a trace and policy: each system's figures (the medians of
// its runs) and the ratio of the hit ratios.
type hitRowOut struct {
	Trace       string       `json:"trace"`
	Policy      string       `json:"policy"`
	MaxMemory   int64        `json:"maxmemory"`
	Replikv     *hitFigures  `json:"replikv"`
	Redis       *hitFigures  `json:"redis"`
	Ratio       *float64     `json:"ratio"`
	ReplikvRuns []hitFigures `json:"replikv_runs,omitempty"`
	RedisRuns   []hitFigures `json:"redis_runs,omitempty"`
}

// hitBestOut is a trace's best policy on each system, and whether
// replikv's meets the target: at least Redis's best.
type hitBestOut struct {
	Trace         string   `json:"trace"`
	ReplikvPolicy string   `json:"replikv_policy,omitempty"`
	ReplikvHitPct *float64 `json:"replikv_hit_pct"`
	RedisPolicy   string   `json:"redis_policy,omitempty"`
	RedisHitPct   *float64 `json:"redis_hit_pct"`
	Ratio         *float64 `json:"ratio"`
	Pass          *bool    `json:"pass"`
}

// medianFigures is the median of each figure over runs, or the first
// run's reason when a run was unsupported; nil when there is none.
func medianFigures(runs []hitFigures) *hitFigures {
	if len(runs) == 0 {
		return nil
	}
	for _, f := range runs {
		if f.Unsupported != "" {
			return &hitFigures{Unsupported: f.Unsupported}
		}
	}
	med := func(get func(f hitFigures) float64) float64 {
		s := make([]float64, len(runs))
		for i, f := range runs {
			s[i] = get(f)
		}
		slices.Sort(s)
		if len(s)%2 == 0 {
			return (s[len(s)/2-1] + s[len(s)/2]) / 2
		}
		return s[len(s)/2]
	}
	m := hitFigures{
		HitPct:    med(func(f hitFigures) float64 { return f.HitPct }),
		Keys:      int64(med(func(f hitFigures) float64 { return float64(f.Keys) })),
		Evicted:   int64(med(func(f hitFigures) float64 { return float64(f.Evicted) })),
		RSSMiB:    med(func(f hitFigures) float64 { return f.RSSMiB }),
		UsedMiB:   med(func(f hitFigures) float64 { return f.UsedMiB }),
		SetErrors: int64(med(func(f hitFigures) float64 { return float64(f.SetErrors) })),
		Seconds:   med(func(f hitFigures) float64 { return f.Seconds }),
	}
	for _, f := range runs {
		if f.Note != "" {
			m.Note = f.Note
		}
	}
	return &m
}

// report builds the table from the replays recorded.
func (h *hitState) report() *hitReport {
	hs := h.sizes
	rep := &hitReport{Keys: hs.keys, Requests: hs.requests, ValueBytes: hs.valueSize, MaxMemory: hs.maxMemory,
		Pipeline: hs.batch, Runs: h.runs, ReplikvColumn: string(h.target)}
	best := map[string]*hitBestOut{}
	var traces []string
	for _, k := range h.order {
		c := h.cells[k]
		row := hitRowOut{Trace: k.trace, Policy: k.policy, MaxMemory: hs.maxMemoryOf(k.trace), Replikv: medianFigures(c.rk), Redis: medianFigures(c.rd),
			ReplikvRuns: c.rk, RedisRuns: c.rd}
		rk, rd := row.Replikv, row.Redis
		if ok(rk) && ok(rd) && rd.HitPct > 0 {
			row.Ratio = num(rk.HitPct / rd.HitPct)
		}
		rep.Rows = append(rep.Rows, row)
		b := best[k.trace]
		if b == nil {
			b = &hitBestOut{Trace: k.trace}
			best[k.trace] = b
			traces = append(traces, k.trace)
		}
		if ok(rk) && (b.ReplikvHitPct == nil || rk.HitPct > *b.ReplikvHitPct) {
			b.ReplikvPolicy, b.ReplikvHitPct = k.policy, num(rk.HitPct)
		}
		if ok(rd) && (b.RedisHitPct == nil || rd.HitPct > *b.RedisHitPct) {
			b.RedisPolicy, b.RedisHitPct = k.policy, num(rd.HitPct)
		}
	}
	for _, t := range traces {
		b := best[t]
		if b.RedisHitPct != nil {
			pass := b.ReplikvHitPct != nil && *b.ReplikvHitPct >= *b.RedisHitPct
			b.Pass = &pass
			if b.ReplikvHitPct != nil && *b.RedisHitPct > 0 {
				b.Ratio = num(*b.ReplikvHitPct / *b.RedisHitPct)
			}
		}
		rep.Best = append(rep.Best, *b)
	}
	return rep
}

// ok reports whether f holds figures.
func ok(f *hitFigures) bool { return f != nil && f.Unsupported == "" }

// header describes the table.
func (rep *hitReport) header() string {
	h := fmt.Sprintf("H1 hit ratio: cache-aside client (GET, SET on a miss), %d keys, %d-byte values, %d requests per trace "+
		"(hit %% of the second half), the same maxmemory on both (%d bytes, %.0f MiB, unless the row says otherwise), pipelines of %d, median of %d run(s)",
		rep.Keys, rep.ValueBytes, rep.Requests, rep.MaxMemory, mb(rep.MaxMemory), rep.Pipeline, rep.Runs)
	if rep.ReplikvColumn != string(sysReplikv) {
		h += fmt.Sprintf("; the replikv column is %s (-hit-target %s)", rep.ReplikvColumn, rep.ReplikvColumn)
	}
	return h + ". volatile-* policies are left out: a cache-aside client sets no TTL, so under them nothing can be " +
		"evicted and a full server refuses writes as under noeviction."
}

// rows returns the table's rows, a header first.
func (rep *hitReport) rows() [][]string {
	out := [][]string{{"trace", "policy", "maxmemory MiB", "replikv hit %", "Redis hit %", "ratio", "replikv keys", "Redis keys",
		"replikv RSS MiB", "Redis RSS MiB", "replikv evicted", "Redis evicted"}}
	for _, r := range rep.Rows {
		hit := func(f *hitFigures) string {
			switch {
			case f == nil:
				return "—"
			case f.Unsupported != "":
				return "unsupported"
			case f.Note != "" || f.SetErrors > 0:
				return fmt.Sprintf("%.2f (!)", f.HitPct)
			}
			return fmt.Sprintf("%.2f", f.HitPct)
		}
		fig := func(f *hitFigures, s func(f *hitFigures) string) string {
			if !ok(f) {
				return "—"
			}
			return s(f)
		}
		keys := func(f *hitFigures) string {
			return fmt.Sprintf("%d (%.1f%%)", f.Keys, 100*float64(f.Keys)/float64(rep.Keys))
		}
		rss := func(f *hitFigures) string { return fmt.Sprintf("%.1f", f.RSSMiB) }
		ev := func(f *hitFigures) string { return strconv.FormatInt(f.Evicted, 10) }
		out = append(out, []string{r.Trace, r.Policy, cell(num(mb(r.MaxMemory))), hit(r.Replikv), hit(r.Redis), ratioCell(r.Ratio),
			fig(r.Replikv, keys), fig(r.Redis, keys), fig(r.Replikv, rss), fig(r.Redis, rss),
			fig(r.Replikv, ev), fig(r.Redis, ev)})
	}
	return out
}

// notes are the summary (best Redis policy against best replikv policy
// per trace) and the reasons for the marks in the table.
func (rep *hitReport) notes() []string {
	var out []string
	for _, b := range rep.Best {
		pol := func(p string, v *float64) string {
			if v == nil {
				return "none (no policy acts on maxmemory)"
			}
			return fmt.Sprintf("%s %.2f %%", p, *v)
		}
		verdict := "—"
		if b.Pass != nil {
			verdict = map[bool]string{true: "✓", false: "✗"}[*b.Pass]
		}
		diff := ""
		if b.RedisHitPct != nil && b.ReplikvHitPct != nil {
			diff = fmt.Sprintf(", %+.2f points", *b.ReplikvHitPct-*b.RedisHitPct)
		}
		out = append(out, fmt.Sprintf("%s: best Redis policy %s vs best replikv policy %s: %s%s (target ≥1.0× Redis's best) %s",
			b.Trace, pol(b.RedisPolicy, b.RedisHitPct), pol(b.ReplikvPolicy, b.ReplikvHitPct), ratioCell(b.Ratio), diff, verdict))
	}
	seen := map[string]bool{}
	for _, r := range rep.Rows {
		for _, sf := range []struct {
			name string
			f    *hitFigures
		}{{"replikv column", r.Replikv}, {"Redis", r.Redis}} {
			if sf.f == nil {
				continue
			}
			var n string
			switch {
			case sf.f.Unsupported != "":
				n = "unsupported: " + sf.f.Unsupported
			case sf.f.Note != "":
				n = "(!) " + sf.f.Note
			case sf.f.SetErrors > 0:
				n = fmt.Sprintf("(!) %d SETs refused", sf.f.SetErrors)
			default:
				continue
			}
			n = fmt.Sprintf("%s, %s: %s", sf.name, r.Policy, n)
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	return out
}

// save prints the table to w and writes it to dir as hitratio.md and
// hitratio.json; it does nothing when H1 did not run.
func (h *hitState) save(dir string, w io.Writer) error {
	if len(h.cells) == 0 {
		return nil
	}
	rep := h.report()
	fmt.Fprintf(w, "\n%s\n", rep.header())
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, r := range rep.rows() {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
	var md strings.Builder
	fmt.Fprintf(&md, "%s\n\n", rep.header())
	for i, r := range rep.rows() {
		fmt.Fprintf(&md, "| %s |\n", strings.Join(r, " | "))
		if i == 0 {
			md.WriteString("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
		}
	}
	md.WriteString("\n")
	for _, n := range rep.notes() {
		fmt.Fprintln(w, n)
		fmt.Fprintf(&md, "- %s\n", n)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "hitratio.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "hitratio.md"), []byte(md.String()), 0o644)
}
