package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
)

// TestNetnsPartition runs a primary and a replica as two processes in two
// Linux network namespaces joined by a veth pair (with netem delay and
// loss when the kernel has it), partitions them by taking the link down
// while writes go on, heals, and checks that the replica converges with a
// partial resync. It needs root and iproute2, and skips without them.
func TestNetnsPartition(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and sets up network namespaces")
	}
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("iproute2 (ip) is not installed")
	}
	n := newNetns(t)
	bin := buildBinary(t)
	const port = "7400"
	// Clients and the replica come from other hosts: no protected mode
	// (no password either), as for a Redis set up this way.
	n.start(t, "a", bin, "--port", port, "--bind", "0.0.0.0", "--protected-mode", "no", "--repl-timeout", "2", "--repl-backlog-size", "4mb")
	n.start(t, "b", bin, "--port", port, "--bind", "0.0.0.0", "--protected-mode", "no", "--repl-timeout", "2",
		"--replicaof", n.peerAddr("a")+" "+port)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	pc := redis.NewClient(&redis.Options{Addr: n.hostAddr("a") + ":" + port, MaxRetries: -1})
	defer pc.Close()
	rc := redis.NewClient(&redis.Options{Addr: n.hostAddr("b") + ":" + port, MaxRetries: -1})
	defer rc.Close()
	// The binaries start in the background: wait until both answer.
	for _, c := range []*redis.Client{pc, rc} {
		for c.Ping(ctx).Err() != nil {
			if ctx.Err() != nil {
				t.Fatalf("%s does not answer PING", c.Options().Addr)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	write := func(from, to int) {
		pipe := pc.Pipeline()
		for i := from; i < to; i++ {
			pipe.Set(ctx, fmt.Sprintf("k:%05d", i), fmt.Sprintf("v%d", i), 0)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	write(0, 2000)
	converge(ctx, t, pc, rc)

	syncs := func() string {
		info := pc.Info(ctx, "stats").Val()
		return regexp.MustCompile(`sync_partial_ok:\d+`).FindString(info)
	}
	before := syncs()
	n.ip(t, "-n", n.ns("a"), "link", "set", n.link("a"), "down")
	write(2000, 3000) // the replica cannot get these
	status := func() string {
		return regexp.MustCompile(`master_link_status:\w+`).FindString(rc.Info(ctx, "replication").Val())
	}
	for status() != "master_link_status:down" {
		if ctx.Err() != nil {
			t.Fatal("the replica did not notice the partition")
		}
		time.Sleep(50 * time.Millisecond)
	}
	n.ip(t, "-n", n.ns("a"), "link", "set", n.link("a"), "up")
	write(3000, 3500)
	converge(ctx, t, pc, rc)
	if after := syncs(); after == before {
		t.Errorf("no partial resync after the partition healed (%s)", after)
	}
}

// converge waits until both servers hold the same keys and values.
func converge(ctx context.Context, t *testing.T, a, b *redis.Client) {
	t.Helper()
	for {
		da, db := dumpKeys(ctx, t, a), dumpKeys(ctx, t, b)
		if cmp.Equal(da, db) && len(da) > 0 {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("no convergence (-primary +replica):\n%s", cmp.Diff(da, db))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func dumpKeys(ctx context.Context, t *testing.T, c *redis.Client) map[string]string {
	t.Helper()
	keys, err := c.Keys(ctx, "*").Result()
	if err != nil {
		return nil
	}
	m := map[string]string{}
	if len(keys) == 0 {
		return m
	}
	vals, err := c.MGet(ctx, keys...).Result()
	if err != nil {
		return nil
	}
	for i, k := range keys {
		if s, ok := vals[i].(string); ok {
			m[k] = s
		}
	}
	return m
}

// netns is two namespaces, a and b, joined by a veth pair on
// 10.231.<id>.0/24, each also joined to the test's own namespace (so the
// test can reach them) on 10.232.<id>.0/24 and 10.233.<id>.0/24.
type netns struct {
	id string
}

func newNetns(t *testing.T) *netns {
	n := &netns{id: fmt.Sprint(os.Getpid() % 250)}
	if out, err := exec.Command("ip", "netns", "add", n.ns("a")).CombinedOutput(); err != nil {
		t.Skipf("cannot create a network namespace here: %v: %s", err, out)
	}
	t.Cleanup(func() {
		// Deleting a namespace deletes the veth ends inside it and their peers.
		exec.Command("ip", "netns", "del", n.ns("a")).Run()
		exec.Command("ip", "netns", "del", n.ns("b")).Run()
	})
	n.ip(t, "netns", "add", n.ns("b"))
	n.ip(t, "link", "add", n.link("a"), "type", "veth", "peer", "name", n.link("b"))
	for i, side := range []string{"a", "b"} {
		n.ip(t, "link", "set", n.link(side), "netns", n.ns(side))
		n.ip(t, "-n", n.ns(side), "addr", "add", n.peerAddr(side)+"/24", "dev", n.link(side))
		host, inside := "rkh"+n.id+side, "rki"+n.id+side
		n.ip(t, "link", "add", host, "type", "veth", "peer", "name", inside)
		n.ip(t, "link", "set", inside, "netns", n.ns(side))
		subnet := fmt.Sprintf("10.%d.%s", 232+i, n.id)
		n.ip(t, "addr", "add", subnet+".1/24", "dev", host)
		n.ip(t, "link", "set", host, "up")
		n.ip(t, "-n", n.ns(side), "addr", "add", subnet+".2/24", "dev", inside)
		for _, dev := range []string{"lo", inside, n.link(side)} {
			n.ip(t, "-n", n.ns(side), "link", "set", dev, "up")
		}
	}
	// Delay and loss on the replication link, when the kernel has netem.
	out, err := exec.Command("ip", "netns", "exec", n.ns("a"), "tc", "qdisc", "add", "dev", n.link("a"), "root", "netem", "delay", "5ms", "1ms", "loss", "1%").CombinedOutput()
	if err != nil {
		t.Logf("no netem on this kernel (%v: %s): the link has no added delay or loss", err, strings.TrimSpace(string(out)))
	}
	return n
}

func (n *netns) ns(side string) string { return "rkv" + n.id + side }

// link is side's end of the veth between the namespaces.
func (n *netns) link(side string) string { return "rkl" + n.id + side }

// peerAddr is side's address on the link between the namespaces.
func (n *netns) peerAddr(side string) string {
	if side == "a" {
		return "10.231." + n.id + ".1"
	}
	return "10.231." + n.id + ".2"
}

// hostAddr is side's address as the test reaches it.
func (n *netns) hostAddr(side string) string {
	if side == "a" {
		return "10.232." + n.id + ".2"
	}
	return "10.233." + n.id + ".2"
}

func (n *netns) ip(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// start runs the binary inside side's namespace until the test ends.
func (n *netns) start(t *testing.T, side, bin string, args ...string) {
	t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", n.ns(side), bin}, args...)...)
	logf, err := os.Create(filepath.Join(t.TempDir(), side+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("%s log:\n%s", side, b)
		}
	})
}
