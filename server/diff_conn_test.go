package server

import (
	"bufio"
	"net"
	"testing"
	"time"

	"github.com/replikv/replikv"
	"github.com/replikv/replikv/resp"
)

// connDiffer runs a redis-server and a replikv node side by side for the
// connection and transaction commands, where what matters is the exact
// reply on one connection: each pair sends a command to both over plain
// connections and compares the replies as rendered (type and value).
type connDiffer struct {
	t    *testing.T
	sock string // redis-server's Unix socket
	node *testNode
}

// newConnDiffer starts redis-server with DEBUG enabled (and args) and a
// node with cfg (DEBUG enabled too).
func newConnDiffer(t *testing.T, cfg Config, args ...string) *connDiffer {
	t.Helper()
	_, sock := startRedisSock(t, append([]string{"--enable-debug-command", "yes"}, args...)...)
	if cfg.EnableDebugCommand == "" {
		cfg.EnableDebugCommand = "yes"
	}
	return &connDiffer{t: t, sock: sock, node: startNode(t, replikv.Config{}, cfg)}
}

// dialRaw returns a plain connection, closed at the end of the test.
func dialRaw(t testing.TB, network, addr string) *rawConn {
	t.Helper()
	c, err := net.Dial(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{t: t, c: c, rd: resp.NewReader(bufio.NewReader(c), resp.Limits{})}
}

// rawPair is one client of each server.
type rawPair struct {
	t         *testing.T
	redis, kv *rawConn
}

func (d *connDiffer) pair() *rawPair {
	return &rawPair{t: d.t, redis: dialRaw(d.t, "unix", d.sock), kv: d.node.raw(d.t)}
}

// do sends args to both, fails the test when the replies differ, and
// returns Redis's.
func (p *rawPair) do(args ...string) string {
	p.t.Helper()
	want, got := p.redis.do(args...), p.kv.do(args...)
	if want != got {
		p.t.Errorf("%q: redis %s, replikv %s", args, want, got)
	}
	return want
}

// expect is do, also checking Redis's reply against want.
func (p *rawPair) expect(want string, args ...string) {
	p.t.Helper()
	if got := p.do(args...); got != want {
		p.t.Errorf("%q = %s, want %s", args, got, want)
	}
}

// script runs steps of "want" and args on the pair.
func (p *rawPair) script(steps []exchange) {
	p.t.Helper()
	for _, s := range steps {
		p.expect(s.want, s.args...)
	}
}

// Replies of execPing.
const aborted, ran = "(nil)", "[+PONG]"

// execPing runs MULTI / PING / EXEC and checks EXEC's reply.
func (p *rawPair) execPing(want string) {
	p.t.Helper()
	p.expect("+OK", "MULTI")
	p.expect("+QUEUED", "PING")
	p.expect(want, "EXEC")
}

// TestDiffWatch compares WATCH, UNWATCH and EXEC's abort with Redis:
// writes of this client and of another, EXPIRE and PERSIST, FLUSHALL and
// FLUSHDB, and what does not abort (a DEL of nothing, a FLUSHALL of keys
// not there, UNWATCH, an EXEC that ran).
func TestDiffWatch(t *testing.T) {
	d := newConnDiffer(t, Config{})
	a, b := d.pair(), d.pair()
	exec := a.execPing
	a.expect("+OK", "WATCH", "x", "y", "z")
	a.expect("+OK", "WATCH", "k")
	exec(ran)

	a.do("SET", "x", "30")
	a.expect("+OK", "WATCH", "x")
	a.do("SET", "x", "40")
	exec(aborted)

	a.expect("+OK", "WATCH", "a", "b", "x", "k", "z")
	a.do("SET", "x", "40")
	exec(aborted)
	exec(ran) // no longer watched after a failed EXEC

	a.expect("+OK", "WATCH", "x")
	exec(ran)
	a.do("SET", "x", "50")
	exec(ran) // nor after one that ran

	a.expect("+OK", "WATCH", "x")
	a.do("SET", "x", "60")
	a.expect("+OK", "UNWATCH")
	exec(ran)
	a.expect("+OK", "UNWATCH")

	// Another client's write.
	a.expect("+OK", "WATCH", "x")
	b.do("INCR", "x")
	exec(aborted)
	// The same value written again is a write.
	a.expect("+OK", "WATCH", "x")
	b.do("SET", "x", "61")
	exec(aborted)

	// EXPIRE and PERSIST change a key.
	a.expect("+OK", "WATCH", "x")
	b.do("EXPIRE", "x", "100")
	exec(aborted)
	a.expect("+OK", "WATCH", "x")
	b.do("PERSIST", "x")
	exec(aborted)
	a.expect("+OK", "WATCH", "x")
	b.do("PERSIST", "x") // no deadline: nothing changes
	b.do("EXPIRE", "x", "100", "GT")
	exec(ran)

	// Deleting nothing is no change; deleting a key is.
	a.expect("+OK", "WATCH", "nothere")
	b.do("DEL", "nothere")
	exec(ran)
	a.expect("+OK", "WATCH", "x")
	b.do("DEL", "x")
	exec(aborted)

	// FLUSHALL and FLUSHDB touch the keys they delete, not the others.
	for _, flush := range []string{"FLUSHALL", "FLUSHDB"} {
		b.do("SET", "x", "1")
		a.expect("+OK", "WATCH", "x")
		b.do(flush)
		exec(aborted)
		a.expect("+OK", "WATCH", "x")
		b.do(flush)
		exec(ran)
	}

	// A failed NX write changes nothing; a key created is a change.
	b.do("SET", "x", "1")
	a.expect("+OK", "WATCH", "x")
	b.do("SET", "x", "2", "NX")
	exec(ran)
	a.expect("+OK", "WATCH", "new")
	b.do("SET", "new", "1")
	exec(aborted)

	// The transaction's own writes run when nothing changed.
	a.expect("+OK", "WATCH", "x")
	a.expect("+OK", "MULTI")
	a.expect("+QUEUED", "INCR", "x")
	a.expect("[:2]", "EXEC")

	// WATCH inside MULTI is refused without aborting; UNWATCH is queued.
	a.expect("+OK", "MULTI")
	a.expect("-ERR WATCH inside MULTI is not allowed", "WATCH", "x")
	a.expect("+QUEUED", "UNWATCH")
	a.expect("[+OK]", "EXEC")
	a.expect("-ERR wrong number of arguments for 'watch' command", "WATCH")

	// An error while queueing wins over a watched key's change.
	a.expect("+OK", "WATCH", "x")
	b.do("SET", "x", "9")
	a.expect("+OK", "MULTI")
	a.do("NOSUCHCOMMAND")
	a.expect("-EXECABORT Transaction discarded because of previous errors.", "EXEC")
	exec(ran)

	// DISCARD unwatches.
	a.expect("+OK", "WATCH", "x")
	b.do("SET", "x", "10")
	a.expect("+OK", "MULTI")
	a.expect("+OK", "DISCARD")
	exec(ran)
}

// TestDiffWatchExpiry checks Redis 7.0's expiry semantics against
// redis-server: a watched key whose deadline passes aborts EXEC, deleted
// by expiry (lazily or actively) or not; one that had expired already
// when WATCHed does not, once deleted, but a write after it does.
func TestDiffWatchExpiry(t *testing.T) {
	d := newConnDiffer(t, Config{})
	a, b := d.pair(), d.pair()
	exec := a.execPing
	// setShort sets k to expire in 30 ms and returns when it has.
	setShort := func(k string) {
		t.Helper()
		a.expect("+OK", "SET", k, "v", "PX", "30")
		setShortWait(30)
	}
	a.expect("+OK", "DEBUG", "SET-ACTIVE-EXPIRE", "0")

	// Expired after WATCH, never touched.
	a.expect("+OK", "SET", "k", "v", "PX", "30")
	a.expect("+OK", "WATCH", "k")
	setShortWait(30)
	exec(aborted)

	// Expired after WATCH and deleted by another client's read.
	a.expect("+OK", "SET", "k", "v", "PX", "30")
	a.expect("+OK", "WATCH", "k")
	setShortWait(30)
	b.expect("(nil)", "GET", "k")
	exec(aborted)

	// Expired before WATCH, deleted after.
	setShort("k")
	a.expect("+OK", "WATCH", "k")
	b.expect(":0", "EXISTS", "k")
	exec(ran)

	// Expired, then written again.
	setShort("k")
	a.expect("+OK", "WATCH", "k")
	b.expect("+OK", "SET", "k", "again")
	exec(aborted)

	// Expired before WATCH, then flushed.
	setShort("k")
	a.expect("+OK", "WATCH", "k")
	b.expect("+OK", "FLUSHALL")
	exec(ran)

	// Deleted by active expiry.
	a.expect("+OK", "DEBUG", "SET-ACTIVE-EXPIRE", "1")
	a.expect("+OK", "SET", "k", "v", "PX", "30")
	a.expect("+OK", "WATCH", "k")
	eventually(t, "active expiry on both", func() bool {
		return b.redis.do("DBSIZE") == ":0" && b.kv.do("DBSIZE") == ":0"
	})
	exec(aborted)
}

// setShortWait waits ms milliseconds and a little more, for a deadline
// set that far ahead to pass (a wait for the clock, not for a condition).
func setShortWait(ms int) {
	deadline := time.Now().Add(time.Duration(ms+5) * time.Millisecond)
	for time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
}
