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

// TestReview14ConfigSetHugeMaxMemory: Redis 7.0.15 takes any decimal
// maxmemory, saturating what does not fit (CONFIG SET maxmemory
// 99999999999999999999, 9223372036854775808 and 18446744073709551615 all
// answer OK: a limit nothing reaches); replikv refused those above
// 2^63-1 with "argument must be a memory value". Bad units, negative and
// fractional values are refused by both.
func TestReview14ConfigSetHugeMaxMemory(t *testing.T) {
	d := newDiffer(t)
	for _, v := range []string{"99999999999999999999", "9223372036854775808", "18446744073709551615", "9223372036854775807",
		"-1", "1.5gb", "10GB", "1k", "12xb"} {
		d.do("CONFIG", "SET", "maxmemory", v)
	}
	d.do("CONFIG", "SET", "maxmemory", "0")
}
