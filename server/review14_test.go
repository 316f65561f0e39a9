package server

// Adversarial review of issue 14 (maxmemory and eviction) over RESP.

import "testing"

// TestReview14ExecSegmentsNotRefusedOOM: once EXEC passed its OOM check,
// Redis runs every queued command; none is refused with OOM inside the
// transaction. A CONFIG SET maxmemory queued between keyspace commands
// (an outsideExec command, which splits the transaction into segments)
// must not make the writes after it fail with OOM inside EXEC's reply:
// Redis 7.0.15 answers [OK, OK, OK, 1] to
// MULTI / SET a 1 / CONFIG SET maxmemory 1 / SET b 2 / INCR c / EXEC.
func TestReview14ExecSegmentsNotRefusedOOM(t *testing.T) {
	d := newDiffer(t)
	d.do("MULTI")
	d.do("SET", "a", "1")
	d.do("CONFIG", "SET", "maxmemory", "1")
	d.do("SET", "b", "2")
	d.do("INCR", "c")
	d.do("EXEC")
	d.do("GET", "b")
	d.do("GET", "c")
	d.do("CONFIG", "SET", "maxmemory", "0")
}
