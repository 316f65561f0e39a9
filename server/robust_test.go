package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/replikv/replikv"
	"github.com/replikv/replikv/resp"
	"github.com/replikv/replikv/transport"
)

// TestPipeline sends 1000 commands in one go-redis pipeline.
func TestPipeline(t *testing.T) {
	n := startNode(t, replikv.Config{}, Config{})
	c := n.client(t, nil)
	ctx := ctx(t)
	cmds, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := range 500 {
			p.Set(ctx, "k"+strconv.Itoa(i), i, 0)
			p.Incr(ctx, "k"+strconv.Itoa(i))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(cmds) != 1000 {
		t.Fatalf("%d replies, want 1000", len(cmds))
	}
	for i := range 500 {
		if got := cmds[2*i+1].(*redis.IntCmd).Val(); got != int64(i+1) {
			t.Fatalf("INCR k%d = %d, want %d", i, got, i+1)
		}
	}
	if got := n.store.Len(); got != 500 {
		t.Errorf("%d keys, want 500", got)
	}
}

// TestPipelineRaw writes many commands in a single write, inline ones
// included, and reads every reply in order.
func TestPipelineRaw(t *testing.T) {
	n := startNode(t, replikv.Config{}, Config{})
	r := n.raw(t)
	var b []byte
	for i := range 1000 {
		b = resp.AppendCommandString(b, "ECHO", strconv.Itoa(i))
	}
	b = append(b, "PING inline\r\n\r\n"...)
	if _, err := r.c.Write(b); err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		if got, want := r.read(), strconv.Quote(strconv.Itoa(i)); got != want {
			t.Fatalf("reply %d = %s, want %s", i, got, want)
		}
	}
	if got := r.read(); got != `"inline"` {
		t.Errorf("inline PING = %s", got)
	}
}

// TestMalformedInput checks that bad input gets an error and closes that
// connection only.
func TestMalformedInput(t *testing.T) {
	n := startNode(t, replikv.Config{}, Config{Limits: resp.Limits{MaxBulkLen: 1 << 10, MaxArrayLen: 8}})
	good := n.raw(t)
	good.do("SET", "k", "v")
	for _, bad := range []string{
		"*2\r\n$3\r\nGET\r\n$-5\r\n",          // negative length
		"*1\r\n$3\r\nGETX\r\n",                // no CRLF after the data
		"*1\r\n:1\r\n",                        // not a bulk string
		"*2\r\n$3\r\nGET\r\n$99999999999\r\n", // over MaxBulkLen
		"*1000000\r\n$3\r\nGET\r\n",           // over MaxArrayLen
		"SET \"k v\r\n",                       // unbalanced quotes
		"*1\r\n$4\r\nPI",                      // cut short (then closed)
		"*abc\r\n",                            // bad array length
	} {
		c, err := net.Dial("tcp", n.addr)
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte(bad))
		if strings.HasSuffix(bad, "PI") {
			c.(*net.TCPConn).CloseWrite()
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		reply, err := io.ReadAll(c)
		c.Close()
		if err != nil {
			t.Errorf("%q: %v (the connection was not closed)", bad, err)
		}
		if !strings.HasSuffix(bad, "PI") && !strings.HasPrefix(string(reply), "-ERR Protocol error: ") {
			t.Errorf("%q: reply %q, want a protocol error", bad, reply)
		}
	}
	if got := good.do("GET", "k"); got != `"v"` {
		t.Errorf("the other client: %s", got)
	}
}

