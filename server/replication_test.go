package server

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
	"github.com/replikv/replikv"
	"github.com/replikv/replikv/transport"
)

// serveMem makes n's server serve the listener name of mem too, so that
// replicas reach the store through the server's hand-off.
func (n *testNode) serveMem(t testing.TB, mem *transport.MemNetwork, name string) {
	t.Helper()
	l, err := mem.Listen(name)
	if err != nil {
		t.Fatal(err)
	}
	go n.srv.Serve(l)
}

// pair is a primary and a replica following it through the primary's
// server, over an in-memory network.
type pair struct {
	mem              *transport.MemNetwork
	primary, replica *testNode
}

func startPair(t *testing.T, primaryConf, replicaConf replikv.Config) *pair {
	t.Helper()
	mem := transport.NewMemNetwork()
	p := startNode(t, primaryConf, Config{})
	p.serveMem(t, mem, "primary")
	r := startNode(t, replicaConf, Config{Dial: func(host string, port int) transport.Dialer {
		return mem.Dialer(host)
	}})
	if err := r.store.ReplicaOf(mem.Dialer("primary")); err != nil {
		t.Fatal(err)
	}
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.store.WaitSynced(c); err != nil {
		t.Fatal(err)
	}
	return &pair{mem: mem, primary: p, replica: r}
}

func TestReplicaThroughServer(t *testing.T) {
	ps := startPair(t, replikv.Config{}, replikv.Config{})
	pc, rc := ps.primary.client(t, nil), ps.replica.client(t, nil)
	ctx := ctx(t)
	if err := pc.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	// WAIT makes the write reach the replica before we read it there.
	if got := pc.Wait(ctx, 1, 5*time.Second).Val(); got != 1 {
		t.Fatalf("WAIT 1 = %d, want 1", got)
	}
	eventually(t, "the key on the replica", func() bool { return rc.Get(ctx, "k").Val() == "v" })

	// Writes on a read-only replica.
	for _, cmd := range [][]any{{"SET", "a", "b"}, {"DEL", "k"}, {"INCR", "n"}, {"EXPIRE", "k", "10"}, {"FLUSHALL"}, {"MSET", "a", "1"}} {
		if err := rc.Do(ctx, cmd...).Err(); err == nil || err.Error() != "READONLY You can't write against a read only replica." {
			t.Errorf("%v on a replica: %v", cmd, err)
		}
	}
	if err := rc.Do(ctx, "WAIT", "1", "0").Err(); err == nil || !strings.HasPrefix(err.Error(), "ERR WAIT cannot be used with replica instances.") {
		t.Errorf("WAIT on a replica: %v", err)
	}
	// A transaction with a write is refused while queueing.
	_, err := rc.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Get(ctx, "k")
		p.Set(ctx, "a", "b", 0)
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "EXECABORT") {
		t.Errorf("MULTI with a write on a replica: %v, want EXECABORT", err)
	}
	// Reads inside a transaction work.
	cmds, err := rc.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Get(ctx, "k")
		p.Exists(ctx, "k", "nope")
		return nil
	})
	if err != nil || cmds[0].(*redis.StringCmd).Val() != "v" || cmds[1].(*redis.IntCmd).Val() != 1 {
		t.Errorf("read-only transaction on a replica: %v %v", cmds, err)
	}

	// ROLE on both sides.
	role := pc.Do(ctx, "ROLE").Val().([]any)
	_, off := ps.primary.store.Position()
	if len(role) != 3 || role[0] != "master" || role[1] != off {
		t.Errorf("ROLE on the primary = %#v (offset %d)", role, off)
	}
	eventually(t, "the replica listed by ROLE with its ACK", func() bool {
		role = pc.Do(ctx, "ROLE").Val().([]any)
		reps := role[2].([]any)
		if len(reps) != 1 {
			return false
		}
		_, off := ps.primary.store.Position()
		r := reps[0].([]any)
		return len(r) == 3 && r[2] == strconv.FormatInt(off, 10)
	})
	role = rc.Do(ctx, "ROLE").Val().([]any)
	if d := cmp.Diff([]any{"slave", "mem:primary", int64(0), "connected", off}, role); d != "" {
		t.Errorf("ROLE on the replica (-want +got):\n%s", d)
	}

	// INFO replication on both sides: every field present and parsable.
	checkInfoReplication(t, pc.Info(ctx, "replication").Val(), "master")
	info := rc.Info(ctx, "replication").Val()
	checkInfoReplication(t, info, "slave")
	if infoField(info, "master_link_status") != "up" || infoField(info, "master_host") != "mem:primary" {
		t.Errorf("replica INFO replication:\n%s", info)
	}
	if infoField(rc.Info(ctx, "keyspace").Val(), "db0") != "keys=1,expires=0,avg_ttl=0" {
		t.Errorf("replica INFO keyspace: %q", rc.Info(ctx, "keyspace").Val())
	}
}

