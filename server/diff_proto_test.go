package server

import (
	"io"
	"net"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// rawBoth sends the same bytes to redis-server and to the replikv node
// on fresh connections, closes the sending side (so that a server
// waiting for the rest of a command sees the end), and returns what each
// answered up to the end of its connection.
func (d *differ) rawBoth(in string) (redisGot, kvGot string) {
	d.t.Helper()
	o := d.redis.Options()
	return exchangeRaw(d.t, o.Network, o.Addr, in), exchangeRaw(d.t, "tcp", d.node.addr, in)
}

func exchangeRaw(t *testing.T, network, addr, in string) string {
	t.Helper()
	c, err := net.Dial(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, in); err != nil {
		t.Fatalf("writing %q: %v", in, err)
	}
	c.(interface{ CloseWrite() error }).CloseWrite()
	got, _ := io.ReadAll(c) // a reset after the reply is fine: the server closed with input unread
	return string(got)
}

// TestDiffProtocol compares replikv's replies to malformed and unusual
// input, byte for byte, with redis-server's.
func TestDiffProtocol(t *testing.T) {
	d := newDiffer(t)
	cases := []string{
		"*-10\r\n*1\r\n$4\r\nPING\r\n", // a non-positive count is ignored
		"*0\r\n*1\r\n$4\r\nPING\r\n",
		"*-1\r\nPING\r\n",
		"*-2147483649\r\nPING\r\n",
		"*-0\r\nPING\r\n",
		"*-\r\nPING\r\n",
		"*abc\r\n",
		"*1x\r\n",
		"*+1\r\n",
		"*01\r\n",
		"*1 \r\n",
		"*\r\n",
		"*2147483648\r\n",
		"*-99999999999999999999\r\n",
		"*1\r\n$abc\r\n",
		"*1\r\n$-1\r\n",
		"*1\r\n$-5\r\n",
		"*1\r\n$-0\r\n",
		"*1\r\n$04\r\nPING\r\n",
		"*1\r\n$+4\r\nPING\r\n",
		"*1\r\n$ 4\r\nPING\r\n",
		"*1\r\n$\r\n",
		"*1\r\n$4\nPING\r\n",
		"*1\r\nx\r\n",
		"*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n",
		"*1\r\n$536870913\r\n",
		"*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPIN", // the reply comes before the rest
		"*1\r\n$0\r\n\r\n",
		"set \"a b\r\n",
		"set 'a\r\n",
		"set \"a\"b c\r\n",
		"ECHO \"\\x41\\x4\"\r\n",
		"PING\nPING\r\n",
		"\r\n\r\nPING\r\n",
		"*" + strings.Repeat("1", 70000),
		"*1\r\n$" + strings.Repeat("1", 70000),
		strings.Repeat("a", 70000),
	}
	for _, in := range cases {
		want, got := d.rawBoth(in)
		if got != want {
			t.Errorf("%.40q: replikv answered %q, redis-server %q", in, got, want)
		}
	}
	// Before AUTH, both with a password.
	d.do("CONFIG", "SET", "requirepass", "pw")
	for _, in := range []string{
		"*100\r\n",
		"*11\r\n",
		"*10\r\n$4\r\nPING\r\n",
		"*1\r\n$100000000\r\n",
		"*1\r\n$16385\r\n",
		"*1\r\n$600000000\r\n",
		"*2\r\n$4\r\nAUTH\r\n$16385\r\n",
		"*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n*100\r\n",
		"*-10\r\n*1\r\n$4\r\nPING\r\n",
		"PING 1 2 3 4 5 6 7 8 9 10 11 12\r\n", // inline: no argument limit
	} {
		if want, got := d.rawBoth(in); got != want {
			t.Errorf("%.40q before AUTH: replikv answered %q, redis-server %q", in, got, want)
		}
	}
}

// TestDiffInfoStats compares INFO commandstats, errorstats and
// latencystats with redis-server's after the same commands: the same
// lines with the same counts (times masked).
func TestDiffInfoStats(t *testing.T) {
	d := newDiffer(t)
	d.do("PING")
	d.do("CONFIG", "RESETSTAT")
	for _, args := range [][]any{
		{"SET", "k", "v"}, {"GET", "k"}, {"GET", "k"}, {"INCR", "k"}, {"GET"}, {"NOPE"},
		{"CLIENT", "KILL", "USER", "nobody"}, {"CLIENT", "KILL", "USER", "default", "SKIPME", "yes"},
		{"AUTH", "a", "b"}, {"CONFIG", "SET", "nosuch", "1"}, {"SET", "n", "1"}, {"INCRBY", "n", "x"},
		{"DEL", "n", "k"}, {"ECHO"},
	} {
		d.do(args...)
	}
	usec := regexp.MustCompile(`usec(_per_call)?=[0-9.]+`)
	pct := regexp.MustCompile(`=[0-9.]+`)
	for _, tc := range []struct {
		section string
		mask    *regexp.Regexp
	}{{"commandstats", usec}, {"errorstats", nil}, {"latencystats", pct}} {
		lines := func(info string) []string {
			if tc.mask != nil {
				info = tc.mask.ReplaceAllString(info, "=…")
			}
			ls := strings.Split(strings.TrimSpace(info), "\r\n")
			slices.Sort(ls) // Redis lists commands in its hash table's order
			return ls
		}
		want := lines(d.redis.Info(ctx(t), tc.section).Val())
		got := lines(d.kv.Info(ctx(t), tc.section).Val())
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("INFO %s differs (-redis +replikv):\n%s", tc.section, diff)
		}
	}
}