// TestConcurrentClients runs many clients at once against one server.
func TestConcurrentClients(t *testing.T) {
	n := startNode(t, replikv.Config{}, Config{})
	c := n.client(t, &redis.Options{PoolSize: 32})
	ctx := ctx(t)
	var wg sync.WaitGroup
	const clients, ops = 32, 100
	errs := make(chan error, clients)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range ops {
				if err := c.Incr(ctx, "counter").Err(); err != nil {
					errs <- err
					return
				}
				k := fmt.Sprintf("c%d:%d", i, j)
				if err := c.Set(ctx, k, j, 0).Err(); err != nil {
					errs <- err
					return
				}
				if got := c.Get(ctx, k).Val(); got != strconv.Itoa(j) {
					errs <- fmt.Errorf("GET %s = %q", k, got)
					return
				}
				if j%10 == 0 {
					c.Info(ctx)
					c.ClientList(ctx)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := c.Get(ctx, "counter").Val(); got != strconv.Itoa(clients*ops) {
		t.Errorf("counter = %s, want %d", got, clients*ops)
	}
}

// TestCloseNoLeak checks that Close ends every goroutine the server
// started: clients (one blocked in WAIT), a replica handed to the store,
// and the listeners.
func TestCloseNoLeak(t *testing.T) {
	checkNoLeak(t)
	mem := transport.NewMemNetwork()
	store, err := replikv.New(replikv.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	srv, err := New(Config{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	ml, _ := mem.Listen("p")
	served := make(chan error, 2)
	go func() { served <- srv.Serve(l) }()
	go func() { served <- srv.Serve(ml) }()

	replica, _ := replikv.New(replikv.Config{})
	defer replica.Close()
	replica.ReplicaOf(mem.Dialer("p"))
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := replica.WaitSynced(c); err != nil {
		t.Fatal(err)
	}
	conns := make([]net.Conn, 3)
	for i := range conns {
		conns[i], _ = net.Dial("tcp", l.Addr().String())
		defer conns[i].Close()
	}
	conns[0].Write(resp.AppendCommandString(nil, "SET", "k", "v"))
	conns[0].Write(resp.AppendCommandString(nil, "WAIT", "5", "0")) // blocks: there is one replica
	eventually(t, "a client blocked in WAIT", func() bool { return srv.stats.blocked.Load() == 1 })
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := <-served; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve = %v, want ErrServerClosed", err)
		}
	}
	if err := srv.Serve(l); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve after Close = %v", err)
	}
	srv.Close() // idempotent
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadAll(c); err != nil {
			t.Errorf("a client connection was not closed: %v", err)
		}
	}
	replica.Close()
	store.Close()
}

// TestWaitClientGone checks that a client that disconnects while blocked
// in WAIT 0 (no timeout) is let go.
func TestWaitClientGone(t *testing.T) {
	ps := startPair(t, replikv.Config{}, replikv.Config{})
	c, err := net.Dial("tcp", ps.primary.addr)
	if err != nil {
		t.Fatal(err)
	}
	c.Write(resp.AppendCommandString(nil, "WAIT", "2", "0"))
	eventually(t, "a client blocked in WAIT", func() bool { return ps.primary.srv.stats.blocked.Load() == 1 })
	c.Close()
	eventually(t, "WAIT to end", func() bool { return ps.primary.srv.stats.blocked.Load() == 0 })

	// Commands pipelined behind a WAIT run once it ends.
	r := ps.primary.raw(t)
	r.send("SET", "k", "v")
	r.send("WAIT", "1", "5000")
	r.send("WAIT", "2", "50")
	r.send("GET", "k")
	for _, want := range []string{"+OK", ":1", ":1", `"v"`} {
		if got := r.read(); got != want {
			t.Errorf("reply %s, want %s", got, want)
		}
	}
	for _, tc := range [][2]string{{"x", "-ERR value is not an integer or out of range"},
		{"-1", "-ERR timeout is negative"}, {"y", "-ERR timeout is not an integer or out of range"}} {
		args := []string{"WAIT", tc[0], "0"}
		if tc[0] == "-1" || tc[0] == "y" {
			args = []string{"WAIT", "1", tc[0]}
		}
		if got := r.do(args...); got != tc[1] {
			t.Errorf("%q = %s, want %s", args, got, tc[1])
		}
	}
}

// TestMaxClients checks that a connection over MaxClients is refused.
func TestMaxClients(t *testing.T) {
	n := startNode(t, replikv.Config{}, Config{MaxClients: 2})
	a, b := n.raw(t), n.raw(t)
	a.do("PING")
	b.do("PING")
	c, err := net.Dial("tcp", n.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, _ := io.ReadAll(c)
	if string(got) != "-ERR max number of clients reached\r\n" {
		t.Errorf("third client got %q", got)
	}
	if got := a.do("INFO", "stats"); !strings.Contains(got, "rejected_connections:1") {
		t.Errorf("INFO stats = %s", got)
	}
}
