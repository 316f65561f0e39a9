package server

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
	"github.com/replikv/replikv/rdb"
)

func TestDiffRenameCopy(t *testing.T) {
	d := newDiffer(t)
	d.do("SET", "a", "1")
	d.do("SET", "b", "2")
	d.do("PEXPIRE", "b", 50000)
	d.do("RENAME", "a", "c")
	d.do("RENAME", "missing", "c")
	d.do("RENAME", "c", "c")
	d.do("RENAME", "missing", "missing")
	d.do("RENAMENX", "c", "b")
	d.do("RENAMENX", "b", "d") // carries its deadline
	d.do("RENAMENX", "d", "d")
	d.do("RENAMENX", "missing", "e")
	d.do("RENAME", "c")
	d.do("COPY", "d", "e")
	d.do("COPY", "d", "e")
	d.do("COPY", "d", "e", "REPLACE")
	d.do("COPY", "d", "d")
	d.do("COPY", "missing", "f")
	d.do("COPY", "d", "f", "DB", "0")
	d.do("COPY", "d", "g", "DB", "x")
	d.do("COPY", "d", "g", "BOGUS")
	d.do("COPY", "d", "g", "DB")
	d.do("COPY", "d", "g", "REPLACE", "REPLACE")
	d.do("COPY", "d")
	d.sameKeyspace()
}

func TestDiffTouchRandomKey(t *testing.T) {
	d := newDiffer(t)
	d.do("RANDOMKEY")
	d.do("TOUCH", "a", "b")
	d.do("SET", "a", "1")
	d.do("TOUCH", "a", "b", "a")
	d.do("RANDOMKEY")
	d.do("RANDOMKEY", "x")
	d.do("TOUCH")
	// TIME differs by the microseconds between the two calls: its shape only.
	if got := doReply(t, d.kv, "TIME"); got.Err != "" || len(got.Value.([]any)) != 2 {
		t.Fatalf("TIME: %v", got)
	}
}

func TestDiffObject(t *testing.T) {
	d := newDiffer(t)
	long := strings.Repeat("a", 44)
	for _, v := range []string{"12", "012", " 1", "1 ", "+1", "-0", "0", "-1", "9999", "10000",
		"12345678901234567890", "9223372036854775807", "9223372036854775808", "-9223372036854775808",
		"", "1.5", long, long + "a", strings.Repeat("x", 1000)} {
		d.do("SET", "k", v)
		d.do("OBJECT", "ENCODING", "k")
		d.do("OBJECT", "REFCOUNT", "k")
	}
	d.do("INCR", "n")
	d.do("OBJECT", "ENCODING", "n")
	d.do("OBJECT", "REFCOUNT", "n")
	d.do("APPEND", "new", "12") // a new key by APPEND is encoded as by SET
	d.do("OBJECT", "ENCODING", "new")
	d.do("OBJECT", "ENCODING", "missing")
	d.do("OBJECT", "REFCOUNT", "missing")
	d.do("OBJECT", "FREQ", "missing")
	d.do("OBJECT", "FREQ", "k")
	d.do("OBJECT", "IDLETIME", "missing")
	// Redis counts the seconds since k was last used, which a busy machine
	// makes 1 or more on either side: an integer from both.
	if r, k := doReply(t, d.redis, "OBJECT", "IDLETIME", "k"), doReply(t, d.kv, "OBJECT", "IDLETIME", "k"); r.Err != "" || k.Err != "" {
		t.Errorf("OBJECT IDLETIME k: Redis %+v, replikv %+v (want an integer from both)", r, k)
	} else if _, ok := k.Value.(int64); !ok {
		t.Errorf("OBJECT IDLETIME k: replikv %+v", k)
	}
	// Under an LFU policy: FREQ answers, IDLETIME is refused; a new key
	// starts at 5 and its first reads count one each.
	d.do("CONFIG", "SET", "maxmemory-policy", "allkeys-lfu")
	d.do("SET", "f", "v")
	d.do("OBJECT", "FREQ", "f")
	d.do("GET", "f")
	d.do("OBJECT", "FREQ", "f")
	d.do("OBJECT", "IDLETIME", "f")
	d.do("OBJECT", "IDLETIME", "missing")
	d.do("OBJECT", "FREQ", "missing")
	d.do("CONFIG", "SET", "maxmemory-policy", "noeviction")
	d.do("OBJECT", "FREQ", "f")
	d.do("OBJECT", "HELP")
	d.do("OBJECT", "help")
	d.do("OBJECT", "HELP", "x")
	d.do("OBJECT", "FOO", "k")
	d.do("OBJECT")
	d.do("OBJECT", "ENCODING")
	d.do("OBJECT", "ENCODING", "a", "b")
}

