package server

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/replikv/replikv"
	"github.com/replikv/replikv/internal/redistest"
	"github.com/replikv/replikv/resp"
)

// needRedisTool returns the path of a Redis program (redis-cli,
// redis-server), skipping the test when it is not installed, or failing it
// when REPLIKV_REQUIRE_REDIS=1.
func needRedisTool(t *testing.T, name string) string {
	t.Helper()
	return redistest.Require(t, name)
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
	c, _ := startRedisSock(t, args...)
	return c
}

// startRedisSock is startRedis, also returning the socket's path.
func startRedisSock(t *testing.T, args ...string) (*redis.Client, string) {
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
	return c, sock
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

// TestRepliesMatchRedis sends the same commands to redis-server and to the
// server and compares the replies, error texts included.
func TestRepliesMatchRedis(t *testing.T) {
	_, sock := startRedisSock(t)
	rconn, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer rconn.Close()
	real := &rawConn{t: t, c: rconn, rd: resp.NewReader(rconn, resp.Limits{})}
	ours := startNode(t, replikv.Config{}, Config{}).raw(t) // Redis's default
	far := "4102444800"                                     // 2100-01-01
	for _, line := range []string{
		"SET a 1", "GET a", "GET nope", "SET a b ex 0", "SET a b ex abc", "SET a b nx xx", "SET a b ex 1 ex 2",
		"SET a b ex 10 px 10", "SET a b keepttl ex 10", "SET a b keepttl", "SET a c GET", "SET new v NX GET",
		"SET a b px -1", "SET a b exat " + far, "EXPIRETIME a", "PEXPIRETIME a", "SET a b pxat " + far + "123",
		"PEXPIRETIME a", "SET a b", "SET past v exat 1", "EXISTS past", "SET a b persist", "SET a b get get",
		"SETEX a 0 v", "SETEX a x v", "SETEX a 100 v", "PSETEX a 0 v", "SETNX a x", "SETNX fresh x",
		"GETEX a persist ex 1", "GETEX a persist", "GETEX nope ex 0", "GETEX a ex 0", "GETEX a keepttl", "TTL a",
		"GETEX a exat " + far, "EXPIRETIME a", "GETEX a exat 1", "EXISTS a",
		"GETSET a 1", "GETSET a 2", "GETDEL a", "GETDEL a", "MSET", "MSET a", "MSET a b c", "MSET a 1 b 2",
		"MGET a b nope", "MSETNX a 1 c 3", "MSETNX c 3 d 4", "MSETNX c", "GET c",
		"INCR a", "INCRBY a 10", "INCRBY a 1.5", "INCRBY a +1", "INCRBY a -0", "DECR a", "DECRBY a 5",
		"DECRBY a -9223372036854775808", "SET big 9223372036854775807", "INCR big", "SET s 007", "INCR s",
		"APPEND s x", "APPEND fresh2 yy", "STRLEN s", "STRLEN nope",
		"EXPIRE a 10 nx xx", "EXPIRE a 10 foo", "EXPIRE a abc nx", "EXPIRE a abc", "EXPIRE a 1 gt lt",
		"PEXPIRE a 9223372036854775807", "EXPIRE a 9223372036854775807", "EXPIREAT a -9223372036854775808",
		"EXPIRE nope 10", "EXPIRE a 100 xx", "EXPIRE a 100 gt", "EXPIRE a 100 nx", "EXPIRE a 100 nx",
		"TTL a", "EXPIRE a 50 gt", "EXPIRE a 50 lt", "TTL a", "EXPIRE a 200 xx", "PERSIST a", "PERSIST a",
		"TTL a", "PTTL a", "TTL nope", "EXPIRETIME a", "PEXPIRETIME nope", "EXPIRE a -1", "EXISTS a",
		"EXISTS b b nope", "TYPE b", "TYPE nope", "DEL b nope", "UNLINK c c", "DBSIZE",
		"SELECT 1x", "SELECT 20", "SELECT 0", "foo a b", "FOO", "CLIENT foo",
		"CLIENT GETNAME", "CLIENT SETNAME x", "CLIENT GETNAME", "CLIENT", "CLIENT SETNAME",
		"HELLO 4", "HELLO abc", "HELLO 2 foo", "AUTH a", "AUTH a b c", "AUTH default x", "AUTH bob x",
		"PING", "PING a", "PING a b", "ECHO", "ECHO x",
		"SCAN abc", "SCAN 0 COUNT 0", "SCAN 0 COUNT x", "SCAN 0 MATCH", "SCAN 0 foo 1",
		"MULTI", "MULTI", "SET a", "GET a", "EXEC", "EXEC", "DISCARD",
		"MULTI", "SET a x", "INCR a", "SET b y EX 0", "GET a", "EXEC",
		"FLUSHALL foo", "FLUSHDB x", "GET", "CONFIG", "CONFIG GET", "CONFIG SET repl-timeout",
		"CONFIG SET repl-timeout abc", "CONFIG SET repl-backlog-size 1x", "CONFIG SET slave-read-only maybe",
		"CONFIG SET foo bar", "CONFIG SET repl-timeout 0", "CONFIG SET repl-timeout 30 repl-backlog-size 2mb",
		"CONFIG GET repl-timeout", "CONFIG GET repl-backlog-size", "CONFIG GET slave-read-only",
		"CONFIG GET replica-serve-stale-data", "CONFIG SET replica-serve-stale-data no",
		"WAIT 0 0", "WAIT x 0", "WAIT 1 -1", "WAIT 1 y", "REPLICAOF a abc", "REPLICAOF a 70000", "REPLICAOF a",
		"REPLICAOF NO ONE", "CLIENT KILL TYPE foo", "CLIENT KILL TYPE pubsub", "CLIENT KILL 1.2.3.4:5",
		"CLIENT KILL ID abc", "CLIENT KILL ID 9999", "CLIENT KILL foo bar", "CLIENT KILL TYPE master",
		"CLIENT LIST TYPE foo", "CLIENT LIST TYPE master", "ROLE",
		"KEYS nope*", "SET only 1", "KEYS on*", "KEYS o[mn]ly", "FLUSHALL", "DBSIZE", "FLUSHDB ASYNC",
	} {
		args := strings.Fields(line)
		want, got := real.do(args...), ours.do(args...)
		if line == "ROLE" { // the offsets differ
			want, got = strings.Fields(want)[0], strings.Fields(got)[0]
		}
		if got != want {
			t.Errorf("%s:\n\tredis %s\n\tours  %s", line, want, got)
		}
	}
}