// TestDiffConfigSet compares CONFIG SET's errors (names checked first,
// in order: unknown, immutable, protected, given twice; then values) and
// the settings replikv stores without acting on them with
// redis-server's.
func TestDiffConfigSet(t *testing.T) {
	d := newDiffer(t)
	for _, args := range [][]any{
		{"CONFIG", "SET", "repl-timeout", "60", "repl-timeout", "61"},
		{"CONFIG", "SET", "repl-timeout", "60", "REPL-TIMEOUT", "61"},
		{"CONFIG", "SET", "nosuch", "1"},
		{"CONFIG", "SET", "nosuch", "1", "repl-timeout", "x"},
		{"CONFIG", "SET", "repl-timeout", "x", "nosuch", "1"},
		{"CONFIG", "SET", "repl-timeout", "x", "repl-timeout", "1"},
		{"CONFIG", "SET", "repl-timeout"},
		{"CONFIG", "SET", "repl-timeout", "1", "nosuch"},
		{"CONFIG", "SET", "daemonize", "no"},
		{"CONFIG", "SET", "databases", "3"},
		{"CONFIG", "SET", "dir", "/tmp"},
		{"CONFIG", "SET", "save", "", "appendonly", "no"},
		{"CONFIG", "SET", "min-replicas-to-write", "x"},
		{"CONFIG", "SET", "min-replicas-to-write", "-1"},
		{"CONFIG", "SET", "min-replicas-max-lag", "-1"},
		{"CONFIG", "SET", "min-slaves-max-lag", "3000000000"},
		{"CONFIG", "SET", "repl-diskless-sync", "maybe"},
		{"CONFIG", "SET", "repl-diskless-sync-delay", "-1"},
		{"CONFIG", "SET", "repl-diskless-sync-delay", "x"},
		{"CONFIG", "SET", "maxmemory", "x"},
		{"CONFIG", "SET", "maxmemory", "-1"},
		{"CONFIG", "SET", "maxmemory", "1.5gb"},
		{"CONFIG", "SET", "maxmemory-policy", "x"},
		{"CONFIG", "SET", "repl-ping-replica-period", "0"},
		{"CONFIG", "SET", "maxmemory", "100mb", "maxmemory-policy", "ALLKEYS-LRU", "min-replicas-to-write", "2", "min-replicas-max-lag", "0"},
		{"CONFIG", "SET", "repl-diskless-sync", "no", "repl-diskless-sync-delay", "0", "repl-ping-replica-period", "5"},
		{"CONFIG", "SET", "min-replicas-to-write", "1", "maxmemory", "x"}, // all or nothing
	} {
		d.do(args...)
	}
	for _, name := range []string{"repl-ping-replica-period", "repl-ping-slave-period", "min-replicas-to-write", "min-slaves-to-write",
		"min-replicas-max-lag", "min-slaves-max-lag", "repl-diskless-sync", "repl-diskless-sync-delay", "maxmemory",
		"maxmemory-policy", "repl-timeout", "save", "appendonly"} {
		d.do("CONFIG", "GET", name)
	}
}
