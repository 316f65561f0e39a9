package replikv

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/replikv/replikv/internal/redistest"
)

// requireRedis returns the path of redis-server, or skips the test; with
// REPLIKV_REQUIRE_REDIS=1 (as in CI) a missing server fails it instead.
func requireRedis(t testing.TB) string {
	t.Helper()
	return redistest.Require(t, "redis-server")
}

// redisServer is a real redis-server process started by a test.
type redisServer struct {
	port   int
	dir    string
	cmd    *exec.Cmd
	client *redis.Client
}

func freePort(t testing.TB) int {
	t.Helper()
	return redistest.FreePort(t)
}

// startRedis runs redis-server on a free loopback port with extra
// arguments ("--name value" pairs) and stops it when the test ends.
func startRedis(t testing.TB, args ...string) *redisServer {
	t.Helper()
	bin := requireRedis(t)
	r := &redisServer{port: freePort(t), dir: t.TempDir()}
	all := append([]string{"--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", r.dir, "--logfile", filepath.Join(r.dir, "redis.log"), "--daemonize", "no",
		"--repl-diskless-sync-delay", "0", "--protected-mode", "no"}, args...)
	r.cmd = exec.Command(bin, all...)
	must(t, r.cmd.Start())
	t.Cleanup(func() {
		r.stop()
		if t.Failed() {
			if b, err := os.ReadFile(filepath.Join(r.dir, "redis.log")); err == nil {
				t.Logf("redis-server log (port %d):\n%s", r.port, tail(string(b), 4000))
			}
		}
	})
	r.client = redis.NewClient(&redis.Options{Addr: r.addr(), Protocol: 2, DisableIdentity: true})
	t.Cleanup(func() { r.client.Close() })
	poll(t, 10*time.Second, "redis-server to answer PING", func() bool {
		return r.client.Ping(context.Background()).Err() == nil
	})
	return r
}

// stop kills the server (idempotent).
func (r *redisServer) stop() {
	if r.cmd.ProcessState == nil {
		r.cmd.Process.Kill()
		r.cmd.Wait()
	}
}

func (r *redisServer) addr() string { return fmt.Sprintf("127.0.0.1:%d", r.port) }

func (r *redisServer) log() string {
	b, _ := os.ReadFile(filepath.Join(r.dir, "redis.log"))
	return string(b)
}

// info returns the fields of INFO <section>.
func (r *redisServer) info(t testing.TB, section string) map[string]string {
	t.Helper()
	s, err := r.client.Info(context.Background(), section).Result()
	must(t, err)
	m := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":"); ok {
			m[k] = v
		}
	}
	return m
}

func (r *redisServer) infoInt(t testing.TB, section, field string) int64 {
	t.Helper()
	v, err := strconv.ParseInt(r.info(t, section)[field], 10, 64)
	if err != nil {
		t.Fatalf("INFO %s %s: %v", section, field, err)
	}
	return v
}

// dump reads every string key of db 0 with its value and deadline.
func (r *redisServer) dump(t testing.TB) map[string]entry {
	t.Helper()
	ctx := context.Background()
	m := map[string]entry{}
	var cursor uint64
	for {
		keys, next, err := r.client.Scan(ctx, cursor, "", 2000).Result()
		must(t, err)
		pipe := r.client.Pipeline()
		gets := make([]*redis.StringCmd, len(keys))
		exps := make([]*redis.Cmd, len(keys))
		for i, k := range keys {
			gets[i] = pipe.Get(ctx, k)
			exps[i] = pipe.Do(ctx, "PEXPIRETIME", k)
		}
		pipe.Exec(ctx)
		for i, k := range keys {
			v, err := gets[i].Result()
			if err != nil {
				continue // another type, or expired meanwhile
			}
			dl, _ := exps[i].Int64()
			if dl < 0 {
				dl = 0
			}
			m[k] = entry{Value: v, Deadline: dl}
		}
		if next == 0 {
			return m
		}
		cursor = next
	}
}

// liveDump is dump of a Store without the keys whose deadline has passed
// (Redis hides them, and may have deleted them already).
func liveDump(s *Store, now int64) map[string]entry {
	m := dump(s)
	for k, e := range m {
		if e.Deadline != 0 && e.Deadline <= now {
			delete(m, k)
		}
	}
	return m
}

// fillRedisLike writes n keys of every kind the interop tests compare:
// LZF-compressible, integer (every encoding width), binary, empty and
// expiring values. put is called for each key.
func fillRedisLike(n int, seed uint64, put func(key string, value []byte, ttl time.Duration)) {
	rng := rand.New(rand.NewPCG(seed, 42))
	for i := 0; i < n; i++ {
		key := fmt.Sprintf("k:%07d", i)
		var v []byte
		var ttl time.Duration
		switch i % 6 {
		case 0:
			v = []byte(strings.Repeat("compressible-", 5+rng.IntN(20)))
		case 1:
			v = []byte(strconv.FormatInt([]int64{7, -100, 30000, -2147483648, 1 << 40}[rng.IntN(5)]+int64(i%3), 10))
		case 2:
			v = make([]byte, rng.IntN(64))
			for j := range v {
				v[j] = byte(rng.Uint32())
			}
		case 3:
			v = nil
		case 4:
			v = []byte(fmt.Sprintf("value-%d", i))
			ttl = time.Duration(1+rng.IntN(3600)) * time.Second
		default:
			v = []byte(fmt.Sprintf("%d", i*i))
		}
		put(key, v, ttl)
	}
}

func poll(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
