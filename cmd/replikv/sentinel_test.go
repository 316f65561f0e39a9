package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/replikv/replikv/internal/redistest"
)

// TestSentinelFailover is the acceptance test of replikv under Redis
// Sentinel: three real redis-sentinel processes monitor a replikv primary
// and two replikv replicas (binaries started with config files); each
// sentinel discovers both replicas and the two other sentinels through
// the nodes' pub/sub; after kill -9 of the primary the sentinels promote
// a replica, the other follows it with a partial resync (the new primary
// serves no full sync), every write WAIT-acknowledged by both replicas
// before the crash is on the new primary, a go-redis FailoverClient keeps
// writing across the failover (its errors and longest gap are logged),
// and the old primary, restarted on its port, is turned into a replica of
// the new one by Sentinel and converges.
func TestSentinelFailover(t *testing.T) {
	redistest.Require(t, "redis-sentinel")
	bin := buildBinary(t)
	ctx := context.Background()
	dir := t.TempDir()

	pport := redistest.FreePort(t)
	startConf := func(name string, lines ...string) (*node, string) {
		conf := filepath.Join(dir, name+".conf")
		text := "# " + name + ", written by the test\n" + strings.Join(lines, "\n") + "\n"
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return startCmd(t, exec.Command(bin, conf)), conf
	}
	primary, primaryConf := startConf("primary", "port "+strconv.Itoa(pport))
	var replicas []*node
	for i := range 2 {
		n, _ := startConf(fmt.Sprintf("replica%d", i+1), "port "+freePort(t), "replicaof 127.0.0.1 "+strconv.Itoa(pport))
		replicas = append(replicas, n)
	}
	pc := client(primary)
	defer pc.Close()
	waitUntil(t, "both replicas online", 60*time.Second, func() bool {
		info := infoMap(ctx, pc, "replication")
		return info["connected_slaves"] == "2" && strings.Contains(info["slave0"], "state=online") && strings.Contains(info["slave1"], "state=online")
	})

	var sentinels []*redistest.Sentinel
	var addrs []string
	for range 3 {
		s := redistest.StartSentinel(t, "m", "127.0.0.1", pport, 2)
		sentinels = append(sentinels, s)
		addrs = append(addrs, "127.0.0.1:"+s.Port)
	}
	for i, s := range sentinels {
		waitUntil(t, fmt.Sprintf("sentinel %d to see 2 replicas and 2 sentinels", i), 90*time.Second, func() bool {
			reps, err1 := s.Client.Do(ctx, "SENTINEL", "REPLICAS", "m").Slice()
			sens, err2 := s.Client.Do(ctx, "SENTINEL", "SENTINELS", "m").Slice()
			return err1 == nil && err2 == nil && len(reps) == 2 && len(sens) == 2
		})
	}

	// Writes acknowledged by both replicas before the crash.
	var acked []string
	for i := range 200 {
		k := "acked:" + strconv.Itoa(i)
		if err := pc.Set(ctx, k, k, 0).Err(); err != nil {
			t.Fatal(err)
		}
		acked = append(acked, k)
	}
	if n, err := pc.Do(ctx, "WAIT", 2, 10000).Int(); err != nil || n != 2 {
		t.Fatalf("WAIT 2 = %d, %v", n, err)
	}

	// A FailoverClient writing all along.
	fc := redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName: "m", SentinelAddrs: addrs, Protocol: 2, DisableIdentity: true,
		DialTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second, MaxRetries: -1,
	})
	defer fc.Close()
	w := &failoverWriter{}
	wctx, stopWriter := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		w.run(wctx, fc)
	}()
	defer func() { stopWriter(); wg.Wait() }()
	waitUntil(t, "the FailoverClient's first writes", 30*time.Second, func() bool { return w.successes() > 10 })

	// kill -9 of the primary.
	killedAt := time.Now()
	if err := primary.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	primary.cmd.Wait()
	newAddr := ""
	waitUntil(t, "the sentinels to promote a replica", 90*time.Second, func() bool {
		for _, s := range sentinels {
			a, err := s.Client.Do(ctx, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", "m").StringSlice()
			if err != nil || len(a) != 2 || a[1] == strconv.Itoa(pport) {
				return false
			}
			newAddr = a[0] + ":" + a[1]
		}
		return true
	})
	t.Logf("promoted %s %v after the kill", newAddr, time.Since(killedAt).Round(time.Millisecond))
	var promoted, sibling *node
	for _, r := range replicas {
		if r.addr == newAddr {
			promoted = r
		} else {
			sibling = r
		}
	}
	if promoted == nil {
		t.Fatalf("the sentinels promoted %s, not one of the replicas", newAddr)
	}
	nc, sc := client(promoted), client(sibling)
	defer nc.Close()
	defer sc.Close()
	_, newPort, _ := strings.Cut(newAddr, ":")
	waitUntil(t, "the promoted node to be a primary", 60*time.Second, func() bool {
		return infoMap(ctx, nc, "replication")["role"] == "master"
	})
	waitUntil(t, "the sibling to follow the new primary", 90*time.Second, func() bool {
		info := infoMap(ctx, sc, "replication")
		return info["master_port"] == newPort && info["master_link_status"] == "up"
	})
	stats := infoMap(ctx, nc, "stats")
	if stats["sync_full"] != "0" || stats["sync_partial_ok"] == "0" {
		t.Errorf("the new primary served sync_full=%s sync_partial_ok=%s; want 0 full syncs and a partial one", stats["sync_full"], stats["sync_partial_ok"])
	}
	for _, k := range acked {
		if v, err := nc.Get(ctx, k).Result(); err != nil || v != k {
			t.Fatalf("acknowledged write %s on the new primary: %q, %v", k, v, err)
		}
	}

	// The FailoverClient writes on the new primary.
	after := w.successes()
	waitUntil(t, "the FailoverClient to write again", 60*time.Second, func() bool { return w.successes() > after+10 })
	stopWriter()
	wg.Wait()
	t.Logf("FailoverClient: %d writes ok, %d errors, longest gap between two successful writes %v",
		w.successes(), w.errors(), w.maxGap().Round(time.Millisecond))
	for _, k := range w.written() {
		if err := nc.Get(ctx, k).Err(); err != nil && !errors.Is(err, redis.Nil) {
			t.Fatalf("GET %s: %v", k, err)
		}
	}

	// The old primary, restarted on its port, becomes a replica of the
	// new one, by Sentinel's doing, and converges.
	old := startCmd(t, exec.Command(bin, primaryConf))
	oc := client(old)
	defer oc.Close()
	waitUntil(t, "Sentinel to turn the old primary into a replica of the new one", 120*time.Second, func() bool {
		info := infoMap(ctx, oc, "replication")
		return info["role"] == "slave" && info["master_port"] == newPort && info["master_link_status"] == "up"
	})
	if err := nc.Set(ctx, "after-restart", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the old primary to converge", 60*time.Second, func() bool {
		v, err := oc.Get(ctx, "after-restart").Result()
		return err == nil && v == "1" && oc.DBSize(ctx).Val() == nc.DBSize(ctx).Val()
	})
	b, _ := os.ReadFile(primaryConf)
	if !strings.Contains(string(b), "replicaof 127.0.0.1 "+newPort) || !strings.HasPrefix(string(b), "# primary, written by the test\n") {
		t.Errorf("the old primary's config file after Sentinel's CONFIG REWRITE:\n%s", b)
	}
}

