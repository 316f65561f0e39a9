// Package redistest runs real Redis programs (redis-server,
// redis-benchmark) for the interop tests of several packages.
package redistest

import (
	"bufio"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Require returns the path of the Redis program name (redis-server,
// redis-cli, redis-benchmark), skipping the test when it is not installed,
// or failing it when REPLIKV_REQUIRE_REDIS=1 (as in CI).
func Require(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("REPLIKV_REQUIRE_REDIS") == "1" {
			t.Fatalf("%s is required (REPLIKV_REQUIRE_REDIS=1) but not found: %v", name, err)
		}
		t.Skipf("%s not installed (apt-get install redis-server redis-tools); REPLIKV_REQUIRE_REDIS=1 makes this a failure", name)
	}
	return path
}

// FreePort returns a loopback TCP port free at the time of the call.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Server is a redis-server process started by a test.
type Server struct {
	Port   string
	Dir    string // its working directory, with redis.log
	Client *redis.Client
}

// Log returns the server's log so far.
func (s *Server) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "redis.log"))
	return string(b)
}

// Start runs redis-server on a free loopback port with extra arguments
// ("--name", "value" pairs) and waits until it answers PING. It is killed
// when the test ends, and its log is shown if the test failed.
func Start(t testing.TB, args ...string) *Server {
	t.Helper()
	bin := Require(t, "redis-server")
	s := &Server{Port: strconv.Itoa(FreePort(t)), Dir: t.TempDir()}
	cmd := exec.Command(bin, append([]string{"--port", s.Port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", s.Dir, "--logfile", filepath.Join(s.Dir, "redis.log"), "--protected-mode", "no"}, args...)...)
	s.Client = runUntilPing(t, cmd, s.Port, "redis-server", 10*time.Second, s.Log)
	return s
}

// runUntilPing starts cmd, a server of kind on the loopback port, and
// returns a client of it once it answers PING (within wait, else the test
// fails). The process is killed when the test ends, and log() is shown if
// the test failed.
func runUntilPing(t testing.TB, cmd *exec.Cmd, port, kind string, wait time.Duration, log func() string) *redis.Client {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + port, Protocol: 2, MaxRetries: -1})
	t.Cleanup(func() {
		c.Close()
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("%s log (port %s):\n%s", kind, port, log())
		}
	})
	deadline := time.Now().Add(wait)
	for c.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("%s on port %s did not answer PING within %v", kind, port, wait)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return c
}

// Info returns the fields of INFO section from c.
func Info(t testing.TB, c *redis.Client, section string) map[string]string {
	t.Helper()
	text, err := c.Info(context.Background(), section).Result()
	if err != nil {
		t.Fatalf("INFO %s: %v", section, err)
	}
	m := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":"); ok {
			m[k] = v
		}
	}
	return m
}

// InfoInt returns an integer field of INFO section from c.
func InfoInt(t testing.TB, c *redis.Client, section, field string) int64 {
	t.Helper()
	v, err := strconv.ParseInt(Info(t, c, section)[field], 10, 64)
	if err != nil {
		t.Fatalf("INFO %s %s: %v", section, field, err)
	}
	return v
}

// Load runs redis-benchmark against host:port (SETs of 100-byte values
// on 100,000 keys, 20 connections of 16-deep pipelines: as fast as the
// server takes them) until the returned function is called or the test
// ends.
func Load(t testing.TB, host, port string) (stop func()) {
	t.Helper()
	bench := Require(t, "redis-benchmark")
	cmd := exec.Command(bench, "-h", host, "-p", port, "-t", "set", "-n", "1000000000", "-P", "16", "-c", "20",
		"-r", "100000", "-d", "100", "-q")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cmd.Process.Kill()
			cmd.Wait()
		}
	}
	t.Cleanup(stop)
	return stop
}
