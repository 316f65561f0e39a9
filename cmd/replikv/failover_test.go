package main

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
	"github.com/replikv/replikv/internal/redistest"
)

// eventually polls cond until it holds or d has passed.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestBinaryFailoverWithRedisCLI: three replikv processes, a primary and
// two replicas, a go-redis writer on the primary, and FAILOVER sent with
// redis-cli. Afterwards ROLE and INFO replication show the new topology
// (the chosen replica is master, the old primary its replica, the other
// replica still chained under the old primary, as with Redis), the
// offsets agree once the writer stops, and every write that returned OK
// is on all three.
func TestBinaryFailoverWithRedisCLI(t *testing.T) {
	cli := redistest.Require(t, "redis-cli")
	bin := buildBinary(t)
	p := startBinary(t, bin)
	host, pport, _ := strings.Cut(p.addr, ":")
	r1 := startBinary(t, bin, "--replicaof", host+" "+pport)
	r2 := startBinary(t, bin, "--replicaof", host+" "+pport)
	nodes := map[string]*node{"p": p, "r1": r1, "r2": r2}
	clients := map[string]*redis.Client{}
	for name, n := range nodes {
		clients[name] = client(n)
		defer clients[name].Close()
	}
	info := func(name string) map[string]string { return redistest.Info(t, clients[name], "replication") }
	portOf := func(name string) string { _, port, _ := strings.Cut(nodes[name].addr, ":"); return port }

	eventually(t, 30*time.Second, "both replicas online", func() bool {
		in := info("p")
		return in["connected_slaves"] == "2" && strings.Contains(in["slave0"], "state=online") && strings.Contains(in["slave1"], "state=online")
	})

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var mu sync.Mutex
	acked := map[string]string{}
	var refused error
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // the writer: until stopped or refused (-READONLY after the handover)
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			k, v := fmt.Sprintf("w:%06d", i), strconv.Itoa(i)
			if err := clients["p"].Set(ctx, k, v, 0).Err(); err != nil {
				mu.Lock()
				refused = err
				mu.Unlock()
				return
			}
			mu.Lock()
			acked[k] = v
			mu.Unlock()
		}
	}()
	eventually(t, 30*time.Second, "200 writes", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) >= 200 || refused != nil
	})

	out, err := exec.Command(cli, "-p", pport, "FAILOVER").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "OK" {
		t.Fatalf("redis-cli FAILOVER: %v: %q", err, out)
	}
	var target, third string
	eventually(t, 30*time.Second, "a replica took over and the old primary follows it", func() bool {
		for _, name := range []string{"r1", "r2"} {
			if info(name)["role"] == "master" {
				target, third = name, map[string]string{"r1": "r2", "r2": "r1"}[name]
			}
		}
		in := info("p")
		return target != "" && in["role"] == "slave" && in["master_port"] == portOf(target) &&
			in["master_link_status"] == "up" && in["master_failover_state"] == "no-failover"
	})
	close(stop)
	<-done
	mu.Lock()
	t.Logf("%d acknowledged writes; the writer stopped with %v; %s took over", len(acked), refused, target)
	if refused != nil && !strings.HasPrefix(refused.Error(), "READONLY") {
		t.Errorf("write refused with %v, want READONLY (or none)", refused)
	}
	mu.Unlock()

	// The offsets agree once the writer has stopped, and the third node
	// is back on the new history: the old primary dropped it when its own
	// history changed, and on a loaded machine it may still be
	// reconnecting, its offset (unchanged since) equal but its link down.
	eventually(t, 30*time.Second, "offsets agree, the third node linked on the new history", func() bool {
		in, tin := info(third), info(target)
		o := tin["master_repl_offset"]
		return o != "" && info("p")["master_repl_offset"] == o && in["master_repl_offset"] == o &&
			in["master_link_status"] == "up" && in["master_replid"] == tin["master_replid"]
	})

	// ROLE on all three.
	role := func(name string) []any {
		v, err := clients[name].Do(ctx, "ROLE").Slice()
		if err != nil {
			t.Fatalf("ROLE on %s: %v", name, err)
		}
		return v
	}
	if r := role(target); r[0] != "master" || !strings.Contains(fmt.Sprint(r[2]), " "+portOf("p")+" ") || strings.Count(fmt.Sprint(r[2]), "[") != 2 {
		t.Errorf("%s ROLE = %v, want master with p (port %s) as its one replica", target, r, portOf("p"))
	}
	if r := role("p"); r[0] != "slave" || fmt.Sprint(r[2]) != portOf(target) || r[3] != "connected" {
		t.Errorf("p ROLE = %v, want slave of %s (port %s), connected", r, target, portOf(target))
	}
	if r := role(third); r[0] != "slave" || fmt.Sprint(r[2]) != pport || r[3] != "connected" {
		t.Errorf("%s ROLE = %v, want slave of p (port %s), connected", third, r, pport)
	}

	// INFO replication on all three.
	if in := info(target); in["role"] != "master" || in["connected_slaves"] != "1" || !strings.Contains(in["slave0"], "port="+portOf("p")+",") {
		t.Errorf("%s INFO: role=%s connected_slaves=%s slave0=%s", target, in["role"], in["connected_slaves"], in["slave0"])
	}
	if in := info("p"); in["connected_slaves"] != "1" || !strings.Contains(in["slave0"], "port="+portOf(third)+",") {
		t.Errorf("p INFO: connected_slaves=%s slave0=%s, want %s chained under it", in["connected_slaves"], in["slave0"], third)
	}
	if in := info(third); in["role"] != "slave" || in["master_port"] != pport || in["master_link_status"] != "up" {
		t.Errorf("%s INFO: role=%s master_port=%s link=%s", third, in["role"], in["master_port"], in["master_link_status"])
	}
	tid := info(target)["master_replid"]
	for _, name := range []string{"p", third} {
		if id := info(name)["master_replid"]; id != tid {
			t.Errorf("%s master_replid = %s, want the new primary's %s", name, id, tid)
		}
	}

	// No acknowledged write lost, and one keyspace on all three.
	want := dumpKeys(ctx, t, clients[target])
	for k, v := range acked {
		if want[k] != v {
			t.Errorf("acknowledged write %s=%s is %q on the new primary", k, v, want[k])
			break
		}
	}
	for _, name := range []string{"p", third} {
		if diff := cmp.Diff(want, dumpKeys(ctx, t, clients[name])); diff != "" {
			t.Errorf("%s differs from the new primary (-primary +%s):\n%s", name, name, diff)
		}
	}
}
