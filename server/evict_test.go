package server

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/replikv/replikv"
)

// TestRedisReplicaOfEvictingPrimary: a real redis-server replicates from
// a server whose store evicts under a write load; the evictions reach it
// as DEL, so that it holds exactly the primary's keys and values.
func TestRedisReplicaOfEvictingPrimary(t *testing.T) {
	needRedisTool(t, "redis-server")
	n := startNode(t, replikv.Config{}, Config{})
	pc := n.client(t, &redis.Options{})
	ctx := ctx(t)
	for i := range 100 {
		pc.Set(ctx, fmt.Sprintf("early%03d", i), "v", 0)
	}
	host, port, _ := strings.Cut(n.addr, ":")
	rc := startRedis(t, "--replicaof", host, port)
	eventually(t, "the Redis replica to sync", func() bool {
		return infoField(rc.Info(ctx, "replication").Val(), "master_link_status") == "up"
	})
	if err := pc.ConfigSet(ctx, "maxmemory", "40kb").Err(); err != nil {
		t.Fatal(err)
	}
	if err := pc.ConfigSet(ctx, "maxmemory-policy", "allkeys-lru").Err(); err != nil {
		t.Fatal(err)
	}
	for round := range 20 {
		_, err := pc.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i := range 100 {
				k := fmt.Sprintf("k%05d", round*100+i)
				if i%3 == 0 {
					p.Set(ctx, k, strings.Repeat("x", i), time.Hour)
				} else {
					p.Set(ctx, k, strings.Repeat("y", i), 0)
				}
				p.Get(ctx, fmt.Sprintf("k%05d", i)) // keep a few keys recent
			}
			return nil
		})
		if err != nil && err != redis.Nil {
			t.Fatal(err)
		}
	}
	if got := pc.Wait(ctx, 1, 10*time.Second).Val(); got != 1 {
		t.Fatalf("WAIT 1 = %d", got)
	}
	info := pc.Info(ctx, "memory", "stats").Val()
	evicted, _ := strconv.Atoi(infoField(info, "evicted_keys"))
	used, _ := strconv.Atoi(infoField(info, "used_memory"))
	if evicted < 1000 || used > 42<<10 || infoField(info, "maxmemory") != "40960" ||
		infoField(info, "maxmemory_policy") != "allkeys-lru" || infoField(info, "maxmemory_human") != "40.00K" {
		t.Fatalf("primary INFO: evicted_keys %d, used_memory %d, maxmemory %s %s, policy %s", evicted, used,
			infoField(info, "maxmemory"), infoField(info, "maxmemory_human"), infoField(info, "maxmemory_policy"))
	}
	keyspace := func(c *redis.Client) map[string]string {
		keys := c.Keys(ctx, "*").Val()
		slices.Sort(keys)
		m := map[string]string{}
		for _, k := range keys {
			m[k] = c.Get(ctx, k).Val()
		}
		return m
	}
	want := keyspace(pc)
	if len(want) < 100 {
		t.Fatalf("the primary kept %d keys", len(want))
	}
	if d := cmp.Diff(want, keyspace(rc)); d != "" {
		t.Fatalf("the Redis replica differs (-primary +replica):\n%s", d)
	}
	if r := infoField(rc.Info(ctx, "stats").Val(), "evicted_keys"); r != "0" {
		t.Errorf("the Redis replica evicted %s keys itself", r)
	}
	t.Logf("%d evictions, %d keys kept", evicted, len(want))
}

// TestConfigSetPolicyAtRuntime: CONFIG SET of maxmemory and the policy
// takes effect at once, as INFO and the next writes show.
func TestConfigSetPolicyAtRuntime(t *testing.T) {
	n := startNode(t, replikv.Config{}, Config{})
	c := n.client(t, &redis.Options{})
	ctx := ctx(t)
	for i := range 200 {
		c.Set(ctx, fmt.Sprintf("k%03d", i), "0123456789", 0)
	}
	if err := c.ConfigSet(ctx, "maxmemory", "5000").Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, "more", "v", 0).Err(); err == nil || err.Error() != errOOM {
		t.Fatalf("SET above maxmemory under noeviction: %v", err)
	}
	if got := c.Del(ctx, "k000").Val(); got != 1 {
		t.Fatalf("DEL above maxmemory = %d", got)
	}
	if err := c.ConfigSet(ctx, "maxmemory-policy", "allkeys-random").Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, "more", "v", 0).Err(); err != nil {
		t.Fatalf("SET after switching to allkeys-random: %v", err)
	}
	in := n.store.Info()
	if in.EvictionPolicy != replikv.AllKeysRandom || in.EvictedKeys == 0 || in.UsedMemory > 5000+100 {
		t.Fatalf("store Info: policy %s, %d evicted, used %d", in.EvictionPolicy, in.EvictedKeys, in.UsedMemory)
	}
	if got := c.ConfigGet(ctx, "maxmemory-policy").Val()["maxmemory-policy"]; got != "allkeys-random" {
		t.Fatalf("CONFIG GET maxmemory-policy = %q", got)
	}
	info := c.Info(ctx, "memory").Val()
	if r := infoField(info, "mem_fragmentation_ratio"); r == "" || r == "0.00" {
		t.Errorf("mem_fragmentation_ratio = %q", r)
	}
}
