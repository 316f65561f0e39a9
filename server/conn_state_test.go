package server

import (
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/replikv/replikv"
	"github.com/replikv/replikv/resp"
	"github.com/replikv/replikv/transport"
)

// TestDiffClientReply compares CLIENT REPLY ON|OFF|SKIP with Redis: the
// commands are pipelined, and only the replies Redis sends are read.
func TestDiffClientReply(t *testing.T) {
	d := newConnDiffer(t, Config{})
	p := d.pair()
	cmds := [][]string{
		{"CLIENT", "REPLY", "SKIP"},
		{"PING", "a"}, // skipped
		{"PING", "b"},
		{"CLIENT", "REPLY", "OFF"},
		{"PING", "c"},
		{"SET", "x", "1"},
		{"NOSUCH"},
		{"CLIENT", "REPLY", "SKIP"}, // while off: nothing
		{"PING", "d"},
		{"CLIENT", "REPLY", "ON"},
		{"PING", "e"},
		{"CLIENT", "REPLY", "SKIP"},
		{"WAIT", "0", "1"}, // a blocking command skipped
		{"PING", "f"},
		{"CLIENT", "REPLY", "x"},
		{"CLIENT", "NO-EVICT", "on"},
		{"CLIENT", "NO-EVICT", "x"},
		{"CLIENT", "REPLY"},
		{"PING", "last"},
	}
	replies := func(c *rawConn) []string {
		var b []byte
		for _, args := range cmds {
			b = resp.AppendCommandString(b, args...)
		}
		if _, err := c.c.Write(b); err != nil {
			t.Fatal(err)
		}
		var out []string
		for {
			out = append(out, c.read())
			if out[len(out)-1] == `"last"` {
				return out
			}
		}
	}
	want := replies(p.redis)
	checkEq(t, "replies (-redis +replikv)", replies(p.kv), want)
	checkEq(t, "Redis's replies", want, []string{`"b"`, "+OK", `"e"`, `"f"`, "-ERR syntax error", "+OK", "-ERR syntax error",
		"-ERR wrong number of arguments for 'client|reply' command", `"last"`})
}

// TestDiffReset compares RESET with Redis: it leaves MULTI, unwatches,
// turns replies on and clears the name.
func TestDiffReset(t *testing.T) {
	d := newConnDiffer(t, Config{})
	a, b := d.pair(), d.pair()
	a.script([]exchange{
		{[]string{"CLIENT", "SETNAME", "me"}, "+OK"},
		{[]string{"MULTI"}, "+OK"},
		{[]string{"SET", "x", "1"}, "+QUEUED"},
		{[]string{"RESET"}, "+RESET"},
		{[]string{"EXEC"}, "-ERR EXEC without MULTI"},
		{[]string{"GET", "x"}, "(nil)"},
		{[]string{"CLIENT", "GETNAME"}, "(nil)"},
		{[]string{"WATCH", "x"}, "+OK"},
		{[]string{"RESET"}, "+RESET"},
	})
	b.do("SET", "x", "2")
	a.script([]exchange{
		{[]string{"MULTI"}, "+OK"},
		{[]string{"PING"}, "+QUEUED"},
		{[]string{"EXEC"}, "[+PONG]"},
		{[]string{"RESET", "x"}, "-ERR wrong number of arguments for 'reset' command"},
		{[]string{"MULTI"}, "+OK"},
		{[]string{"RESET"}, "+RESET"}, // runs at once inside MULTI
	})
	// RESET turns replies back on, and answers.
	for _, c := range []*rawConn{a.redis, a.kv} {
		c.send("CLIENT", "REPLY", "OFF")
		if got := c.do("RESET"); got != "+RESET" {
			t.Errorf("RESET after CLIENT REPLY OFF = %s", got)
		}
	}
}

