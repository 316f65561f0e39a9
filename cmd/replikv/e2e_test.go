package main

import (
	"bufio"
	"context"
	"io"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/replikv/replikv/internal/redistest"
)

// node is a running replikv process.
type node struct {
	cmd  *exec.Cmd
	addr string
	logs chan string // stderr lines after the listening one
}

// startBinary runs the binary with args (and --port on a free port) and
// waits for the address it listens on.
func startBinary(t *testing.T, bin string, args ...string) *node {
	t.Helper()
	return startCmd(t, exec.Command(bin, append([]string{"--port", freePort(t)}, args...)...))
}

// freePort returns a free loopback port, as a flag's value.
func freePort(t *testing.T) string {
	return strconv.Itoa(redistest.FreePort(t))
}

// startCmd runs cmd, a command line that runs the binary, and waits for
// the first address it listens on.
func startCmd(t *testing.T, cmd *exec.Cmd) *node {
	t.Helper()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default: // nobody reads the logs any more
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	re := regexp.MustCompile(`msg=listening addr=(\S+)`)
	timeout := time.After(30 * time.Second)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatal("the binary exited before listening")
			}
			if m := re.FindStringSubmatch(line); m != nil {
				return &node{cmd: cmd, addr: m[1], logs: lines}
			}
		case <-timeout:
			t.Fatal("the binary did not start listening")
		}
	}
}

// stop sends SIGTERM and checks the exit code is 0.
func (n *node) stop(t *testing.T) {
	t.Helper()
	if err := n.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- n.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v, want status 0", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the binary did not exit after SIGTERM")
	}
}

// buildBinary builds the binary into the test's directory; it skips the
// test with -short.
func buildBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := filepath.Join(t.TempDir(), "replikv")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func TestBinaryReplication(t *testing.T) {
	bin := buildBinary(t)
	primary := startBinary(t, bin, "--requirepass", "pw")
	host, port, _ := strings.Cut(primary.addr, ":")
	replica := startBinary(t, bin, "--replicaof", host+" "+port, "--masterauth", "pw", "--repl-backlog-size", "64kb")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pc := redis.NewClient(&redis.Options{Addr: primary.addr, Password: "pw", MaxRetries: -1})
	defer pc.Close()
	rc := redis.NewClient(&redis.Options{Addr: replica.addr, MaxRetries: -1})
	defer rc.Close()
	if err := pc.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	for rc.Get(ctx, "k").Val() != "v" {
		if ctx.Err() != nil {
			t.Fatal("the key did not reach the replica")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := pc.Wait(ctx, 1, 10*time.Second).Val(); got != 1 {
		t.Errorf("WAIT 1 = %d", got)
	}
	if err := rc.Set(ctx, "x", "1", 0).Err(); err == nil || !strings.HasPrefix(err.Error(), "READONLY") {
		t.Errorf("write on the replica: %v", err)
	}
	if got := rc.ConfigGet(ctx, "repl-backlog-size").Val(); got["repl-backlog-size"] != "65536" {
		t.Errorf("replica repl-backlog-size = %v", got)
	}
	if role := rc.Do(ctx, "ROLE").Val().([]any); role[0] != "slave" || role[3] != "connected" {
		t.Errorf("replica ROLE = %v", role)
	}
	replica.stop(t)
	primary.stop(t)
}