// checkInfoReplication checks that INFO replication has Redis 7.0's fields
// in Redis's order, each parsable.
func checkInfoReplication(t *testing.T, info, role string) {
	t.Helper()
	var names []string
	for _, line := range strings.Split(strings.TrimSuffix(info, "\r\n"), "\r\n")[1:] {
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			t.Errorf("INFO line %q has no colon", line)
			continue
		}
		if strings.HasPrefix(name, "slave") && name != "slave_read_repl_offset" && name != "slave_repl_offset" &&
			name != "slave_priority" && name != "slave_read_only" {
			for _, kv := range strings.Split(value, ",") {
				k, v, _ := strings.Cut(kv, "=")
				if _, err := strconv.ParseInt(v, 10, 64); err != nil && k != "ip" && k != "state" {
					t.Errorf("%s: %s=%q is not a number", name, k, v)
				}
			}
			continue
		}
		names = append(names, name)
		switch name {
		case "role", "master_host", "master_link_status", "master_failover_state", "master_replid", "master_replid2":
		default:
			if _, err := strconv.ParseInt(value, 10, 64); err != nil {
				t.Errorf("%s:%q is not an integer", name, value)
			}
		}
	}
	want := []string{"role"}
	if role == "slave" {
		want = append(want, "master_host", "master_port", "master_link_status", "master_last_io_seconds_ago",
			"master_sync_in_progress", "slave_read_repl_offset", "slave_repl_offset", "slave_priority",
			"slave_read_only", "replica_announced")
	}
	want = append(want, "connected_slaves", "master_failover_state", "master_replid", "master_replid2",
		"master_repl_offset", "second_repl_offset", "repl_backlog_active", "repl_backlog_size",
		"repl_backlog_first_byte_offset", "repl_backlog_histlen")
	if d := cmp.Diff(want, names); d != "" {
		t.Errorf("INFO replication fields (-want +got):\n%s\n%s", d, info)
	}
	if infoField(info, "role") != role {
		t.Errorf("role = %q, want %q", infoField(info, "role"), role)
	}
}

// TestClientKillReplica checks that CLIENT KILL TYPE replica drops the
// replica, which comes back with a partial resync.
func TestClientKillReplica(t *testing.T) {
	ps := startPair(t, replikv.Config{}, replikv.Config{})
	pc := ps.primary.client(t, nil)
	ctx := ctx(t)
	pc.Set(ctx, "before", "1", 0)
	before := ps.primary.store.Info()
	if got := pc.Do(ctx, "CLIENT", "KILL", "TYPE", "replica").Val(); got != int64(1) {
		t.Fatalf("CLIENT KILL TYPE replica = %v, want 1", got)
	}
	pc.Set(ctx, "after", "2", 0)
	eventually(t, "a partial resync", func() bool {
		return ps.primary.store.Info().SyncPartialOK == before.SyncPartialOK+1
	})
	if got := ps.primary.store.Info(); got.SyncFull != before.SyncFull {
		t.Errorf("full syncs went from %d to %d", before.SyncFull, got.SyncFull)
	}
	info := pc.Info(ctx, "stats").Val()
	if infoField(info, "sync_partial_ok") != "1" || infoField(info, "sync_full") != "1" {
		t.Errorf("INFO stats: %s", info)
	}
	if pc.Wait(ctx, 1, 5*time.Second).Val() != 1 {
		t.Fatal("the replica did not come back")
	}
	if v, _ := ps.replica.store.Get("after"); string(v) != "2" {
		t.Errorf("replica after = %q", v)
	}

	// CLIENT KILL TYPE master on the replica: it reconnects, partially.
	rc := ps.replica.client(t, nil)
	before = ps.primary.store.Info()
	if got := rc.Do(ctx, "CLIENT", "KILL", "TYPE", "master").Val(); got != int64(1) {
		t.Fatalf("CLIENT KILL TYPE master = %v, want 1", got)
	}
	eventually(t, "a partial resync after killing the master link", func() bool {
		return ps.primary.store.Info().SyncPartialOK == before.SyncPartialOK+1
	})
	if got := pc.Do(ctx, "CLIENT", "KILL", "TYPE", "master").Val(); got != int64(0) {
		t.Errorf("CLIENT KILL TYPE master on a primary = %v, want 0", got)
	}
}

