package main

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestBinaryOutOfDescriptors is issue 9's defect 3 and its acceptance
// test: under a limit of 256 open files the binary lowers maxclients to
// fit (as Redis does), stays up under 1,000 connection attempts, and
// answers the ones over its limit with "max number of clients reached".
func TestBinaryOutOfDescriptors(t *testing.T) {
	bin := buildBinary(t)
	if _, err := exec.LookPath("prlimit"); err != nil {
		t.Skip("needs prlimit")
	}
	n := startCmd(t, exec.Command("prlimit", "--nofile=256:256", bin, "--port", freePort(t)))
	var open []net.Conn
	defer func() {
		for _, c := range open {
			c.Close()
		}
	}()
	accepted, refused := 0, 0
	for i := range 1000 {
		c, err := net.Dial("tcp", n.addr)
		if err != nil {
			t.Fatalf("attempt %d: %v", i, err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write([]byte("PING\r\n")); err != nil {
			t.Fatalf("attempt %d: %v", i, err)
		}
		line, err := bufio.NewReader(c).ReadString('\n')
		switch {
		case line == "+PONG\r\n":
			accepted++
			c.SetDeadline(time.Time{})
			open = append(open, c) // hold it: the clients add up
		case line == "-ERR max number of clients reached\r\n":
			refused++
			c.Close()
		default:
			t.Fatalf("attempt %d (%d accepted, %d refused): %q, %v", i, accepted, refused, line, err)
		}
	}
	t.Logf("ulimit -n 256: %d of 1000 connections accepted, %d answered \"max number of clients reached\"", accepted, refused)
	if accepted != 256-reservedFDs || refused != 1000-accepted {
		t.Errorf("%d accepted, %d refused; want %d accepted (256 minus %d reserved)", accepted, refused, 256-reservedFDs, reservedFDs)
	}
	for _, c := range open {
		c.Close()
	}
	open = nil
	// Still up, and the freed places can be used again.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", n.addr)
		if err != nil {
			t.Fatalf("after the attempts: %v", err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		c.Write([]byte("PING\r\n"))
		line, _ := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if line == "+PONG\r\n" {
			break
		}
		if time.Now().After(deadline) || !strings.Contains(line, "max number of clients") {
			t.Fatalf("PING after the attempts: %q", line)
		}
	}
	warned := false
	for len(n.logs) > 0 && !warned {
		warned = strings.Contains(<-n.logs, "maxclients reduced")
	}
	if !warned {
		t.Error("no log line says maxclients was reduced")
	}
	n.stop(t)
}

// TestBinaryHardeningConfig is defect 8 end to end: with the issue's
// config file the binary starts, FLUSHALL and CONFIG are gone and GET
// answers to its new name; with aclfile set it refuses to start and says
// why.
func TestBinaryHardeningConfig(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "hard.conf")
	os.WriteFile(conf, []byte("rename-command FLUSHALL \"\"\nrename-command CONFIG \"\"\nrename-command GET fetch\ntimeout 10\nprotected-mode yes\n"), 0o600)
	n := startCmd(t, exec.Command(bin, conf, "--port", freePort(t)))
	c := redis.NewClient(&redis.Options{Addr: n.addr, MaxRetries: -1})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]any{{"FLUSHALL"}, {"CONFIG", "GET", "timeout"}, {"GET", "k"}} {
		if err := c.Do(ctx, args...).Err(); err == nil || !strings.Contains(err.Error(), "unknown command") {
			t.Errorf("%v: %v, want unknown command", args, err)
		}
	}
	if got := c.Do(ctx, "FETCH", "k").Val(); got != "v" {
		t.Errorf("FETCH k = %v", got)
	}
	if got := c.DBSize(ctx).Val(); got != 1 {
		t.Errorf("DBSIZE = %d", got)
	}
	n.stop(t)

	// A directive whose absence would weaken the server stops it (the
	// binary would otherwise serve; the context ends it if it does).
	os.WriteFile(conf, []byte("rename-command FLUSHALL \"\"\ntls-cluster yes\n"), 0o600)
	runCtx, stop := context.WithTimeout(context.Background(), time.Minute)
	defer stop()
	out, err := exec.CommandContext(runCtx, bin, conf, "--port", freePort(t)).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), "hard.conf:2: tls-cluster is not supported") {
		t.Errorf("with tls-cluster yes: %v, output:\n%s", err, out)
	}
}
