package server

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/replikv/replikv"
	"github.com/replikv/replikv/internal/redistest"
	"github.com/replikv/replikv/transport"
)

// TestDiffMultiServerCommands queues the server commands Redis accepts
// inside MULTI (CONFIG, CLIENT, KEYS, SCAN, WAIT …) between keyspace
// commands and compares EXEC's reply with Redis's.
func TestDiffMultiServerCommands(t *testing.T) {
	d := newConnDiffer(t, Config{})
	a := d.pair()
	a.script([]exchange{
		{[]string{"MULTI"}, "+OK"},
		{[]string{"CONFIG", "SET", "timeout", "0"}, "+QUEUED"},
		{[]string{"CONFIG", "GET", "timeout"}, "+QUEUED"},
		{[]string{"CLIENT", "SETNAME", "foo"}, "+QUEUED"},
		{[]string{"CLIENT", "GETNAME"}, "+QUEUED"},
		{[]string{"SET", "a", "1"}, "+QUEUED"},
		{[]string{"KEYS", "*"}, "+QUEUED"},
		{[]string{"SCAN", "0"}, "+QUEUED"},
		{[]string{"DBSIZE"}, "+QUEUED"},
		{[]string{"WAIT", "0", "0"}, "+QUEUED"},
		{[]string{"WAIT", "1", "0"}, "+QUEUED"}, // does not block inside EXEC
		{[]string{"CLIENT", "KILL", "TYPE", "pubsub"}, "+QUEUED"},
		{[]string{"CLIENT", "NO-EVICT", "on"}, "+QUEUED"},
		{[]string{"MONITOR"}, "+QUEUED"},
		{[]string{"DEBUG", "SLEEP", "0"}, "+QUEUED"},
		{[]string{"INCR", "a"}, "+QUEUED"},
		{[]string{"EXEC"}, `[+OK, ["timeout", "0"], +OK, "foo", +OK, ["a"], ["0", ["a"]], :1, :0, :0, :0, +OK, -ERR MONITOR isn't allowed for DENY BLOCKING client, +OK, :2]`},
		// Errors while queueing.
		{[]string{"MULTI"}, "+OK"},
		{[]string{"CLIENT", "NOSUCH"}, "-ERR unknown subcommand 'NOSUCH'. Try CLIENT HELP."},
		{[]string{"EXEC"}, "-EXECABORT Transaction discarded because of previous errors."},
		{[]string{"MULTI"}, "+OK"},
		{[]string{"CONFIG", "GET"}, "-ERR wrong number of arguments for 'config|get' command"},
		{[]string{"EXEC"}, "-EXECABORT Transaction discarded because of previous errors."},
	})
	// INFO and ROLE differ in content, not in being queued.
	r := d.node.raw(t)
	r.expect([]exchange{
		{[]string{"MULTI"}, "+OK"},
		{[]string{"INFO", "server"}, "+QUEUED"},
		{[]string{"ROLE"}, "+QUEUED"},
	})
	if got := r.do("EXEC"); !strings.HasPrefix(got, `["# Server`) || !strings.Contains(got, `, ["master", :`) {
		t.Errorf("EXEC of INFO, ROLE = %s", got)
	}
}

// TestDiffDebugDisabled checks DEBUG's refusal with Redis's default
// enable-debug-command no: at once, and while queueing.
func TestDiffDebugDisabled(t *testing.T) {
	_, sock := startRedisSock(t)
	n := startNode(t, replikv.Config{}, Config{})
	p := &rawPair{t: t, redis: dialRaw(t, "unix", sock), kv: n.raw(t)}
	const refused = `-ERR DEBUG command not allowed. If the enable-debug-command option is set to "local", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.`
	p.script([]exchange{
		{[]string{"DEBUG", "SLEEP", "0"}, refused},
		{[]string{"DEBUG", "HELP"}, refused},
		{[]string{"DEBUG"}, "-ERR wrong number of arguments for 'debug' command"},
		{[]string{"MULTI"}, "+OK"},
		{[]string{"DEBUG", "SLEEP", "0"}, refused},
		{[]string{"EXEC"}, "-EXECABORT Transaction discarded because of previous errors."},
	})
}