// TestResetAuth checks that RESET de-authenticates when a password is
// set, and exact bytes of EXEC's abort.
func TestResetAuth(t *testing.T) {
	n := startNode(t, replikv.Config{Password: "pw"}, Config{})
	r := n.raw(t)
	r.expect([]exchange{
		{[]string{"RESET"}, "+RESET"},
		{[]string{"AUTH", "pw"}, "+OK"},
		{[]string{"GET", "k"}, "(nil)"},
		{[]string{"RESET"}, "+RESET"},
		{[]string{"GET", "k"}, "-NOAUTH Authentication required."},
		{[]string{"AUTH", "pw"}, "+OK"},
		{[]string{"WATCH", "k"}, "+OK"},
		{[]string{"SET", "k", "1"}, "+OK"},
		{[]string{"MULTI"}, "+OK"},
		{[]string{"GET", "k"}, "+QUEUED"},
	})
	r.send("EXEC")
	r.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 5)
	if _, err := io.ReadFull(r.c, buf); err != nil || string(buf) != "*-1\r\n" {
		t.Errorf("EXEC after a watched key changed: %q %v, want *-1", buf, err)
	}
}

// TestDiffDebug compares DEBUG's subcommands with Redis: DIGEST and
// DIGEST-VALUE byte for byte over strings with and without deadlines,
// and the errors.
func TestDiffDebug(t *testing.T) {
	d := newConnDiffer(t, Config{})
	a := d.pair()
	a.expect("+0000000000000000000000000000000000000000", "DEBUG", "DIGEST")
	a.do("SET", "a", "1")
	a.do("SET", "bb", "hello", "EX", "100")
	a.do("SET", "", "")
	a.do("SET", "bin\x00", "\xff\x00x")
	a.do("SET", "n", "-12345678901234")
	a.do("DEBUG", "DIGEST")
	a.do("DEBUG", "DIGEST-VALUE", "a", "bb", "", "nope", "n")
	a.do("DEBUG", "DIGEST-VALUE")
	a.do("PERSIST", "bb")
	a.do("DEBUG", "DIGEST")
	a.script([]exchange{
		{[]string{"DEBUG", "SLEEP", "0"}, "+OK"},
		{[]string{"DEBUG", "SLEEP", "x"}, "+OK"},
		{[]string{"DEBUG", "SLEEP", "-1"}, "+OK"},
		{[]string{"DEBUG", "SLEEP", "0.001"}, "+OK"},
		{[]string{"DEBUG", "sleep", "0", "x"}, "-ERR unknown subcommand or wrong number of arguments for 'sleep'. Try DEBUG HELP."},
		{[]string{"DEBUG", "FOO"}, "-ERR unknown subcommand or wrong number of arguments for 'FOO'. Try DEBUG HELP."},
		{[]string{"DEBUG", "SET-ACTIVE-EXPIRE"}, "-ERR unknown subcommand or wrong number of arguments for 'SET-ACTIVE-EXPIRE'. Try DEBUG HELP."},
		{[]string{"DEBUG", "SET-ACTIVE-EXPIRE", "0"}, "+OK"},
		{[]string{"DEBUG", "SET-ACTIVE-EXPIRE", "1"}, "+OK"},
	})
}

// TestDebugSetActiveExpire checks that DEBUG SET-ACTIVE-EXPIRE 0 stops
// the expiry loop (an expired key stays counted until accessed) and 1
// starts it again.
func TestDebugSetActiveExpire(t *testing.T) {
	n := startNode(t, replikv.Config{ActiveExpiryInterval: 2 * time.Millisecond}, Config{EnableDebugCommand: "yes"})
	r := n.raw(t)
	r.expect([]exchange{
		{[]string{"DEBUG", "SET-ACTIVE-EXPIRE", "0"}, "+OK"},
		{[]string{"SET", "k", "v", "PX", "5"}, "+OK"},
	})
	if n.store.ActiveExpiry() {
		t.Fatal("active expiry still on")
	}
	// Some fifty expiry periods past the deadline (the loop would have
	// deleted the key in the first).
	setShortWait(100)
	if got := r.do("DBSIZE"); got != ":1" {
		t.Errorf("DBSIZE with active expiry off = %s, want :1", got)
	}
	r.do("DEBUG", "SET-ACTIVE-EXPIRE", "1")
	eventually(t, "active expiry to delete the key", func() bool { return r.do("DBSIZE") == ":0" })
}

