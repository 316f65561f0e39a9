package server

import (
	"bufio"
	"context"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
	"github.com/replikv/replikv"
	"github.com/replikv/replikv/resp"
)

// newServer returns a new store with sc and a Server of it with cfg,
// not serving yet; both are closed at the end of the test.
func newServer(t testing.TB, sc replikv.Config, cfg Config) (*replikv.Store, *Server) {
	t.Helper()
	store, err := replikv.New(sc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	cfg.Store = store
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return store, srv
}

// testNode is a store served on a loopback port.
type testNode struct {
	store *replikv.Store
	srv   *Server
	addr  string
}

// startNode serves a new store; both are closed at the end of the test.
func startNode(t testing.TB, sc replikv.Config, cfg Config) *testNode {
	t.Helper()
	if sc.AckPeriod == 0 {
		sc.AckPeriod = 50 * time.Millisecond
	}
	store, srv := newServer(t, sc, cfg)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-served; err != ErrServerClosed {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	// Serve announces the port to the store when it registers the
	// listener: a ReplicaOf right after must not race it.
	eventually(t, "Serve to register its listener", func() bool { p, _ := srv.addr(); return p != 0 })
	return &testNode{store: store, srv: srv, addr: l.Addr().String()}
}

// client returns a go-redis client of n, closed at the end of the test.
func (n *testNode) client(t testing.TB, opt *redis.Options) *redis.Client {
	t.Helper()
	if opt == nil {
		opt = &redis.Options{}
	}
	opt.Addr = n.addr
	if opt.MaxRetries == 0 {
		opt.MaxRetries = -1
	}
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return c
}

// rawConn is a plain connection to the server, for exact replies.
type rawConn struct {
	t  testing.TB
	c  net.Conn
	rd *resp.Reader
}

func (n *testNode) raw(t testing.TB) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", n.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{t: t, c: c, rd: resp.NewReader(bufio.NewReader(c), resp.Limits{})}
}

// do sends a command and returns its reply as resp.Value.String renders it.
func (r *rawConn) do(args ...string) string {
	r.t.Helper()
	r.send(args...)
	return r.read()
}

func (r *rawConn) send(args ...string) {
	r.t.Helper()
	if _, err := r.c.Write(resp.AppendCommandString(nil, args...)); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rawConn) read() string {
	r.t.Helper()
	r.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	v, err := r.rd.ReadReply()
	if err != nil {
		r.t.Fatalf("reading reply: %v", err)
	}
	return v.String()
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// infoField returns a field of an INFO text.
func infoField(info, name string) string {
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			return v
		}
	}
	return ""
}

// ctx is a context for test commands.
func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// checkNoLeak fails if goroutines started after before are still running
// once the test's cleanups (registered after this call) have run.
func checkNoLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				t.Fatalf("%d goroutines before, %d after:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
}

// exchange is a command and the reply expected, as resp.Value.String
// renders it.
type exchange struct {
	args []string
	want string
}

// expect sends each command in turn and checks its reply.
func (r *rawConn) expect(steps []exchange) {
	r.t.Helper()
	for _, s := range steps {
		if got := r.do(s.args...); got != s.want {
			r.t.Errorf("%q = %s, want %s", s.args, got, s.want)
		}
	}
}

// checkEq reports a difference between got and want.
func checkEq(t testing.TB, what string, got, want any) {
	t.Helper()
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("%s (-want +got):\n%s", what, d)
	}
}