func TestDiffDumpRestore(t *testing.T) {
	d := newDiffer(t)
	values := []string{"", "hello", "12", "-12", "007", "2147483648", "-2147483648", "300", "70000",
		strings.Repeat("ab", 100), strings.Repeat("xyz", 5000), "\x00\xff\r\n"}
	for i, v := range values {
		d.do("SET", "v", v)
		p := d.do("DUMP", "v")
		k := "r" + string(rune('a'+i))
		d.do("RESTORE", k, 0, p.Value)
		d.do("GET", k)
	}
	d.do("DUMP", "missing")
	p := d.do("DUMP", "v").Value
	d.do("RESTORE", "ra", 0, p) // BUSYKEY
	d.do("RESTORE", "ra", 0, p, "REPLACE")
	d.do("RESTORE", "t1", 100000, p)
	d.do("RESTORE", "t2", 4102444800000, p, "ABSTTL")
	d.do("RESTORE", "t3", 1000, p, "ABSTTL") // long past: nothing
	d.do("RESTORE", "ra", 1000, p, "ABSTTL", "REPLACE")
	d.do("EXISTS", "ra")
	d.do("RESTORE", "t4", 0, p, "IDLETIME", 10)
	d.do("RESTORE", "t5", 0, p, "FREQ", 10)
	d.do("RESTORE", "t6", 0, p, "IDLETIME", -1)
	d.do("RESTORE", "t6", 0, p, "IDLETIME", "x")
	d.do("RESTORE", "t6", 0, p, "FREQ", 256)
	d.do("RESTORE", "t6", 0, p, "FREQ", -1)
	d.do("RESTORE", "t6", 0, p, "FREQ", 1, "IDLETIME", 1)
	d.do("RESTORE", "t6", 0, p, "IDLETIME", 1, "FREQ", 1)
	d.do("RESTORE", "t6", 0, p, "IDLETIME")
	d.do("RESTORE", "t6", 0, p, "BOGUS")
	d.do("RESTORE", "t6", -1, p)
	d.do("RESTORE", "t6", "x", p)
	d.do("RESTORE", "t4", "x", p) // BUSYKEY comes before the TTL
	d.do("RESTORE", "t6", 0, "short")
	d.do("RESTORE", "t6", 0, "")
	bad := []byte(p.(string))
	bad[1] ^= 0xff
	d.do("RESTORE", "t6", 0, string(bad))
	// A well-formed footer around a truncated string.
	d.do("RESTORE", "t6", 0, rdb.SealDump([]byte("\x00\x05ab"), 10))
	d.do("RESTORE", "t7", 0, rdb.SealDump([]byte("\x00\x01a"), 11)) // a newer RDB version
	d.do("RESTORE", "t6")
	for _, k := range []string{"t2", "t4", "t5"} { // t1's relative deadline differs by the ms between the calls
		d.do("PEXPIRETIME", k)
	}
	d.sameKeyspace()
}

// TestDumpCrossServers restores what each server dumped on the other.
func TestDumpCrossServers(t *testing.T) {
	d := newDiffer(t)
	for _, v := range []string{"x", "42", strings.Repeat("compress me ", 50), "-7", ""} {
		for _, pair := range [][2]*redis.Client{{d.redis, d.kv}, {d.kv, d.redis}} {
			from, to := pair[0], pair[1]
			if err := from.Set(ctx(t), "src", v, 0).Err(); err != nil {
				t.Fatal(err)
			}
			p, err := from.Dump(ctx(t), "src").Result()
			if err != nil {
				t.Fatal(err)
			}
			if err := to.RestoreReplace(ctx(t), "dst", 0, p).Err(); err != nil {
				t.Fatalf("RESTORE of %q: %v", v, err)
			}
			if got, err := to.Get(ctx(t), "dst").Result(); err != nil || got != v {
				t.Fatalf("restored %q, want %q (%v)", got, v, err)
			}
		}
	}
	// A hash dumped by Redis is refused here, with a clear error.
	d.redis.HSet(ctx(t), "h", "f", "v")
	p, err := d.redis.Dump(ctx(t), "h").Result()
	if err != nil {
		t.Fatal(err)
	}
	err = d.kv.Restore(ctx(t), "h", 0, p).Err()
	if err == nil || !strings.Contains(err.Error(), "not a string") {
		t.Fatalf("RESTORE of a hash: %v", err)
	}
}

