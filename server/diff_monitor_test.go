package server

import (
	"bufio"
	"io"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/replikv/replikv"
	"github.com/replikv/replikv/internal/redistest"
	"github.com/replikv/replikv/transport"
)

// monitorPrefix matches the start of a MONITOR line: the time, the
// database and the client's address.
var monitorPrefix = regexp.MustCompile(`^\+\d+\.\d{6} \[(\d+) ([^\]]+)\] `)

// readMonitor reads MONITOR lines from r until one ends with last, and
// returns them without the time, with deadlines of PXAT as T and, unless
// keepAddr, the address as ADDR.
func readMonitor(t *testing.T, r *rawConn, last string, keepAddr bool) []string {
	t.Helper()
	pxat := regexp.MustCompile(`"PXAT" "\d+"`)
	var lines []string
	for {
		l := r.read()
		m := monitorPrefix.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("not a MONITOR line: %q", l)
		}
		addr := "ADDR"
		if keepAddr {
			addr = m[2]
		}
		rest := pxat.ReplaceAllString(l[len(m[0]):], `"PXAT" "T"`)
		lines = append(lines, "["+m[1]+" "+addr+"] "+rest)
		if rest == last {
			return lines
		}
	}
}

// TestDiffMonitor compares what MONITOR shows with Redis: commands after
// they ran, those of a transaction at EXEC, neither refused commands nor
// administrative ones, credentials redacted, arguments quoted.
func TestDiffMonitor(t *testing.T) {
	checkNoLeak(t)
	d := newConnDiffer(t, Config{})
	mon := d.pair()
	mon.expect("+OK", "MONITOR")
	a := d.pair()
	a.do("SET", `"quo"te`, "a b\x01\xc3\xa9\x00\t\n\r\a\b\\\x7f")
	a.do("MULTI")
	a.do("SET", "a", "1")
	a.do("GET", "a")
	a.do("EXEC")
	a.do("MULTI")
	a.do("SET", "a")
	a.do("EXEC")
	a.do("MULTI")
	a.do("INCR", "a")
	a.do("DISCARD")
	a.do("WATCH", "a")
	a.do("UNWATCH")
	a.do("AUTH", "pw")
	a.do("AUTH", "default", "pw")
	a.redis.do("HELLO", "2", "AUTH", "default", "pw", "SETNAME", "me")
	a.kv.do("HELLO", "2", "AUTH", "default", "pw", "SETNAME", "me")
	a.do("CONFIG", "GET", "timeout")
	a.do("CLIENT", "SETNAME", "foo")
	a.redis.do("CLIENT", "LIST", "ID", "1")
	a.kv.do("CLIENT", "LIST", "ID", "1")
	a.do("NOSUCH", "x")
	a.do("SELECT", "0")
	a.do("DEBUG", "SLEEP", "0")
	for _, c := range []*rawConn{a.redis, a.kv} {
		io.WriteString(c.c, "PING \"a b\" c\r\n")
		c.read()
	}
	a.do("RESET")
	a.do("ECHO", "END")
	want := readMonitor(t, mon.redis, `"ECHO" "END"`, false)
	got := readMonitor(t, mon.kv, `"ECHO" "END"`, false)
	checkEq(t, "MONITOR lines (-redis +replikv)", got, want)
	// RESET ends monitoring.
	mon.expect("+RESET", "RESET")
	a.do("SET", "after", "1")
	mon.expect("+PONG", "PING")
}

// TestMonitorRedisCLI reads the server's MONITOR with the real redis-cli.
func TestMonitorRedisCLI(t *testing.T) {
	cli := needRedisTool(t, "redis-cli")
	n := startNode(t, replikv.Config{}, Config{})
	_, port, _ := strings.Cut(n.addr, ":")
	cmd := exec.Command(cli, "-h", "127.0.0.1", "-p", port, "monitor")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	eventually(t, "redis-cli to monitor", func() bool { return n.srv.monitors.n.Load() == 1 })
	r := n.raw(t)
	r.do("SET", "k", "hello world")
	r.do("MULTI")
	r.do("INCR", "n")
	r.do("EXEC")
	r.do("ECHO", "END")
	want := []*regexp.Regexp{
		regexp.MustCompile(`^OK$`),
		regexp.MustCompile(`^\d{10}\.\d{6} \[0 127\.0\.0\.1:\d+\] "SET" "k" "hello world"$`),
		regexp.MustCompile(`^\d{10}\.\d{6} \[0 127\.0\.0\.1:\d+\] "MULTI"$`),
		regexp.MustCompile(`^\d{10}\.\d{6} \[0 127\.0\.0\.1:\d+\] "INCR" "n"$`),
		regexp.MustCompile(`^\d{10}\.\d{6} \[0 127\.0\.0\.1:\d+\] "EXEC"$`),
		regexp.MustCompile(`^\d{10}\.\d{6} \[0 127\.0\.0\.1:\d+\] "ECHO" "END"$`),
	}
	timeout := time.After(10 * time.Second)
	for i, re := range want {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("redis-cli ended after %d lines", i)
			}
			if !re.MatchString(l) {
				t.Errorf("line %d = %q, want %s", i, l, re)
			}
		case <-timeout:
			t.Fatalf("timed out at line %d", i)
		}
	}
}

// TestDiffMonitorReplica compares a replica's MONITOR with a Redis
// replica's while both follow the same redis-server: the primary's
// commands are shown, with its address, MULTI and EXEC included.
func TestDiffMonitorReplica(t *testing.T) {
	checkNoLeak(t)
	m := redistest.Start(t, "--repl-ping-replica-period", "3600")
	_, sock := startRedisSock(t, "--replicaof", "127.0.0.1", m.Port)
	n := startNode(t, replikv.Config{}, Config{})
	if err := n.store.ReplicaOf(transport.TCP("127.0.0.1:" + m.Port)); err != nil {
		t.Fatal(err)
	}
	mon := &rawPair{t: t, redis: dialRaw(t, "unix", sock), kv: n.raw(t)}
	eventually(t, "both replicas to sync", func() bool {
		return strings.Contains(mon.redis.do("INFO", "replication"), "master_link_status:up") &&
			n.store.LinkStatus() == replikv.LinkUp
	})
	mon.expect("+OK", "MONITOR")
	// The node's feed starts at once, but only reads the stream from
	// where it is when it starts.
	eventually(t, "the node's replica feed", func() bool {
		return n.srv.monitors.n.Load() == 1
	})
	c := m.Client
	cx := ctx(t)
	c.Set(cx, "k", "v", 0)
	c.TxPipelined(cx, func(p redis.Pipeliner) error {
		p.Set(cx, "a", "1", 0)
		p.Incr(cx, "a")
		return nil
	})
	c.Do(cx, "SET", "t", "x", "EX", "100")
	c.Do(cx, "SET", "end", "1")
	want := readMonitor(t, mon.redis, `"SET" "end" "1"`, true)
	got := readMonitor(t, mon.kv, `"SET" "end" "1"`, true)
	checkEq(t, "replica MONITOR lines (-redis +replikv)", got, want)
	if len(want) < 5 || !strings.Contains(want[0], "[0 127.0.0.1:"+m.Port+"]") {
		t.Errorf("Redis's lines: %q", want)
	}
}
