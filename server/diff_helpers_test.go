package server

import (
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
	"github.com/replikv/replikv"
)

// differ sends the same commands to a real redis-server and to a replikv
// node and compares their replies: values with their RESP types (an
// integer is not a bulk string) and error texts exactly.
type differ struct {
	t     *testing.T
	redis *redis.Client
	kv    *redis.Client
	node  *testNode
}

// newDiffer starts both servers (redis-server with args); without
// redis-server the test skips, or fails under REPLIKV_REQUIRE_REDIS=1.
func newDiffer(t *testing.T, args ...string) *differ {
	t.Helper()
	r := startRedis(t, args...)
	n := startNode(t, replikv.Config{}, Config{})
	return &differ{t: t, redis: r, kv: n.client(t, &redis.Options{Protocol: 2}), node: n}
}

// answer is one server's answer in a comparable form.
type answer struct {
	Value any
	Err   string
}

func doReply(t *testing.T, c *redis.Client, args ...any) answer {
	v, err := c.Do(ctx(t), args...).Result()
	if err == redis.Nil {
		return answer{Value: nil}
	}
	if err != nil {
		return answer{Err: err.Error()}
	}
	return answer{Value: v}
}

// do sends args to both servers, fails the test when the replies differ,
// and returns Redis's.
func (d *differ) do(args ...any) answer {
	d.t.Helper()
	want := doReply(d.t, d.redis, args...)
	got := doReply(d.t, d.kv, args...)
	if diff := cmp.Diff(want, got); diff != "" {
		d.t.Errorf("%v: replies differ (-redis +replikv):\n%s", args, diff)
	}
	return want
}

// keyState is one key as sameKeyspace compares it.
type keyState struct {
	Value string
	TTLms int64 // PTTL: -1 without a deadline
}

// sameKeyspace fails the test unless both servers hold the same string
// keys with the same values, and deadlines within two seconds of each
// other (the two servers are read one after the other, on a busy
// machine).
func (d *differ) sameKeyspace() {
	d.t.Helper()
	snap := func(c *redis.Client) map[string]keyState {
		keys, err := c.Keys(ctx(d.t), "*").Result()
		if err != nil {
			d.t.Fatal(err)
		}
		slices.Sort(keys)
		m := make(map[string]keyState, len(keys))
		for _, k := range keys {
			v, err := c.Get(ctx(d.t), k).Result()
			if err != nil && err != redis.Nil {
				v = "<" + err.Error() + ">"
			}
			ttl, _ := c.PTTL(ctx(d.t), k).Result()
			ms := ttl.Milliseconds()
			if ttl < 0 {
				ms = -1
			}
			m[k] = keyState{Value: fmt.Sprintf("%q", v), TTLms: ms}
		}
		return m
	}
	near := cmp.Comparer(func(a, b keyState) bool {
		return a.Value == b.Value && (a.TTLms < 0) == (b.TTLms < 0) && max(a.TTLms-b.TTLms, b.TTLms-a.TTLms) <= 2000
	})
	if diff := cmp.Diff(snap(d.redis), snap(d.kv), near); diff != "" {
		d.t.Errorf("keyspaces differ (-redis +replikv):\n%s", diff)
	}
}