// TestDiffKeysInMulti runs the key commands inside MULTI/EXEC on both
// servers and compares every queued command's result.
func TestDiffKeysInMulti(t *testing.T) {
	d := newDiffer(t)
	d.do("SET", "a", "1")
	d.do("SET", "big", strings.Repeat("z", 100))
	p := d.do("DUMP", "a").Value
	results := func(c *redis.Client) []answer {
		cmds, _ := c.TxPipelined(ctx(t), func(pp redis.Pipeliner) error {
			for _, args := range [][]any{
				{"RENAME", "a", "b"},
				{"RENAME", "a", "b"},
				{"RENAMENX", "b", "big"},
				{"COPY", "b", "c"},
				{"COPY", "b", "b"},
				{"RESTORE", "d", 0, p},
				{"RESTORE", "d", 0, p},
				{"RESTORE", "e", 0, "bad"},
				{"DUMP", "d"},
				{"OBJECT", "ENCODING", "big"},
				{"OBJECT", "FREQ", "big"},
				{"TOUCH", "b", "c", "x"},
				{"EXISTS", "a", "b", "c", "d"},
			} {
				pp.Do(ctx(t), args...)
			}
			return nil
		})
		var out []answer
		for _, c := range cmds {
			v, err := c.(*redis.Cmd).Result()
			a := answer{Value: v}
			if err == redis.Nil {
				a = answer{}
			} else if err != nil {
				a = answer{Err: err.Error()}
			}
			out = append(out, a)
		}
		return out
	}
	if diff := cmp.Diff(results(d.redis), results(d.kv)); diff != "" {
		t.Fatalf("MULTI results differ (-redis +replikv):\n%s", diff)
	}
	d.sameKeyspace()
}

// TestKeyCommandsTable: arity and key positions of the new commands as
// COMMAND INFO shows them on Redis.
func TestKeyCommandsTable(t *testing.T) {
	d := newDiffer(t)
	names := []any{"INFO", "rename", "renamenx", "copy", "randomkey", "touch", "dump", "restore", "object", "time",
		"object|encoding", "object|freq", "object|idletime", "object|refcount", "object|help"}
	shape := func(c *redis.Client) [][]any {
		v, err := c.Do(ctx(t), append([]any{"COMMAND"}, names...)...).Slice()
		if err != nil {
			t.Fatal(err)
		}
		var out [][]any
		for _, e := range v {
			f := e.([]any)
			out = append(out, []any{f[0], f[1], f[3], f[4], f[5]})
		}
		return out
	}
	if diff := cmp.Diff(shape(d.redis), shape(d.kv)); diff != "" {
		t.Fatalf("COMMAND INFO differs (-redis +replikv):\n%s", diff)
	}
}

// TestDiffMaxMemory: above maxmemory under noeviction, the commands that
// may grow the data are refused with OOM (inside MULTI too, aborting
// EXEC), the others run; the memory settings read back the same.
func TestDiffMaxMemory(t *testing.T) {
	d := newDiffer(t)
	d.do("SET", "a", "1")
	d.do("CONFIG", "SET", "maxmemory", "1")
	for _, c := range [][]any{{"SET", "b", "1"}, {"INCR", "n"}, {"APPEND", "a", "x"}, {"SETBIT", "s", "1", "1"},
		{"MSET", "x", "1", "y", "2"}, {"COPY", "a", "c"}, {"SETRANGE", "a", "0", "x"}, {"INCRBYFLOAT", "a", "1"},
		{"EXPIRE", "a", "100"}, {"PERSIST", "a"}, {"GET", "a"}, {"TTL", "a"}} {
		d.do(c...)
	}
	d.do("MULTI")
	d.do("SET", "c", "1")
	d.do("GET", "a")
	d.do("EXEC")
	d.do("MULTI")
	d.do("GET", "a")
	d.do("EXEC")
	for _, name := range []string{"maxmemory", "maxmemory-policy", "maxmemory-samples", "lfu-log-factor", "lfu-decay-time"} {
		d.do("CONFIG", "GET", name)
	}
	for _, c := range [][]any{{"maxmemory-samples", "0"}, {"maxmemory-samples", "10"}, {"lfu-log-factor", "-1"},
		{"lfu-log-factor", "0"}, {"lfu-decay-time", "x"}, {"lfu-decay-time", "3"}, {"maxmemory-policy", "VOLATILE-LFU"},
		{"maxmemory", "1gb"}} {
		d.do(append([]any{"CONFIG", "SET"}, c...)...)
		d.do("CONFIG", "GET", c[0])
	}
	d.do("CONFIG", "SET", "maxmemory", "0")
	d.do("SET", "b", "1")
}
