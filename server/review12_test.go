package server

import (
	"strings"
	"testing"
)

// TestReview12DiffEdges sends edge cases of the issue-12 commands to
// redis-server and replikv and compares replies and keyspaces.
func TestReview12DiffEdges(t *testing.T) {
	d := newDiffer(t)
	d.do("SET", "v", "hello")
	p := d.do("DUMP", "v").Value
	// A relative TTL whose deadline overflows.
	d.do("RESTORE", "huge", "9223372036854775807", p)
	d.do("EXISTS", "huge")
	d.do("RESTORE", "abshuge", "9223372036854775807", p, "ABSTTL")
	d.do("PEXPIRETIME", "abshuge")
	d.lines(
		"SET t abc EX 100", "SETRANGE t 10 z", "TTL t", "SETBIT t 200 1", "TTL t", "INCRBYFLOAT t 1", "TTL t",
		"SET t2 5 EX 100", "INCRBYFLOAT t2 1.5", "TTL t2", "GET t2",
		"SET r1 a EX 100", "SET r2 b EX 200", "RENAME r1 r2", "TTL r2", "SET r3 c", "RENAME r3 r2", "TTL r2",
		"SET c1 a", "SET c2 b EX 100", "COPY c1 c2 REPLACE", "TTL c2", "SET c3 z EX 50", "COPY c3 c1 REPLACE", "TTL c1",
		"SET n 123", "SETRANGE n 3 4", "GET n", // OBJECT ENCODING after SETRANGE differs, as documented
		"TIME x", "RANDOMKEY x", "TOUCH", "DUMP", "DUMP a b", "OBJECT ENCODING", "RENAMENX a", "COPY a",
		"SETRANGE", "GETRANGE", "SETBIT", "GETBIT", "BITCOUNT", "BITPOS", "BITPOS k", "BITOP", "BITFIELD", "LCS", "LCS a",
		"INCRBYFLOAT", "RESTORE", "RESTORE k", "RESTORE k 0",
		"BITCOUNT v 0", "BITCOUNT v 0 -1 BIT", "BITCOUNT v 0 -1 BYTE x", "BITPOS v 1 0 -1 BIT", "BITPOS v 0 2",
		"BITCOUNT v -9223372036854775808 9223372036854775807 BIT", "BITPOS v 1 -9223372036854775808 9223372036854775807 BIT",
		"BITCOUNT v 9223372036854775807 9223372036854775807 BIT", "BITPOS v 0 9223372036854775807 -1 BIT",
		"BITPOS v 0 0 -1 BIT", "BITPOS v 1 -1 -1 BIT", "BITPOS missing 0", "BITPOS missing 1", "BITPOS missing 0 5",
		"BITPOS v 2", "BITPOS v -1", "BITCOUNT v 1 x", "GETBIT v 4294967296", "GETBIT v -1",
		"SETBIT v 1 2", "SETBIT v 1 -1", "SETBIT v x 1",
		"LCS v missing IDX WITHMATCHLEN MINMATCHLEN 9223372036854775807", "LCS v v IDX MINMATCHLEN -9223372036854775808",
		"OBJECT REFCOUNT v", "OBJECT FREQ v", "OBJECT ENCODING v x",
		"COPY v v2 DB 0 DB 0", "COPY v v3 REPLACE DB 0", "COPY v v4 DB -1", "COPY v v4 DB 99999999999",
		"SET e ''", "GETRANGE e 0 -1", "BITCOUNT e", "BITPOS e 0", "BITPOS e 1", "LCS e e IDX", "DUMP e",
	)
	d.sameKeyspace()
}

// TestReview12BitFieldManyOps: BITFIELD with thousands of operations.
func TestReview12BitFieldManyOps(t *testing.T) {
	d := newDiffer(t)
	args := []any{"BITFIELD", "bf"}
	for i := range 3000 {
		args = append(args, "INCRBY", "u7", i*3, i)
		if i%500 == 0 {
			args = append(args, "OVERFLOW", []string{"WRAP", "SAT", "FAIL"}[i%3])
		}
	}
	d.do(args...)
	d.do("GET", "bf")
	args = []any{"BITFIELD_RO", "bf"}
	for i := range 3000 {
		args = append(args, "GET", "i9", "#"+strings.Repeat("0", i%3)+"1")
	}
	d.do(args...)
	d.sameKeyspace()
}
