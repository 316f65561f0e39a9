package server

import "time"

// pendingStats are a client's command counters not yet added to the
// server's: a pipeline of the same command costs the shared counters one
// addition each when it ends, instead of one per command (contended
// between cores, they cost more than a SET). They are published when
// another command starts (so a client reading INFO sees its own commands)
// and whenever the client writes its replies.
type pendingStats struct {
	cmd     *command
	calls   int64
	nanos   int64
	failed  int64
	buckets [4]struct{ i, n int32 } // latency histogram buckets hit, and how often
	used    int
}

// maxPendingCalls bounds the calls a client keeps unpublished.
const maxPendingCalls = 1 << 10

// noteCall records a call of cmd that took d.
func (c *client) noteCall(cmd *command, d time.Duration, failed bool) {
	p := &c.pend
	if p.cmd != cmd || p.calls >= maxPendingCalls {
		c.publishStats()
		p.cmd = cmd
	}
	b := int32(histBucket(int64(d)))
	j := 0
	for j < p.used && p.buckets[j].i != b {
		j++
	}
	if j == len(p.buckets) {
		c.publishStats()
		p.cmd, j = cmd, 0
	}
	if j == p.used {
		p.buckets[j] = struct{ i, n int32 }{b, 0}
		p.used++
	}
	p.buckets[j].n++
	p.calls++
	p.nanos += int64(d)
	if failed {
		p.failed++
	}
}

// publishStats adds the pending counters to the server's.
func (c *client) publishStats() {
	p := &c.pend
	if p.calls > 0 {
		st := &c.s.cmdStats.byCmd[p.cmd.idx]
		st.calls.Add(p.calls)
		st.nanos.Add(p.nanos)
		if p.failed > 0 {
			st.failed.Add(p.failed)
		}
		h := st.histogram()
		for _, b := range p.buckets[:p.used] {
			h[b.i].Add(int64(b.n))
		}
		c.s.stats.commands.Add(p.calls)
	}
	*p = pendingStats{}
}
