package server

import (
	"strings"
	"testing"

	"github.com/replikv/replikv"
	"github.com/replikv/replikv/internal/redistest"
	"github.com/replikv/replikv/transport"
)

// TestInfoShowsDroppedCommands: a replica of a real Redis master that
// receives commands of other types deletes their keys and says so in INFO
// replication, by command; INFO memory reports the replication buffer.
func TestInfoShowsDroppedCommands(t *testing.T) {
	m := redistest.Start(t)
	n := startNode(t, replikv.Config{}, Config{})
	if err := n.store.ReplicaOf(transport.TCP("127.0.0.1:" + m.Port)); err != nil {
		t.Fatal(err)
	}
	c, cx := m.Client, ctx(t)
	c.Set(cx, "k", "v", 0)
	eventually(t, "the replica to hold k", func() bool { return n.store.Exists("k") })
	c.HSet(cx, "k", "f", "v") // WRONGTYPE on the master: nothing sent
	c.Del(cx, "k")
	c.HSet(cx, "h", "f", "v")
	c.HSet(cx, "h", "g", "v")
	c.LPush(cx, "l", "x")
	c.Set(cx, "end", "1", 0)
	eventually(t, "the replica to hold end", func() bool { return n.store.Exists("end") })
	kv := n.client(t, nil)
	repl, err := kv.Info(cx, "replication").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"apply_dropped_hset:calls=2\r\n", "apply_dropped_lpush:calls=1\r\n"} {
		if !strings.Contains(repl, want) {
			t.Errorf("INFO replication lacks %q:\n%s", want, repl)
		}
	}
	if strings.Contains(repl, "apply_resync_commands") {
		t.Errorf("INFO replication shows resyncs when there were none:\n%s", repl)
	}
	mem, _ := kv.Info(cx, "memory").Result()
	if !strings.Contains(mem, "mem_total_replication_buffers:") {
		t.Errorf("INFO memory lacks mem_total_replication_buffers:\n%s", mem)
	}
}
