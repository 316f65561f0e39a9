package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// system is one of the two servers compared.
type system string

const (
	sysReplikv system = "replikv"
	sysRedis   system = "redis"
)

// node is a server process started by the harness: redis-server or the
// replikv binary.
type node struct {
	sys    system
	name   string
	port   int
	dir    string
	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has been waited for
	client *redis.Client
	// startup is the time from the process's start to its first PONG
	// (Redis answers -LOADING until its file is loaded).
	startup time.Duration
}

// addr is the node's loopback address.
func (n *node) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(n.port)) }

// pid is the node's process id.
func (n *node) pid() int { return n.cmd.Process.Pid }

// procs keeps every child process, so that each exit path can end them.
type procs struct {
	mu   sync.Mutex
	all  map[*exec.Cmd]chan struct{}
	seqn int
}

// track registers a started child and waits for it in the background; the
// returned channel is closed when it has exited.
func (p *procs) track(cmd *exec.Cmd) chan struct{} {
	done := make(chan struct{})
	p.mu.Lock()
	if p.all == nil {
		p.all = make(map[*exec.Cmd]chan struct{})
	}
	p.all[cmd] = done
	p.mu.Unlock()
	go func() {
		cmd.Wait()
		p.mu.Lock()
		delete(p.all, cmd)
		p.mu.Unlock()
		close(done)
	}()
	return done
}

// seq returns a number for naming a child's directory.
func (p *procs) seq() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seqn++
	return p.seqn
}

// killAll ends every child still running (and the processes they forked,
// such as redis-server's snapshot child), resuming stopped ones first, and
// waits for them.
func (p *procs) killAll() {
	p.mu.Lock()
	var waits []chan struct{}
	for cmd, done := range p.all {
		kill(cmd.Process.Pid)
		waits = append(waits, done)
	}
	p.mu.Unlock()
	for _, w := range waits {
		select {
		case <-w:
		case <-time.After(10 * time.Second):
		}
	}
}

// stop ends a node and waits for it.
func (e *env) stop(n *node) {
	if n == nil {
		return
	}
	n.client.Close()
	select {
	case <-n.exited:
		return // gone already: its pid may be another process's now
	default:
	}
	kill(n.pid())
	select {
	case <-n.exited:
	case <-time.After(10 * time.Second):
	}
}

// stopAll stops nodes.
func (e *env) stopAll(ns ...*node) {
	for _, n := range ns {
		e.stop(n)
	}
}

// descendants returns the processes whose parent is pid, and theirs,
// from /proc/pid/task/*/children where the kernel has it.
func descendants(pid int) []int {
	tasks, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
	if err != nil {
		return nil
	}
	var out []int
	for _, t := range tasks {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/task/" + t.Name() + "/children")
		if err != nil {
			return scanDescendants(pid)
		}
		for _, f := range strings.Fields(string(b)) {
			if c, err := strconv.Atoi(f); err == nil {
				out = append(out, c)
				out = append(out, descendants(c)...)
			}
		}
	}
	return out
}

// scanDescendants is descendants by reading every process's parent.
func scanDescendants(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	parent := map[int]int{}
	for _, en := range entries {
		c, err := strconv.Atoi(en.Name())
		if err != nil {
			continue
		}
		if pp, ok := ppid(c); ok {
			parent[c] = pp
		}
	}
	var out []int
	var walk func(int)
	walk = func(p int) {
		for c, pp := range parent {
			if pp == p {
				out = append(out, c)
				walk(c)
			}
		}
	}
	walk(pid)
	return out
}

// ppid reads the parent of pid from /proc/pid/stat.
func ppid(pid int) (int, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// pid (comm) state ppid …; comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 {
		return 0, false
	}
	p, err := strconv.Atoi(f[1])
	return p, err == nil
}

