package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/replikv/replikv/internal/redistest"
)

// TestSentinelRing is the pattern for more data than one primary holds:
// two replikv groups (a primary and a replica each), both monitored by
// the same three sentinels, behind a go-redis Ring whose shards are
// FailoverClients, one per group's Sentinel name. The ring spreads keys
// over both groups; after kill -9 of one group's primary, Sentinel
// promotes its replica and the ring serves every key again, the killed
// group's included, with the writes made before the crash (WAIT-
// acknowledged) still there. (While a shard is down, Ring hashes its
// keys to the others: writes made then land on the other group, and are
// not found there once the shard is back. That is Ring's choice of
// availability over placement, which this test does not hide.)
func TestSentinelRing(t *testing.T) {
	redistest.Require(t, "redis-sentinel")
	bin := buildBinary(t)
	ctx := context.Background()
	dir := t.TempDir()
	start := func(name string, lines ...string) *node {
		conf := filepath.Join(dir, name+".conf")
		if err := os.WriteFile(conf, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return startCmd(t, exec.Command(bin, conf))
	}
	type group struct {
		name             string
		port             int
		primary, replica *node
	}
	var groups []*group
	var monitors []redistest.Monitor
	for i := range 2 {
		g := &group{name: fmt.Sprintf("g%d", i+1), port: redistest.FreePort(t)}
		g.primary = start(g.name+"-primary", "port "+strconv.Itoa(g.port))
		g.replica = start(g.name+"-replica", "port "+freePort(t), "replicaof 127.0.0.1 "+strconv.Itoa(g.port))
		groups = append(groups, g)
		monitors = append(monitors, redistest.Monitor{Name: g.name, Host: "127.0.0.1", Port: g.port, Quorum: 2})
	}
	var sentinels []*redistest.Sentinel
	var addrs []string
	for range 3 {
		s := redistest.StartSentinelFor(t, monitors...)
		sentinels = append(sentinels, s)
		addrs = append(addrs, "127.0.0.1:"+s.Port)
	}
	for _, g := range groups {
		for i, s := range sentinels {
			waitUntil(t, fmt.Sprintf("sentinel %d to see %s's replica and 2 sentinels", i, g.name), 90*time.Second, func() bool {
				reps, err1 := s.Client.Do(ctx, "SENTINEL", "REPLICAS", g.name).Slice()
				sens, err2 := s.Client.Do(ctx, "SENTINEL", "SENTINELS", g.name).Slice()
				return err1 == nil && err2 == nil && len(reps) == 1 && len(sens) == 2
			})
		}
	}

	// The shards' "addresses" are the groups' Sentinel names: each shard
	// is a FailoverClient that finds its group's primary.
	ring := redis.NewRing(&redis.RingOptions{
		Addrs: map[string]string{"g1": "g1", "g2": "g2"},
		NewClient: func(opt *redis.Options) *redis.Client {
			return redis.NewFailoverClient(&redis.FailoverOptions{
				MasterName: opt.Addr, SentinelAddrs: addrs, Protocol: 2, DisableIdentity: true,
				DialTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second, MaxRetries: -1,
			})
		},
		HeartbeatFrequency: 200 * time.Millisecond,
	})
	defer ring.Close()
	const n = 400
	for i := range n {
		if err := ring.Set(ctx, "k"+strconv.Itoa(i), i, 0).Err(); err != nil {
			t.Fatalf("SET through the ring: %v", err)
		}
	}
	perGroup := map[string]int64{}
	var killedKeys []string
	for i, g := range groups {
		c := client(g.primary)
		perGroup[g.name] = c.DBSize(ctx).Val()
		if i == 0 {
			killedKeys = c.Keys(ctx, "*").Val()
		}
		if got, err := c.Do(ctx, "WAIT", 1, 10000).Int(); err != nil || got != 1 {
			t.Fatalf("WAIT 1 on %s = %d, %v", g.name, got, err)
		}
		c.Close()
	}
	t.Logf("keys per group: %v", perGroup)
	if perGroup["g1"] == 0 || perGroup["g2"] == 0 || perGroup["g1"]+perGroup["g2"] != n {
		t.Fatalf("the ring did not spread the keys over both groups: %v", perGroup)
	}

	killed := groups[0]
	killedAt := time.Now()
	if err := killed.primary.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed.primary.cmd.Wait()
	// The ring serves every key again once Sentinel has promoted g1's
	// replica: reads of the old values and new writes.
	errs := 0
	waitUntil(t, "the ring to serve every key again", 120*time.Second, func() bool {
		for i := range n {
			k := "k" + strconv.Itoa(i)
			v, err := ring.Get(ctx, k).Result()
			if err != nil || v != strconv.Itoa(i) {
				errs++
				return false
			}
			if err := ring.Set(ctx, k+"-after", i, 0).Err(); err != nil {
				errs++
				return false
			}
		}
		return true
	})
	t.Logf("the ring served every key again %v after the kill (%d failed attempts before)", time.Since(killedAt).Round(time.Millisecond), errs)
	rc := client(killed.replica)
	defer rc.Close()
	if role := infoMap(ctx, rc, "replication")["role"]; role != "master" {
		t.Errorf("%s's replica is %q after the failover, want master", killed.name, role)
	}
	for _, k := range killedKeys {
		if err := rc.Get(ctx, k).Err(); err != nil {
			t.Errorf("%s's new primary lacks %s, written before the crash: %v", killed.name, k, err)
		}
	}
}
