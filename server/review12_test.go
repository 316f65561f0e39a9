package server

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
	"github.com/replikv/replikv"
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

// TestReview12DiffOddTransactions compares with Redis transactions that
// queue connection and server commands.
func TestReview12DiffOddTransactions(t *testing.T) {
	d := newConnDiffer(t, Config{})
	for _, tx := range [][][]string{
		{{"MONITOR"}},
		{{"DEBUG", "SLEEP", "0"}, {"PING"}},
		{{"DEBUG", "SLEEP", "0.5"}, {"SET", "a", "1"}},
		{{"UNWATCH"}, {"PING"}},
		{{"CLIENT", "REPLY", "ON"}, {"PING"}},
		{{"RENAME", "nope", "x"}, {"SET", "a", "2"}, {"GET", "a"}},
		{{"SETBIT", "a", "-1", "1"}, {"GET", "a"}},
		{{"DEBUG", "DIGEST"}, {"DEBUG", "DIGEST-VALUE", "a"}},
		{{"TIME", "x"}},
		{{"DEBUG", "SET-ACTIVE-EXPIRE", "1"}, {"INCRBYFLOAT", "f", "1.5"}},
		{{"DEBUG", "NOSUCH"}},
		{{"OBJECT", "ENCODING", "a"}, {"DBSIZE"}},
	} {
		p := d.pair()
		p.expect("+OK", "MULTI")
		for _, c := range tx {
			p.do(c...)
		}
		p.do("EXEC")
		p.do("PING", "after")
	}
}

// TestReview12DiffDebugArgs compares DEBUG's argument checks with Redis.
func TestReview12DiffDebugArgs(t *testing.T) {
	d := newConnDiffer(t, Config{})
	p := d.pair()
	p.do("SET", "a", "1")
	for _, c := range [][]string{
		{"DEBUG"}, {"DEBUG", "HELP", "x"}, {"DEBUG", "SLEEP"}, {"DEBUG", "SLEEP", "x"}, {"DEBUG", "SLEEP", "-1"},
		{"DEBUG", "SLEEP", "0", "1"}, {"DEBUG", "SET-ACTIVE-EXPIRE"}, {"DEBUG", "SET-ACTIVE-EXPIRE", "x"},
		{"DEBUG", "SET-ACTIVE-EXPIRE", "1"}, {"DEBUG", "DIGEST", "x"}, {"DEBUG", "DIGEST-VALUE"},
		{"DEBUG", "DIGEST-VALUE", "a", "nope"}, {"DEBUG", "digest"}, {"DEBUG", "sleep", "0"},
		{"DEBUG", "SLEEP", "1e-9"}, {"DEBUG", "SLEEP", "nan"},
	} {
		p.do(c...)
	}
}

// TestReview12DiffWatchNewCommands compares with Redis whether a write by
// one of the issue-12 commands from another client aborts EXEC of a
// client that WATCHes the key.
func TestReview12DiffWatchNewCommands(t *testing.T) {
	d := newConnDiffer(t, Config{})
	for _, c := range []struct {
		setup [][]string
		write []string
	}{
		{[][]string{{"SET", "w", "1"}}, []string{"RENAME", "w", "w"}},
		{[][]string{{"SET", "w", "1"}}, []string{"RENAMENX", "w", "w"}},
		{[][]string{{"SET", "s", "1"}}, []string{"RENAME", "s", "w"}},
		{[][]string{{"SET", "w", "1"}}, []string{"RENAME", "w", "o"}},
		{[][]string{{"SET", "w", "1"}, {"SET", "s", "2"}}, []string{"RENAMENX", "s", "w"}},
		{[][]string{{"SET", "w", "1"}, {"SET", "s", "2"}}, []string{"COPY", "s", "w"}},
		{[][]string{{"SET", "w", "1"}, {"SET", "s", "2"}}, []string{"COPY", "s", "w", "REPLACE"}},
		{[][]string{{"SET", "w", "1"}}, []string{"COPY", "w", "o"}},
		{[][]string{{"SET", "w", "1"}}, []string{"SETRANGE", "w", "0", ""}},
		{[][]string{{"SET", "w", "1"}}, []string{"SETRANGE", "w", "0", "1"}},
		{[][]string{{"SET", "w", "1"}}, []string{"SETBIT", "w", "2", "1"}},
		{[][]string{{"SET", "w", "1"}}, []string{"SETBIT", "w", "7", "1"}},
		{[][]string{{"SET", "w", "1"}}, []string{"SETBIT", "w", "100", "0"}},
		{[][]string{{"SET", "w", "1"}}, []string{"BITFIELD", "w", "GET", "u8", "0"}},
		{[][]string{{"SET", "w", "1"}}, []string{"BITFIELD", "w", "SET", "u8", "0", "49"}},
		{[][]string{{"SET", "w", "1"}}, []string{"BITFIELD", "w", "OVERFLOW", "FAIL", "INCRBY", "u2", "0", "100"}},
		{nil, []string{"BITFIELD", "w", "GET", "u8", "0"}},
		{nil, []string{"BITOP", "OR", "w", "nope"}},
		{[][]string{{"SET", "w", "1"}}, []string{"BITOP", "OR", "w", "nope"}},
		{[][]string{{"SET", "w", "1"}}, []string{"BITOP", "OR", "o", "w"}},
		{[][]string{{"SET", "w", "1"}}, []string{"INCRBYFLOAT", "w", "0"}},
		{[][]string{{"SET", "w", "1"}}, []string{"RESTORE", "w", "1000", "\x00\x011\n\x00\xd5\x02\xc0\x9a\xf4\x8b\x9c\x1e", "REPLACE", "ABSTTL"}},
		{[][]string{{"SET", "w", "1"}}, []string{"TOUCH", "w"}},
		{[][]string{{"SET", "w", "1"}}, []string{"OBJECT", "FREQ", "w"}},
		{nil, []string{"DEBUG", "DIGEST-VALUE", "w"}},
	} {
		a, b := d.pair(), d.pair()
		b.do("FLUSHALL")
		for _, s := range c.setup {
			b.do(s...)
		}
		a.expect("+OK", "WATCH", "w")
		b.do(c.write...)
		a.expect("+OK", "MULTI")
		a.expect("+QUEUED", "PING")
		if a.do("EXEC") == "" {
			t.Log(c.write)
		}
	}
}