// TestDebugSleep checks that DEBUG SLEEP blocks its client only, and that
// closing the server ends it without a leak.
func TestDebugSleep(t *testing.T) {
	checkNoLeak(t)
	n := startNode(t, replikv.Config{}, Config{EnableDebugCommand: "local"})
	sleeper := n.raw(t)
	sleeper.send("DEBUG", "SLEEP", "3600")
	eventually(t, "the sleeper to block", func() bool { return n.srv.stats.blocked.Load() == 1 })
	other := n.raw(t)
	if got := other.do("PING"); got != "+PONG" {
		t.Errorf("PING while another client sleeps = %s", got)
	}
	// A second short sleep ends on its own.
	if got := other.do("DEBUG", "SLEEP", "0.01"); got != "+OK" {
		t.Errorf("DEBUG SLEEP 0.01 = %s", got)
	}
	closed := make(chan struct{})
	go func() {
		n.srv.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close hangs while a client is in DEBUG SLEEP")
	}
}

// TestDebugLocal checks EnableDebugCommand "local" over an in-memory
// connection (local, as a Unix socket is), and the setting's validation.
func TestDebugLocal(t *testing.T) {
	store, srv := newServer(t, replikv.Config{}, Config{EnableDebugCommand: "local"})
	mem := transport.NewMemNetwork()
	ln, err := mem.Listen("srv")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	conn, err := mem.Dialer("srv").Dial(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := &rawConn{t: t, c: conn, rd: resp.NewReader(conn, resp.Limits{})}
	if got := r.do("DEBUG", "SLEEP", "0"); got != "+OK" {
		t.Errorf("DEBUG over a local connection = %s", got)
	}
	if _, err := New(Config{Store: store, EnableDebugCommand: "maybe"}); err == nil {
		t.Error("New accepted EnableDebugCommand maybe")
	}
}

// TestMonitorSlowDropped checks that a monitor that does not read is
// disconnected once its pending lines pass MonitorBufferLimit, and that
// the server neither blocks nor grows meanwhile.
func TestMonitorSlowDropped(t *testing.T) {
	checkNoLeak(t)
	n := startNode(t, replikv.Config{}, Config{MonitorBufferLimit: 64 << 10})
	mon := n.raw(t)
	mon.expect([]exchange{{[]string{"MONITOR"}, "+OK"}})
	w := n.raw(t)
	big := strings.Repeat("x", 32<<10)
	// The monitor never reads: once the socket buffers are full, lines
	// pile up in the server until the limit.
	deadline := time.Now().Add(30 * time.Second)
	for n.srv.monitors.n.Load() == 1 {
		if time.Now().After(deadline) {
			t.Fatal("the monitor was never dropped")
		}
		if got := w.do("SET", "k", big); got != "+OK" {
			t.Fatalf("SET = %s", got)
		}
	}
	// Its connection is closed: reading ends after what was sent (EOF,
	// or a reset), not with the deadline.
	mon.c.SetReadDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.Copy(io.Discard, mon.c); err != nil {
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Errorf("the dropped monitor's connection stays open: %v", err)
		}
	}
	if got := w.do("PING"); got != "+PONG" {
		t.Errorf("PING after the monitor was dropped = %s", got)
	}
}