// failoverWriter writes distinct keys through a FailoverClient and keeps
// the count of successes and errors and the longest time between two
// successful writes.
type failoverWriter struct {
	mu      sync.Mutex
	ok      []string
	errs    int
	last    time.Time
	longest time.Duration
}

func (w *failoverWriter) run(ctx context.Context, c *redis.Client) {
	for i := 0; ctx.Err() == nil; i++ {
		k := "fc:" + strconv.Itoa(i)
		err := c.Set(ctx, k, k, 0).Err()
		now := time.Now()
		w.mu.Lock()
		if err != nil {
			w.errs++
		} else {
			if !w.last.IsZero() {
				w.longest = max(w.longest, now.Sub(w.last))
			}
			w.last = now
			w.ok = append(w.ok, k)
		}
		w.mu.Unlock()
		if err != nil {
			select { // do not spin on a down primary
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
}

func (w *failoverWriter) successes() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.ok)
}

func (w *failoverWriter) errors() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.errs
}

func (w *failoverWriter) maxGap() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.longest
}

func (w *failoverWriter) written() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.ok...)
}

// waitUntil polls cond until it holds, failing the test after timeout.
func waitUntil(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// infoMap returns the fields of an INFO section, or none when the node
// does not answer.
func infoMap(ctx context.Context, c *redis.Client, section string) map[string]string {
	m := map[string]string{}
	text, err := c.Info(ctx, section).Result()
	if err != nil {
		return m
	}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":"); ok {
			m[k] = v
		}
	}
	return m
}