// FuzzReview12KeyCommands sends the key, connection and DEBUG commands of
// issue 12 with fuzzed arguments (inside MULTI when the first byte says
// so): every command gets a reply and the connection keeps working.
func FuzzReview12KeyCommands(f *testing.F) {
	n := startNode(f, replikv.Config{MaxBulkLen: 1024}, Config{EnableDebugCommand: "yes"})
	names := []string{"RENAME", "RENAMENX", "COPY", "RANDOMKEY", "TOUCH", "DUMP", "RESTORE", "OBJECT", "TIME",
		"DEBUG", "CLIENT", "WATCH", "UNWATCH", "RESET", "SET", "LCS", "BITOP", "RESTORE-ASKING"}
	for _, s := range []string{"\x00a b", "\x02a b DB 0 REPLACE", "\x06k 0 \x00\x01a\x0a\x00", "\x07ENCODING k",
		"\x09SLEEP 0", "\x09DIGEST-VALUE k k", "\x0aREPLY SKIP", "\x0ek v", "\x86k 1 x ABSTTL IDLETIME 1",
		"\x89SET-ACTIVE-EXPIRE 0", "\x8bk"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		c := n.raw(t)
		args := []string{names[int(data[0]&0x7f)%len(names)]}
		for _, a := range bytes.Split(data[1:], []byte{' '}) {
			args = append(args, string(a))
		}
		switch {
		case args[0] == "CLIENT" && (len(args) < 2 || !strings.EqualFold(args[1], "REPLY")):
			return // PAUSE, KILL… act on the whole server
		case args[0] == "DEBUG" && len(args) > 1 && strings.EqualFold(args[1], "SLEEP") && data[0]&0x80 == 0:
			return // may outlast the read deadline
		}
		if data[0]&0x80 != 0 {
			c.do("MULTI")
			c.send(args...)
			c.do("EXEC")
		} else {
			c.send(args...)
		}
		c.send("CLIENT", "REPLY", "ON")
		c.send("PING", "end")
		c.c.SetReadDeadline(time.Now().Add(30 * time.Second))
		for {
			got := c.read()
			if got == `"end"` {
				break
			}
			if strings.HasPrefix(got, "<") {
				t.Fatalf("after %q: %s", args, got)
			}
		}
	})
}

