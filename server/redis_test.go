package server

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/replikv/replikv"
)

// needRedisTool returns the path of a Redis program (redis-cli,
// redis-server), skipping the test when it is not installed, or failing it
// when REPLIKV_REQUIRE_REDIS=1.
func needRedisTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("REPLIKV_REQUIRE_REDIS") == "1" {
			t.Fatalf("%s is required (REPLIKV_REQUIRE_REDIS=1) but not found: %v", name, err)
		}
		t.Skipf("%s not installed (apt-get install redis-tools redis-server); skipping", name)
	}
	return path
}

// TestRedisCLI talks to the server with the real redis-cli.
func TestRedisCLI(t *testing.T) {
	cli := needRedisTool(t, "redis-cli")
	n := startNode(t, replikv.Config{}, Config{})
	_, port, _ := strings.Cut(n.addr, ":")
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(cli, append([]string{"-h", "127.0.0.1", "-p", port}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("redis-cli %q: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if got := run("PING"); got != "PONG" {
		t.Errorf("PING = %q", got)
	}
	if got := run("SET", "greeting", "hello world"); got != "OK" {
		t.Errorf("SET = %q", got)
	}
	if got := run("GET", "greeting"); got != "hello world" {
		t.Errorf("GET = %q", got)
	}
	info := run("INFO", "replication")
	if !strings.HasPrefix(info, "# Replication") || infoField(info, "role") != "master" {
		t.Errorf("INFO replication = %q", info)
	}
	if got := run("--no-raw", "MGET", "greeting", "nope"); got != "1) \"hello world\"\n2) (nil)" {
		t.Errorf("MGET = %q", got)
	}
	// redis-cli's interactive start-up (COMMAND DOCS) and a script on stdin.
	cmd := exec.Command(cli, "-h", "127.0.0.1", "-p", port)
	cmd.Stdin = strings.NewReader("INCR n\nINCR n\nDBSIZE\n")
	out, err := cmd.CombinedOutput()
	if err != nil || strings.Fields(string(out))[1] != "2" || strings.Fields(string(out))[2] != "2" {
		t.Errorf("redis-cli script: %v\n%s", err, out)
	}
}

// TestGlobMatchesRedis compares matchGlob with a real redis-server's KEYS
// on fixed and random patterns.
func TestGlobMatchesRedis(t *testing.T) {
	c := startRedis(t)
	ctx := ctx(t)

	subjects := []string{"", "a", "b", "-", "]", "[", "\\", "*", "?", "^", "ab", "abc", "a]", "a-b", "hello", "h]llo", "x\\y"}
	patterns := []string{"", "*", "?", "a*", "[a-]", "[]", "[^]", "[", "[^", "[abc", "[\\]]", "a\\", "\\*", "[b-a]",
		"[a-c", "[^a-", "*]", "[]]", "[!a]", "h[]e]llo", "*\\", "[\\", "x\\\\y", "[-a]", "[a-b-c]"}
	alphabet := []byte("ab-]^[\\*?c")
	rng := rand.New(rand.NewPCG(1, 2))
	for range 300 {
		p := make([]byte, rng.IntN(6))
		for i := range p {
			p[i] = alphabet[rng.IntN(len(alphabet))]
		}
		patterns = append(patterns, string(p))
		s := make([]byte, rng.IntN(4))
		for i := range s {
			s[i] = alphabet[rng.IntN(len(alphabet))]
		}
		subjects = append(subjects, string(s))
	}
	var pairs []any
	for _, s := range subjects {
		pairs = append(pairs, "k"+s, "v")
	}
	if err := c.MSet(ctx, pairs...).Err(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for _, pat := range patterns {
		if time.Now().After(deadline) {
			t.Fatal("too slow")
		}
		keys, err := c.Keys(ctx, "k"+pat).Result()
		if err != nil {
			t.Fatal(err)
		}
		redisMatch := make(map[string]bool)
		for _, k := range keys {
			redisMatch[k] = true
		}
		for _, s := range subjects {
			if got, want := matchGlob([]byte("k"+pat), "k"+s), redisMatch["k"+s]; got != want {
				t.Errorf("pattern %q, key %q: matchGlob %v, Redis %v", "k"+pat, "k"+s, got, want)
			}
		}
	}
}

// startRedis runs redis-server on a Unix socket (no TCP port) with extra
// arguments, and returns a client of it.
func startRedis(t *testing.T, args ...string) *redis.Client {
	t.Helper()
	bin := needRedisTool(t, "redis-server")
	dir := t.TempDir()
	sock := filepath.Join(dir, "redis.sock")
	cmd := exec.Command(bin, append([]string{"--port", "0", "--unixsocket", sock, "--save", "", "--appendonly", "no",
		"--dir", dir}, args...)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(&redis.Options{Network: "unix", Addr: sock, Protocol: 2, MaxRetries: -1})
	t.Cleanup(func() {
		c.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	eventually(t, "redis-server to start", func() bool { return c.Ping(context.Background()).Err() == nil })
	return c
}

// TestRedisReplicaFollowsServer has a real redis-server replicate from
// the server: full sync through the hand-off (with AUTH), the stream
// (a transaction included), and a partial resync after CLIENT KILL TYPE
// replica.
func TestRedisReplicaFollowsServer(t *testing.T) {
	needRedisTool(t, "redis-server")
	n := startNode(t, replikv.Config{Password: "pw"}, Config{})
	pc := n.client(t, &redis.Options{Password: "pw"})
	ctx := ctx(t)
	pc.Set(ctx, "before", "1", 0)
	host, port, _ := strings.Cut(n.addr, ":")
	rc := startRedis(t, "--replicaof", host, port, "--masterauth", "pw", "--repl-diskless-load", "swapdb")
	eventually(t, "the Redis replica to sync", func() bool {
		return infoField(rc.Info(ctx, "replication").Val(), "master_link_status") == "up"
	})
	pc.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, "tx1", "a", 0)
		p.Incr(ctx, "tx2")
		return nil
	})
	pc.Set(ctx, "ttl", "x", time.Hour)
	if got := pc.Wait(ctx, 1, 10*time.Second).Val(); got != 1 {
		t.Fatalf("WAIT 1 = %d", got)
	}
	if got := rc.MGet(ctx, "before", "tx1", "tx2", "ttl").Val(); fmt.Sprint(got) != "[1 a 1 x]" {
		t.Errorf("Redis replica MGET = %v", got)
	}
	if ttl := rc.TTL(ctx, "ttl").Val(); ttl < 59*time.Minute {
		t.Errorf("Redis replica TTL = %v", ttl)
	}
	if got := pc.Do(ctx, "CLIENT", "KILL", "TYPE", "replica").Val(); got != int64(1) {
		t.Fatalf("CLIENT KILL TYPE replica = %v", got)
	}
	pc.Set(ctx, "after", "2", 0)
	eventually(t, "a partial resync", func() bool { return n.store.Info().SyncPartialOK == 1 })
	eventually(t, "the key written while the replica was away", func() bool { return rc.Get(ctx, "after").Val() == "2" })
	if in := n.store.Info(); in.SyncFull != 1 {
		t.Errorf("full syncs: %d, want 1", in.SyncFull)
	}
	role := pc.Do(ctx, "ROLE").Val().([]any)
	if reps := role[2].([]any); len(reps) != 1 || reps[0].([]any)[0] != "127.0.0.1" {
		t.Errorf("ROLE = %v", role)
	}
}
