package server

import (
	"bytes"
	"net"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
	"github.com/replikv/replikv"
	"github.com/replikv/replikv/resp"
)

// TestTransaction runs a go-redis TxPipelined and checks its replies and
// that the stream carries it as MULTI … EXEC.
func TestTransaction(t *testing.T) {
	n := startNode(t, replikv.Config{}, Config{})
	c := n.client(t, nil)
	ctx := ctx(t)
	_, from := n.store.Position()
	sub, err := n.store.Subscribe(from, replikv.SubscribeLimits{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	cmds, err := c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, "a", "1", 0)
		p.Incr(ctx, "a")
		p.Get(ctx, "a")
		p.Del(ctx, "nope")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, cmd := range cmds {
		got = append(got, cmd.String())
	}
	want := []string{"set a 1: OK", "incr a: 2", "get a: 2", "del nope: 0"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("replies (-want +got):\n%s", d)
	}
	_, end := n.store.Position()
	var stream []byte
	for int64(len(stream)) < end-from {
		b, _, err := sub.Next(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		stream = append(stream, b...)
	}
	if d := cmp.Diff([]string{"MULTI", "SET a 1", "SET a 2", "EXEC"}, streamCommands(t, stream)); d != "" {
		t.Errorf("stream (-want +got):\n%s", d)
	}
}

// streamCommands decodes stream bytes into commands, upper-casing their
// names and leaving out SELECT and PING.
func streamCommands(t *testing.T, stream []byte) []string {
	t.Helper()
	rd := resp.NewReader(bytes.NewReader(stream), resp.Limits{})
	var out []string
	for {
		cmd, err := rd.ReadCommand()
		if err != nil {
			break
		}
		name := strings.ToUpper(string(cmd.Args[0]))
		if name == "SELECT" || name == "PING" {
			continue
		}
		parts := []string{name}
		for _, a := range cmd.Args[1:] {
			parts = append(parts, string(a))
		}
		out = append(out, strings.Join(parts, " "))
	}
	return out
}

func TestTransactionErrors(t *testing.T) {
	n := startNode(t, replikv.Config{}, Config{})
	r := n.raw(t)
	steps := []exchange{
		{[]string{"EXEC"}, "-ERR EXEC without MULTI"},
		{[]string{"DISCARD"}, "-ERR DISCARD without MULTI"},
		// An error while queueing aborts the transaction.
		{[]string{"MULTI"}, "+OK"},
		{[]string{"MULTI"}, "-ERR MULTI calls can not be nested"},
		{[]string{"SET", "a", "1"}, "+QUEUED"},
		{[]string{"SET", "a"}, "-ERR wrong number of arguments for 'set' command"},
		{[]string{"FOO"}, "-ERR unknown command 'FOO', with args beginning with: "},
		{[]string{"EXEC"}, "-EXECABORT Transaction discarded because of previous errors."},
		{[]string{"GET", "a"}, "(nil)"},
		// Commands refused inside MULTI.
		{[]string{"MULTI"}, "+OK"},
		{[]string{"SYNC"}, "-ERR Command not allowed inside a transaction"},
		{[]string{"PSYNC", "?", "-1"}, "-ERR Command not allowed inside a transaction"},
		{[]string{"EXEC"}, "-EXECABORT Transaction discarded because of previous errors."},
		// DISCARD drops the queue.
		{[]string{"MULTI"}, "+OK"},
		{[]string{"SET", "a", "1"}, "+QUEUED"},
		{[]string{"DISCARD"}, "+OK"},
		{[]string{"GET", "a"}, "(nil)"},
		// Errors while running are replies inside EXEC; nothing is rolled back.
		{[]string{"MULTI"}, "+OK"},
		{[]string{"SET", "a", "x"}, "+QUEUED"},
		{[]string{"INCR", "a"}, "+QUEUED"},
		{[]string{"SET", "b", "y", "EX", "0"}, "+QUEUED"},
		{[]string{"SET", "c", "z"}, "+QUEUED"},
		{[]string{"DBSIZE"}, "+QUEUED"},
		{[]string{"PING"}, "+QUEUED"},
		{[]string{"EXEC"}, `[+OK, -ERR value is not an integer or out of range, -ERR invalid expire time in 'set' command, +OK, :2, +PONG]`},
		{[]string{"MGET", "a", "b", "c"}, `["x", (nil), "z"]`},
		{[]string{"MULTI"}, "+OK"},
		{[]string{"EXEC"}, "[]"},
	}
	r.expect(steps)
	if got := r.do("CLIENT", "LIST"); !strings.Contains(got, " multi=-1 ") {
		t.Errorf("CLIENT LIST after EXEC = %s", got)
	}
}

// TestTransactionQueueLimit checks that MaxQueuedBytes bounds a
// transaction.
func TestTransactionQueueLimit(t *testing.T) {
	n := startNode(t, replikv.Config{}, Config{MaxQueuedBytes: 300})
	r := n.raw(t)
	r.do("MULTI")
	if got := r.do("SET", "k", strings.Repeat("x", 50)); got != "+QUEUED" {
		t.Fatalf("SET = %s", got)
	}
	if got := r.do("SET", "k", strings.Repeat("x", 50)); !strings.HasPrefix(got, "-ERR transaction too large") {
		t.Errorf("SET over the limit = %s", got)
	}
	if got := r.do("EXEC"); got != "-EXECABORT Transaction discarded because of previous errors." {
		t.Errorf("EXEC = %s", got)
	}
}

// TestTransactionQueueCost is issue 9's defect 5: MaxQueuedBytes must
// bound what the queue really costs, so that many tiny commands (GET "",
// 3 bytes of arguments each) cannot take many times the limit. The heap
// growth with the queue full stays within the limit (plus the client's
// own reading and slack).
func TestTransactionQueueCost(t *testing.T) {
	const limit = 8 << 20
	n := startNode(t, replikv.Config{}, Config{MaxQueuedBytes: limit})
	c, err := net.Dial("tcp", n.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const cmds = 200_000
	type counts struct{ queued, refused int }
	done := make(chan counts, 1)
	go func() { // read the replies while the commands are written
		rd := resp.NewReader(c, resp.Limits{})
		var n counts
		for range cmds + 1 {
			v, err := rd.ReadReply()
			if err != nil {
				break
			}
			switch s := v.String(); {
			case s == "+QUEUED":
				n.queued++
			case strings.HasPrefix(s, "-ERR transaction too large"):
				n.refused++
			}
		}
		done <- n
	}()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	batch := []byte("MULTI\r\n")
	for range cmds {
		batch = append(batch, "*2\r\n$3\r\nGET\r\n$0\r\n\r\n"...)
	}
	if _, err := c.Write(batch); err != nil {
		t.Fatal(err)
	}
	got := <-done
	batch = nil
	runtime.GC()
	runtime.ReadMemStats(&after)
	grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d GET \"\" queued, %d refused; heap grew %d bytes (limit %d, %d bytes a queued command)",
		got.queued, got.refused, grew, limit, grew/int64(max(got.queued, 1)))
	if got.refused == 0 || got.queued+got.refused != cmds {
		t.Fatalf("queued %d, refused %d of %d", got.queued, got.refused, cmds)
	}
	if grew > limit*5/4 {
		t.Errorf("the queue took %d bytes of heap for a %d-byte limit", grew, limit)
	}
	if got := (&rawConn{t: t, c: c, rd: resp.NewReader(c, resp.Limits{})}).do("EXEC"); !strings.HasPrefix(got, "-EXECABORT") {
		t.Errorf("EXEC = %s", got)
	}
}

// TestEveryCommandInExec queues every command that MULTI accepts and runs
// it inside EXEC: none may block, nor deadlock on the store's locks (the
// keyspace commands run on the transaction, the others outside it).
func TestEveryCommandInExec(t *testing.T) {
	n := startNode(t, replikv.Config{}, Config{EnableDebugCommand: "yes"})
	r := n.raw(t)
	var all []*command
	for _, name := range sortedNames(commands) {
		c := commands[name]
		if name == "quit" {
			continue // closes the connection
		}
		if c.run != nil {
			all = append(all, c)
		}
		for _, sub := range sortedNames(c.subs) {
			all = append(all, c.subs[sub])
		}
	}
	queued := 0
	for _, c := range all {
		args := strings.Split(c.name, "|")
		for len(args) < max(c.arity, -c.arity) {
			args = append(args, "1")
		}
		r.do("MULTI")
		got := r.do(args...)
		if c.flags&(fNoMulti|fImmediate) != 0 {
			if got != "-ERR Command not allowed inside a transaction" && c.flags&fImmediate == 0 {
				t.Errorf("%q in MULTI = %s", args, got)
			}
			r.do("DISCARD")
			continue
		}
		if got != "+QUEUED" {
			t.Errorf("%q in MULTI = %s", args, got)
		}
		if got := r.do("EXEC"); !strings.HasPrefix(got, "[") {
			t.Errorf("EXEC of %q = %s", args, got)
		}
		if c.name == "replicaof" || c.name == "slaveof" {
			r.do("REPLICAOF", "NO", "ONE")
		}
		if c.name == "subscribe" || c.name == "psubscribe" {
			r.do("RESET") // leave subscribed mode
		}
		queued++
	}
	if queued < 30 {
		t.Errorf("only %d commands ran inside EXEC", queued)
	}
}