// freePort returns a loopback TCP port free at the time of the call.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// start runs a node of sys on a free port with extra redis.conf
// directives ("name", "value" pairs) and waits until it answers PING.
func (e *env) start(sys system, extra ...string) (*node, error) {
	name := fmt.Sprintf("%s-%d", sys, e.procs.seq())
	dir := filepath.Join(e.tmp, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return e.startIn(sys, name, dir, extra...)
}

// startIn is start with the node's name and directory given (P1 restarts
// a server on the directory of the one before); it records how long the
// process took from its start to its first PONG.
func (e *env) startIn(sys system, name, dir string, extra ...string) (*node, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	n := &node{sys: sys, port: port, name: name, dir: dir}
	logf, err := os.Create(filepath.Join(n.dir, "log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	ps := strconv.Itoa(port)
	switch sys {
	case sysRedis:
		args := []string{"--port", ps, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
			"--dir", n.dir, "--protected-mode", "no",
			// Not the default 5 s wait for more replicas before a
			// full sync: S4 and S6 would time it (S4 sets its own).
			"--repl-diskless-sync-delay", "0"}
		for i := 0; i+1 < len(extra); i += 2 {
			args = append(args, "--"+extra[i], extra[i+1])
		}
		n.cmd = exec.Command(e.redisServer, args...)
	case sysReplikv:
		args := []string{"--port", ps, "--bind", "127.0.0.1", "--dir", n.dir, "--protected-mode", "no"}
		for i := 0; i+1 < len(extra); i += 2 {
			args = append(args, "--"+extra[i], extra[i+1])
		}
		n.cmd = exec.Command(e.replikvBin, args...)
	}
	n.cmd.Stdout, n.cmd.Stderr = logf, logf
	n.cmd.SysProcAttr = childAttr()
	started := time.Now()
	if err := n.cmd.Start(); err != nil {
		return nil, err
	}
	n.exited = e.procs.track(n.cmd)
	n.client = newClient(n.addr())
	// A server loading its file (P1's restarts, 1M keys on a loaded
	// machine) gets longer than an empty one needs.
	deadline := started.Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := n.client.Ping(ctx).Err()
		cancel()
		if err == nil {
			n.startup = time.Since(started)
			return n, nil
		}
		select {
		case <-n.exited:
			return nil, fmt.Errorf("%s exited at start: %s", n.name, tail(filepath.Join(n.dir, "log")))
		default:
		}
		if time.Now().After(deadline) {
			e.stop(n)
			return nil, fmt.Errorf("%s did not answer PING in 60 s: %v", n.name, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// newClient returns a go-redis client of addr with generous timeouts (a
// loaded 2-core machine can stall a reply for seconds).
func newClient(addr string) *redis.Client {
	return redis.NewClient(&redis.Options{Addr: addr, Protocol: 2, MaxRetries: -1,
		ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, PoolSize: 8})
}

// loading reports whether err is Redis's LOADING reply: the replica is
// still loading what it received.
func loading(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "LOADING")
}

// tail returns the last lines of a log file, for error messages.
func tail(path string) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-5):], " | ")
}

// procKB reads a "Name:   123 kB" field of /proc/pid/status, in bytes.
func procKB(pid int, field string) (int64, error) {
	return kbField("/proc/"+strconv.Itoa(pid)+"/status", field)
}

// kbField reads a "Name: 123 kB" line of a /proc file, in bytes.
func kbField(path, field string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != field {
			continue
		}
		v, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		return v * 1024, err
	}
	return 0, fmt.Errorf("%s: no %s", path, field)
}

// rss is a node's resident set size in bytes.
func (n *node) rss() (int64, error) { return procKB(n.pid(), "VmRSS") }

// peakRSS is the node's resident high-water mark (VmHWM) in bytes.
func (n *node) peakRSS() (int64, error) { return procKB(n.pid(), "VmHWM") }

// resetPeakRSS resets VmHWM to the current RSS (clear_refs 5).
func (n *node) resetPeakRSS() error {
	return os.WriteFile("/proc/"+strconv.Itoa(n.pid())+"/clear_refs", []byte("5"), 0)
}

// childPrivate is the memory private to the node's forked children
// (redis-server's snapshot child): Private_Clean + Private_Dirty. A fork
// shares its parent's pages until one of them writes; the pages counted
// here are those no longer shared.
func (n *node) childPrivate() int64 {
	var sum int64
	for _, c := range descendants(n.pid()) {
		p := "/proc/" + strconv.Itoa(c) + "/smaps_rollup"
		a, _ := kbField(p, "Private_Clean")
		b, _ := kbField(p, "Private_Dirty")
		sum += a + b
	}
	return sum
}

// buildReplikv builds ./cmd/replikv of the module the harness is run in.
func buildReplikv(dir string) (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %v", err)
	}
	gomod := strings.TrimSpace(string(out))
	mod, _ := os.ReadFile(gomod)
	if gomod == "" || gomod == os.DevNull || !bytes.HasPrefix(mod, []byte("module github.com/replikv/replikv\n")) {
		return "", errors.New("not inside the replikv module: run from the repository or pass -replikv")
	}
	bin := filepath.Join(dir, "replikv")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/replikv")
	cmd.Dir = filepath.Dir(gomod)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/replikv: %v\n%s", err, out)
	}
	return bin, nil
}