// TestSentinelTransaction runs the transaction Redis Sentinel sends to
// reconfigure a node (without CONFIG REWRITE, which needs a config file):
// REPLICAOF and CLIENT KILL queued and run in order by EXEC.
func TestSentinelTransaction(t *testing.T) {
	p := startNode(t, replikv.Config{}, Config{})
	n := startNode(t, replikv.Config{}, Config{})
	other := n.raw(t)
	other.do("PING")
	r := n.raw(t)
	host, port, _ := strings.Cut(p.addr, ":")
	r.expect([]exchange{
		{[]string{"MULTI"}, "+OK"},
		{[]string{"REPLICAOF", host, port}, "+QUEUED"},
		{[]string{"CLIENT", "KILL", "TYPE", "normal"}, "+QUEUED"},
		{[]string{"CLIENT", "KILL", "TYPE", "pubsub"}, "+QUEUED"},
		{[]string{"EXEC"}, "[+OK, :1, :0]"},
	})
	if n.store.LinkStatus() == replikv.LinkNone {
		t.Error("the node is not a replica after EXEC")
	}
	other.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := other.c.Read(make([]byte, 1)); err == nil {
		t.Error("the other client was not killed")
	}
}

// TestMonitorNotIdle checks that a monitor is not closed for idleness,
// and that MONITOR with replies off sends no +OK but the lines.
func TestMonitorNotIdle(t *testing.T) {
	n := startNode(t, replikv.Config{}, Config{IdleTimeout: 50 * time.Millisecond})
	mon := n.raw(t)
	mon.send("CLIENT", "REPLY", "OFF")
	mon.send("MONITOR")
	eventually(t, "the monitor", func() bool { return n.srv.monitors.n.Load() == 1 })
	setShortWait(200) // four idle timeouts
	w := n.raw(t)
	w.do("SET", "k", "v")
	if got := mon.read(); !monitorPrefix.MatchString(got) || !strings.HasSuffix(got, `"SET" "k" "v"`) {
		t.Errorf("monitor line = %q", got)
	}
}

// TestMonitorsComeAndGo has monitors start and stop (MONITOR, RESET,
// disconnect) while other clients write, under the race detector, and
// checks that nothing leaks.
func TestMonitorsComeAndGo(t *testing.T) {
	checkNoLeak(t)
	n := startNode(t, replikv.Config{}, Config{})
	done := make(chan struct{})
	errs := make(chan error, 8)
	for w := range 3 {
		go func() {
			c, err := net.Dial("tcp", n.addr)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			r := &rawConn{t: t, c: c, rd: resp.NewReader(c, resp.Limits{})}
			for i := 0; ; i++ {
				select {
				case <-done:
					errs <- nil
					return
				default:
				}
				if _, err := c.Write(resp.AppendCommandString(nil, "SET", "k", strconv.Itoa(w*1000+i))); err != nil {
					errs <- err
					return
				}
				r.c.SetReadDeadline(time.Now().Add(10 * time.Second))
				if _, err := r.rd.ReadReply(); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for i := range 30 {
		m := n.raw(t)
		m.expect([]exchange{{[]string{"MONITOR"}, "+OK"}})
		if i%2 == 0 {
			m.send("RESET")
			for {
				if l := m.read(); l == "+RESET" {
					break
				}
			}
		}
		m.c.Close()
	}
	close(done)
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "the monitors to go", func() bool { return n.srv.monitors.n.Load() == 0 })
}

// TestWatchLimit checks that the keys a client watches are bounded by
// MaxQueuedBytes, and that a key watched twice counts once.
func TestWatchLimit(t *testing.T) {
	n := startNode(t, replikv.Config{}, Config{MaxQueuedBytes: 300})
	r := n.raw(t)
	r.expect([]exchange{
		{[]string{"WATCH", "a", "b"}, "+OK"},
		{[]string{"WATCH", "a", "b", "a"}, "+OK"},
		{[]string{"WATCH", "c", "d", "e"}, "-ERR too many watched keys: they exceed the server's limit for a transaction"},
		{[]string{"UNWATCH"}, "+OK"},
		{[]string{"WATCH", "c", "d"}, "+OK"},
	})
}