// TestDiffStaleReplicaPing compares a stale replica that may not serve
// stale data with Redis's: PING is refused with MASTERDOWN (and aborts a
// transaction it is queued in), ECHO is not.
func TestDiffStaleReplicaPing(t *testing.T) {
	nowhere := strconv.Itoa(redistest.FreePort(t))
	_, sock := startRedisSock(t, "--replicaof", "127.0.0.1", nowhere)
	n := startNode(t, replikv.Config{ReconnectMin: time.Hour, ReconnectMax: time.Hour, RefuseStaleReads: true}, Config{})
	if err := n.store.ReplicaOf(transport.NewMemNetwork().Dialer("nowhere")); err != nil {
		t.Fatal(err)
	}
	p := &rawPair{t: t, redis: dialRaw(t, "unix", sock), kv: n.raw(t)}
	if got := p.redis.do("CONFIG", "SET", "replica-serve-stale-data", "no"); got != "+OK" {
		t.Fatal(got)
	}
	const down = "-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."
	p.script([]exchange{
		{[]string{"PING"}, down},
		{[]string{"PING", "x"}, down},
		{[]string{"ECHO", "x"}, `"x"`},
		{[]string{"MULTI"}, "+OK"},
		{[]string{"PING"}, down},
		{[]string{"EXEC"}, "-EXECABORT Transaction discarded because of previous errors."},
		{[]string{"MULTI"}, "+OK"},
		{[]string{"ECHO", "x"}, "+QUEUED"},
		{[]string{"EXEC"}, `["x"]`},
	})
	// COMMAND shows PING's flags as Redis does: not "stale".
	if got := p.kv.do("COMMAND", "INFO", "ping"); !strings.HasPrefix(got, `[["ping", :-1, [+fast], `) {
		t.Errorf("COMMAND INFO ping = %s", got)
	}
}