// TestReplicaOfCommand drives replication with REPLICAOF and REPLICAOF NO
// ONE through the server.
func TestReplicaOfCommand(t *testing.T) {
	mem := transport.NewMemNetwork()
	p := startNode(t, replikv.Config{}, Config{})
	p.serveMem(t, mem, "p")
	r := startNode(t, replikv.Config{}, Config{Dial: func(host string, port int) transport.Dialer {
		return transport.Named(host+":"+strconv.Itoa(port), mem.Dialer(host))
	}})
	pc, rc := p.client(t, nil), r.client(t, nil)
	ctx := ctx(t)
	pc.Set(ctx, "k", "v", 0)
	raw := r.raw(t)
	raw.expect([]exchange{
		{[]string{"REPLICAOF", "p", "abc"}, "-ERR Invalid master port"},
		{[]string{"REPLICAOF", "p", "70000"}, "-ERR Invalid master port"},
		{[]string{"REPLICAOF", "p"}, "-ERR wrong number of arguments for 'replicaof' command"},
		{[]string{"REPLICAOF", "p", "6379"}, "+OK"},
		{[]string{"SLAVEOF", "p", "6379"}, "+OK Already connected to specified master"},
	})
	if err := r.store.WaitSynced(ctx); err != nil {
		t.Fatal(err)
	}
	if got := rc.Get(ctx, "k").Val(); got != "v" {
		t.Fatalf("replica k = %q", got)
	}
	if role := rc.Do(ctx, "ROLE").Val().([]any); role[0] != "slave" || role[1] != "p" || role[2] != int64(6379) {
		t.Errorf("ROLE = %v", role)
	}
	if got := raw.do("REPLICAOF", "no", "one"); got != "+OK" {
		t.Fatalf("REPLICAOF NO ONE = %s", got)
	}
	if err := rc.Set(ctx, "w", "1", 0).Err(); err != nil {
		t.Errorf("write after REPLICAOF NO ONE: %v", err)
	}
	if role := rc.Do(ctx, "ROLE").Val().([]any); role[0] != "master" {
		t.Errorf("ROLE after promotion = %v", role)
	}
	info := rc.Info(ctx, "replication").Val()
	checkInfoReplication(t, info, "master")
	if infoField(info, "master_replid2") == strings.Repeat("0", 40) {
		t.Errorf("promotion kept no history:\n%s", info)
	}
}

// TestStaleReplica checks MASTERDOWN on a replica whose link is down when
// it may not serve stale data, and CONFIG SET replica-serve-stale-data.
func TestStaleReplica(t *testing.T) {
	n := startNode(t, replikv.Config{ReconnectMin: time.Hour, ReconnectMax: time.Hour, RefuseStaleReads: true}, Config{})
	if err := n.store.ReplicaOf(transport.NewMemNetwork().Dialer("nowhere")); err != nil {
		t.Fatal(err)
	}
	r := n.raw(t)
	want := "-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."
	for _, args := range [][]string{{"GET", "k"}, {"EXISTS", "k"}, {"DBSIZE"}, {"SCAN", "0"}, {"PING"}} {
		if got := r.do(args...); got != want {
			t.Errorf("%q = %s, want %s", args, got, want)
		}
	}
	if got := r.do("SET", "k", "v"); got != "-READONLY You can't write against a read only replica." {
		t.Errorf("SET = %s", got)
	}
	for _, args := range [][]string{{"ECHO", "x"}, {"INFO", "replication"}, {"ROLE"}} {
		if got := r.do(args...); strings.HasPrefix(got, "-") {
			t.Errorf("%q = %s", args, got)
		}
	}
	if got := r.do("CONFIG", "SET", "replica-serve-stale-data", "yes"); got != "+OK" {
		t.Fatalf("CONFIG SET = %s", got)
	}
	if got := r.do("GET", "k"); got != "(nil)" {
		t.Errorf("GET with stale data allowed = %s", got)
	}
	if got := r.do("CONFIG", "SET", "slave-read-only", "no"); got != "+OK" {
		t.Fatalf("CONFIG SET = %s", got)
	}
	if got := r.do("SET", "k", "v"); got != "+OK" {
		t.Errorf("SET on a writable replica = %s", got)
	}
	if got := r.do("ROLE"); got != `["slave", "mem:nowhere", :0, "connecting", :-1]` && got != `["slave", "mem:nowhere", :0, "connect", :-1]` {
		t.Errorf("ROLE = %s", got)
	}
}

// TestReplicaAnnouncesServerPort: a store served by a Server announces the
// Server's port to its primary, whose INFO shows it (it showed 0).
func TestReplicaAnnouncesServerPort(t *testing.T) {
	p := startNode(t, replikv.Config{}, Config{})
	r := startNode(t, replikv.Config{}, Config{})
	if err := r.store.ReplicaOf(transport.TCP(p.addr)); err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(r.addr)
	eventually(t, "the primary to list the replica with its port", func() bool {
		in := p.store.Info()
		return len(in.Replicas) == 1 && strconv.Itoa(in.Replicas[0].Port) == port
	})
}
