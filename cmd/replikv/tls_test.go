package main

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
	"github.com/replikv/replikv/internal/redistest"
)

// TestBinaryTLSPort: with port 0 and tls-port, the binary serves TLS
// only; go-redis and redis-cli with a client certificate get PING, SET
// and GET answered, and without one (tls-auth-clients yes, the default)
// are refused; INFO's tcp_port is the TLS port, as in Redis.
func TestBinaryTLSPort(t *testing.T) {
	bin := buildBinary(t)
	p := newPKI(t)
	tlsPort := freePort(t)
	n := startCmd(t, exec.Command(bin, append([]string{"--port", "0", "--tls-port", tlsPort}, p.serverArgs()...)...))
	if want := "127.0.0.1:" + tlsPort; n.addr != want {
		t.Fatalf("listening on %s, want %s", n.addr, want)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := redis.NewClient(&redis.Options{Addr: n.addr, TLSConfig: p.clientTLS(t, true), MaxRetries: -1})
	defer c.Close()
	if err := c.Set(ctx, "k", "over tls", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if got := c.Get(ctx, "k").Val(); got != "over tls" {
		t.Errorf("GET k = %q", got)
	}
	if got := redistest.Info(t, c, "server")["tcp_port"]; got != tlsPort {
		t.Errorf("INFO tcp_port = %s, want the TLS port %s", got, tlsPort)
	}
	noCert := redis.NewClient(&redis.Options{Addr: n.addr, TLSConfig: p.clientTLS(t, false), MaxRetries: -1})
	defer noCert.Close()
	if err := noCert.Ping(ctx).Err(); err == nil {
		t.Error("a client without a certificate was served")
	}
	plain := redis.NewClient(&redis.Options{Addr: n.addr, MaxRetries: -1, DialTimeout: 10 * time.Second, ReadTimeout: 10 * time.Second})
	defer plain.Close()
	if err := plain.Ping(ctx).Err(); err == nil {
		t.Error("a plain-text client was served on the TLS port")
	}

	n.stop(t)
	for line := range n.logs {
		if strings.Contains(line, "msg=listening") {
			t.Errorf("port 0 still listened: %s", line)
		}
	}
}

// TestBinaryBothPorts: port and tls-port are served at once; with
// tls-auth-clients optional a TLS client without a certificate is
// served; INFO's tcp_port is the plain port.
func TestBinaryBothPorts(t *testing.T) {
	bin := buildBinary(t)
	p := newPKI(t)
	tlsPort := freePort(t)
	n := startBinary(t, bin, append([]string{"--tls-port", tlsPort, "--tls-auth-clients", "optional"}, p.serverArgs()...)...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	plain := redis.NewClient(&redis.Options{Addr: n.addr, MaxRetries: -1})
	defer plain.Close()
	if err := plain.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	for _, withCert := range []bool{false, true} {
		c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + tlsPort, TLSConfig: p.clientTLS(t, withCert), MaxRetries: -1})
		if got, err := c.Get(ctx, "k").Result(); got != "v" || err != nil {
			t.Errorf("TLS client (certificate: %v): GET k = %q, %v", withCert, got, err)
		}
		c.Close()
	}
	if got, want := redistest.Info(t, plain, "server")["tcp_port"], strings.TrimPrefix(n.addr, "127.0.0.1:"); got != want {
		t.Errorf("INFO tcp_port = %s, want the plain port %s", got, want)
	}
	n.stop(t)
}

// TestBinaryReplicaOfTLSRedis: a replikv replica follows a Redis 7.0
// primary on its TLS port (tls-replication yes, the primary requiring
// client certificates) through a full sync and the stream after it,
// announcing its TLS port as Redis does; REPLICAOF at run time dials
// over TLS too.
func TestBinaryReplicaOfTLSRedis(t *testing.T) {
	bin := buildBinary(t)
	p := newPKI(t)
	tlsPort, replicaTLSPort := freePort(t), freePort(t)
	primary := redistest.Start(t, append([]string{"--tls-port", tlsPort, "--repl-diskless-sync-delay", "0"}, p.serverArgs()...)...)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	write(ctx, t, primary.Client, "before", 300)
	replica := startBinary(t, bin, append([]string{"--replicaof", "127.0.0.1", tlsPort, "--tls-replication", "yes",
		"--tls-port", replicaTLSPort}, p.serverArgs()...)...)
	rc := redis.NewClient(&redis.Options{Addr: replica.addr, MaxRetries: -1})
	defer rc.Close()
	write(ctx, t, primary.Client, "after", 300)
	waitSameKeyspace(ctx, t, primary.Client, rc)
	if got := redistest.Info(t, rc, "replication")["master_link_status"]; got != "up" {
		t.Errorf("replica master_link_status = %q", got)
	}
	if got := redistest.Info(t, primary.Client, "replication")["slave0"]; !strings.Contains(got, ",port="+replicaTLSPort+",") {
		t.Errorf("primary slave0 = %q, want the replica's TLS port %s", got, replicaTLSPort)
	}

	// REPLICAOF at run time.
	if err := rc.Do(ctx, "REPLICAOF", "NO", "ONE").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rc.Set(ctx, "diverged", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rc.Do(ctx, "REPLICAOF", "127.0.0.1", tlsPort).Err(); err != nil {
		t.Fatal(err)
	}
	write(ctx, t, primary.Client, "again", 100)
	waitSameKeyspace(ctx, t, primary.Client, rc)
	replica.stop(t)
}

// TestBinaryRedisReplicaOfTLS: a Redis 7.0 replica follows a replikv
// primary on its TLS port (tls-replication yes on Redis, client
// certificates required by replikv).
func TestBinaryRedisReplicaOfTLS(t *testing.T) {
	bin := buildBinary(t)
	redistest.Require(t, "redis-server")
	p := newPKI(t)
	tlsPort := freePort(t)
	primary := startBinary(t, bin, append([]string{"--tls-port", tlsPort}, p.serverArgs()...)...)
	pc := redis.NewClient(&redis.Options{Addr: primary.addr, MaxRetries: -1})
	defer pc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	write(ctx, t, pc, "before", 300)
	replica := redistest.Start(t, append([]string{"--replicaof", "127.0.0.1", tlsPort, "--tls-replication", "yes"}, p.serverArgs()...)...)
	write(ctx, t, pc, "after", 300)
	waitSameKeyspace(ctx, t, pc, replica.Client)
	if got := redistest.Info(t, pc, "replication")["connected_slaves"]; got != "1" {
		t.Errorf("primary connected_slaves = %q", got)
	}
	primary.stop(t)
}

// TestBinaryTLSRedisCLI: redis-cli --tls with a client certificate gets
// PING, SET and GET answered on the TLS port; without one it is refused.
func TestBinaryTLSRedisCLI(t *testing.T) {
	bin := buildBinary(t)
	cli := redistest.Require(t, "redis-cli")
	p := newPKI(t)
	tlsPort := freePort(t)
	n := startBinary(t, bin, append([]string{"--tls-port", tlsPort}, p.serverArgs()...)...)
	base := []string{"--tls", "--cacert", p.caCert, "-h", "127.0.0.1", "-p", tlsPort}
	withCert := slices.Concat(base, []string{"--cert", p.clientCert, "--key", p.clientKey})
	for _, tc := range []struct {
		cmd  []string
		want string
	}{
		{[]string{"PING"}, "PONG"},
		{[]string{"SET", "cli", "hello"}, "OK"},
		{[]string{"GET", "cli"}, "hello"},
	} {
		out, err := exec.Command(cli, slices.Concat(withCert, tc.cmd)...).CombinedOutput()
		if strings.TrimSpace(string(out)) != tc.want || err != nil {
			t.Errorf("redis-cli %s: %q, %v; want %q", strings.Join(tc.cmd, " "), out, err, tc.want)
		}
	}
	if out, _ := exec.Command(cli, slices.Concat(base, []string{"PING"})...).CombinedOutput(); strings.Contains(string(out), "PONG") {
		t.Errorf("redis-cli without a certificate was answered: %q", out)
	}
	n.stop(t)
}

// write sends n SETs of keys named prefix:i, then deletes every tenth
// and increments a counter n times.
func write(ctx context.Context, t *testing.T, c *redis.Client, prefix string, n int) {
	t.Helper()
	for i := range n {
		if err := c.Set(ctx, fmt.Sprintf("%s:%d", prefix, i), fmt.Sprint("value ", i), 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < n; i += 10 {
		if err := c.Del(ctx, fmt.Sprintf("%s:%d", prefix, i)).Err(); err != nil {
			t.Fatal(err)
		}
		if err := c.Incr(ctx, prefix+":counter").Err(); err != nil {
			t.Fatal(err)
		}
	}
}

// waitSameKeyspace polls until b holds the keys and string values a
// holds, failing with their difference at ctx's deadline.
func waitSameKeyspace(ctx context.Context, t *testing.T, a, b *redis.Client) {
	t.Helper()
	for {
		want, got := keyspace(ctx, t, a), keyspace(ctx, t, b)
		d := cmp.Diff(want, got)
		if d == "" {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("keyspaces differ (-primary +replica):\n%s", d)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// keyspace returns every key of c and its string value.
func keyspace(ctx context.Context, t *testing.T, c *redis.Client) map[string]string {
	t.Helper()
	m := map[string]string{}
	iter := c.Scan(ctx, 0, "", 1000).Iterator()
	for iter.Next(ctx) {
		m[iter.Val()] = ""
	}
	if err := iter.Err(); err != nil {
		t.Fatalf("SCAN: %v", err)
	}
	for k := range m {
		v, err := c.Get(ctx, k).Result()
		if err != nil && err != redis.Nil {
			t.Fatalf("GET %s: %v", k, err)
		}
		m[k] = v
	}
	return m
}