// TestReview12ConcurrentClientsReplicate has clients run the issue-12
// commands at once, alone and in WATCHed transactions with queued server
// commands between runs, on a primary followed by a replica: afterwards
// the replica holds exactly the primary's keyspace, and nothing leaks.
func TestReview12ConcurrentClientsReplicate(t *testing.T) {
	checkNoLeak(t)
	ps := startPair(t, replikv.Config{}, replikv.Config{})
	const workers = 4
	errs := make(chan error, workers)
	for w := range workers {
		c := ps.primary.client(t, nil)
		go func() {
			ctx := ctx(t)
			keys := []string{"a", "b", "c", "d"}
			for i := range 150 {
				k1, k2, k3 := keys[(i+w)%4], keys[(i*3+w)%4], keys[(i*7+w+1)%4]
				var err error
				switch i % 6 {
				case 0:
					err = c.Do(ctx, "SET", k1, "v", "PX", 100000+i).Err()
				case 1:
					err = c.Do(ctx, "RENAME", k1, k2).Err()
				case 2:
					err = c.Do(ctx, "COPY", k1, k2, "REPLACE").Err()
				case 3:
					err = c.Do(ctx, "BITOP", "XOR", k1, k2, k3).Err()
				case 4:
					err = c.Do(ctx, "SETRANGE", k1, 70000+i, "x").Err()
				case 5:
					err = c.Watch(ctx, func(tx *redis.Tx) error {
						_, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
							p.Do(ctx, "RENAMENX", k1, k3)
							p.Do(ctx, "CONFIG", "GET", "maxmemory")
							p.Do(ctx, "BITFIELD", k2, "INCRBY", "u8", i*8, 1)
							p.Do(ctx, "INCRBYFLOAT", k3+"f", "0.1")
							return nil
						})
						return err
					}, k1, k2)
					if err == redis.TxFailedErr {
						err = nil
					}
				}
				if err != nil && !strings.Contains(err.Error(), "no such key") && !strings.Contains(err.Error(), "WRONGTYPE") &&
					!strings.Contains(err.Error(), "not a valid float") && !strings.Contains(err.Error(), "objects are the same") {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	_, end := ps.primary.store.Position()
	eventually(t, "the replica to catch up", func() bool {
		_, got := ps.replica.store.Position()
		return got >= end
	})
	snap := func(s *replikv.Store) map[string]string {
		m := map[string]string{}
		s.Range(func(key string, value []byte, deadline time.Time) bool {
			m[key] = string(value) + "@" + deadline.String()
			return true
		})
		return m
	}
	if d := cmp.Diff(snap(ps.primary.store), snap(ps.replica.store)); d != "" {
		t.Fatalf("replica differs (-primary +replica):\n%s", d)
	}
}

// TestReview12DiffBinaryOptions: NUL bytes in the options of the key
// commands, which Redis compares with strcasecmp (stopping at the NUL).
func TestReview12DiffBinaryOptions(t *testing.T) {
	d := newDiffer(t)
	d.do("SET", "a", "1")
	p := d.do("DUMP", "a").Value
	for _, args := range [][]any{
		{"COPY", "a", "b", "REPLACE\x00x"}, {"COPY", "a", "b", "replace\x00"}, {"COPY", "a", "c", "DB\x00", "0"},
		{"COPY", "a", "c", "DB", "0\x00"}, {"RESTORE", "r", 0, p, "REPLACE\x00"}, {"RESTORE", "r", 0, p, "ABSTTL\x00"},
		{"RESTORE", "r2", "0\x00", p}, {"RESTORE", "r3", 0, p, "IDLETIME\x00", 1}, {"RESTORE", "r4", 0, p, "FREQ", "1\x00"},
		{"OBJECT", "encoding", "a\x00"}, {"TOUCH", "a\x00", "a"},
		{"RENAME", "a\x00", "z"}, {"RENAME", "a", "a\x00"}, {"GET", "a\x00"}, {"DUMP", "a\x00"},
	} {
		d.do(args...)
	}
	d.sameKeyspace()
}

// TestReview12DiffBinaryConnOptions: NUL bytes in CLIENT REPLY, CLIENT
// NO-EVICT and DEBUG's options, compared with Redis's strcasecmp.
func TestReview12DiffBinaryConnOptions(t *testing.T) {
	d := newConnDiffer(t, Config{})
	p := d.pair()
	p.do("SET", "a", "1")
	for _, c := range [][]string{
		{"CLIENT", "NO-EVICT", "on\x00x"}, {"CLIENT", "NO-EVICT", "OFF\x00"}, {"DEBUG", "SLEEP\x00", "0"},
		{"DEBUG", "digest-value\x00", "a"}, {"CLIENT", "REPLY", "ON\x00"},
	} {
		p.do(c...)
	}
	for _, c := range []*rawConn{p.redis, p.kv} {
		c.send("CLIENT", "REPLY", "SKIP\x00")
		c.send("PING", "skipped")
	}
	p.expect(`"after"`, "PING", "after")
}