// TestDiffTransactionStream compares the replication stream of
// transactions with Redis's, byte for byte: the SELECT goes before MULTI,
// a transaction of one write is not wrapped.
func TestDiffTransactionStream(t *testing.T) {
	_, sock := startRedisSock(t)
	n := startNode(t, replikv.Config{}, Config{})
	// Follow Redis's stream as a replica would.
	rc, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	rd := bufio.NewReader(rc)
	io.WriteString(rc, "PSYNC ? -1\r\n")
	rc.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := rd.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "+FULLRESYNC") {
		t.Fatalf("PSYNC: %q %v", line, err)
	}
	for {
		line, err = rd.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if line != "\n" {
			break
		}
	}
	size, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "$")))
	if err != nil || size > 1<<20 {
		t.Fatalf("RDB header %q", line)
	}
	if _, err := io.CopyN(io.Discard, rd, int64(size)); err != nil {
		t.Fatal(err)
	}
	_, from := n.store.Position()
	sub, err := n.store.Subscribe(from, replikv.SubscribeLimits{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()

	p := &rawPair{t: t, redis: dialRaw(t, "unix", sock), kv: n.raw(t)}
	p.script([]exchange{
		{[]string{"MULTI"}, "+OK"},
		{[]string{"SET", "a", "1"}, "+QUEUED"},
		{[]string{"SET", "b", "2"}, "+QUEUED"},
		{[]string{"EXEC"}, "[+OK, +OK]"},
		{[]string{"MULTI"}, "+OK"},
		{[]string{"SET", "c", "3"}, "+QUEUED"},
		{[]string{"GET", "c"}, "+QUEUED"},
		{[]string{"EXEC"}, `[+OK, "3"]`},
		{[]string{"MULTI"}, "+OK"},
		{[]string{"DEL", "a"}, "+QUEUED"},
		{[]string{"DEL", "b"}, "+QUEUED"},
		{[]string{"EXEC"}, "[:1, :1]"},
	})
	want := "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n*1\r\n$4\r\nEXEC\r\n" +
		"*3\r\n$3\r\nSET\r\n$1\r\nc\r\n$1\r\n3\r\n" +
		"*1\r\n$5\r\nMULTI\r\n*2\r\n$3\r\nDEL\r\n$1\r\na\r\n*2\r\n$3\r\nDEL\r\n$1\r\nb\r\n*1\r\n$4\r\nEXEC\r\n"
	ping := []byte("*1\r\n$4\r\nPING\r\n")
	var fromRedis []byte
	for len(fromRedis) < len(want) {
		buf := make([]byte, 4096)
		k, err := rd.Read(buf)
		if err != nil {
			t.Fatalf("reading Redis's stream: %v (so far %q)", err, fromRedis)
		}
		fromRedis = bytes.ReplaceAll(append(fromRedis, buf[:k]...), ping, nil)
	}
	var fromNode []byte
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for len(fromNode) < len(want) {
		b, _, err := sub.Next(c, nil)
		if err != nil {
			t.Fatalf("reading the node's stream: %v (so far %q)", err, fromNode)
		}
		fromNode = bytes.ReplaceAll(append(fromNode, b...), ping, nil)
	}
	checkEq(t, "Redis's stream", string(fromRedis), want)
	checkEq(t, "the node's stream", string(fromNode), want)
}

// TestWatchAbortedByReplicationStream has a client of a replica WATCH a
// key that the primary's stream then changes: EXEC aborts, as on a Redis
// replica; without a change it runs. The primary is a replikv node, then
// a real redis-server.
func TestWatchAbortedByReplicationStream(t *testing.T) {
	check := func(t *testing.T, write func(args ...string), replica *testNode) {
		r := replica.raw(t)
		eventually(t, "the replica to have k", func() bool { return r.do("GET", "k") == `"1"` })
		r.expect([]exchange{
			{[]string{"WATCH", "k"}, "+OK"},
			{[]string{"MULTI"}, "+OK"},
			{[]string{"GET", "k"}, "+QUEUED"},
			{[]string{"EXEC"}, `["1"]`},
			{[]string{"WATCH", "k"}, "+OK"},
		})
		write("SET", "k", "2")
		eventually(t, "the replica to apply the write", func() bool { return replica.store.Exists("k") && mustGet(replica.store, "k") == "2" })
		r.expect([]exchange{
			{[]string{"MULTI"}, "+OK"},
			{[]string{"GET", "k"}, "+QUEUED"},
			{[]string{"EXEC"}, "(nil)"},
			{[]string{"WATCH", "k"}, "+OK"},
		})
		write("DEL", "k")
		eventually(t, "the replica to apply the DEL", func() bool { return !replica.store.Exists("k") })
		r.expect([]exchange{
			{[]string{"MULTI"}, "+OK"},
			{[]string{"GET", "k"}, "+QUEUED"},
			{[]string{"EXEC"}, "(nil)"},
		})
	}
	t.Run("replikv", func(t *testing.T) {
		checkNoLeak(t)
		p := startNode(t, replikv.Config{}, Config{})
		rep := startNode(t, replikv.Config{}, Config{})
		if err := rep.store.ReplicaOf(transport.TCP(p.addr)); err != nil {
			t.Fatal(err)
		}
		pc := p.raw(t)
		write := func(args ...string) {
			t.Helper()
			if got := pc.do(args...); strings.HasPrefix(got, "-") {
				t.Fatalf("%q = %s", args, got)
			}
		}
		write("SET", "k", "1")
		check(t, write, rep)
	})
	t.Run("redis-server", func(t *testing.T) {
		srv := redistest.Start(t)
		rep := startNode(t, replikv.Config{}, Config{})
		if err := rep.store.ReplicaOf(transport.TCP("127.0.0.1:" + srv.Port)); err != nil {
			t.Fatal(err)
		}
		write := func(args ...string) {
			t.Helper()
			a := make([]any, len(args))
			for i, s := range args {
				a[i] = s
			}
			if err := srv.Client.Do(ctx(t), a...).Err(); err != nil {
				t.Fatalf("%q: %v", args, err)
			}
		}
		write("SET", "k", "1")
		check(t, write, rep)
	})
}

// mustGet returns key's value, or "" when it has none.
func mustGet(s *replikv.Store, key string) string {
	v, _ := s.Get(key)
	return string(v)
}
