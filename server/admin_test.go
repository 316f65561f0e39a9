package server

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/replikv/replikv"
	"github.com/replikv/replikv/transport"
)

func TestInfoSections(t *testing.T) {
	n := startNode(t, replikv.Config{}, Config{})
	c := n.client(t, nil)
	ctx := ctx(t)
	c.Set(ctx, "a", "1", 0)
	c.Set(ctx, "b", "2", time.Hour)
	c.Get(ctx, "a")
	c.Get(ctx, "nope")
	c.Do(ctx, "nope")
	sections := func(info string) []string {
		var s []string
		for _, line := range strings.Split(info, "\r\n") {
			if strings.HasPrefix(line, "# ") {
				s = append(s, line[2:])
			}
		}
		return s
	}
	// As redis-server 7.0.15 gives them.
	def := []string{"Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "CPU", "Modules", "Errorstats", "Cluster", "Keyspace"}
	all := []string{"Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "CPU", "Modules", "Commandstats", "Errorstats", "Latencystats", "Cluster", "Keyspace"}
	for _, args := range [][]any{{"INFO"}, {"INFO", "default"}, {"INFO", "all"}, {"INFO", "everything"}} {
		info := c.Do(ctx, args...).Val().(string)
		want := def
		if len(args) == 2 && args[1] != "default" {
			want = all
		}
		checkEq(t, fmt.Sprint("sections of ", args), sections(info), want)
		if !strings.HasSuffix(info, "\r\n") || strings.Contains(info, "\r\n\r\n\r\n") {
			t.Errorf("INFO is not Redis-formatted: %q", info)
		}
	}
	checkEq(t, "INFO stats keyspace", sections(c.Info(ctx, "stats", "KEYSPACE").Val()), []string{"Stats", "Keyspace"})
	checkEq(t, "INFO unknown", c.Info(ctx, "nope").Val(), "")

	info := c.Info(ctx).Val()
	port := n.addr[strings.LastIndexByte(n.addr, ':')+1:]
	for field, want := range map[string]string{
		"redis_version":     "7.0.15",
		"replikv_version":   Version,
		"tcp_port":          port,
		"connected_clients": "1",
		"maxclients":        "10000",
		"db0":               "keys=2,expires=1,avg_ttl=0",
		"keyspace_hits":     "1",
		"keyspace_misses":   "1",
		"role":              "master",
		"loading":           "0",
		"cluster_enabled":   "0",
	} {
		if got := infoField(info, field); got != want {
			t.Errorf("%s:%s, want %s", field, got, want)
		}
	}
	for _, field := range []string{"process_id", "uptime_in_seconds", "total_commands_processed", "total_connections_received",
		"sync_full", "sync_partial_ok", "sync_partial_err", "expired_keys", "used_memory", "total_error_replies"} {
		if _, err := strconv.ParseInt(infoField(info, field), 10, 64); err != nil {
			t.Errorf("%s:%q is not an integer", field, infoField(info, field))
		}
	}
	if infoField(info, "total_error_replies") == "0" {
		t.Error("an unknown command was not counted as an error reply")
	}
}

func TestConfig(t *testing.T) {
	n := startNode(t, replikv.Config{}, Config{})
	r := n.raw(t)
	r.expect([]exchange{
		{[]string{"CONFIG", "GET", "repl-timeout"}, `["repl-timeout", "60"]`},
		{[]string{"CONFIG", "GET", "REPL-BACKLOG-SIZE"}, `["repl-backlog-size", "1048576"]`},
		{[]string{"CONFIG", "GET", "*serve-stale*"}, `["replica-serve-stale-data", "yes", "slave-serve-stale-data", "yes"]`},
		{[]string{"CONFIG", "GET", "appendonly", "save", "databases"}, `["save", "", "appendonly", "no", "databases", "16"]`},
		{[]string{"CONFIG", "GET", "nope"}, `[]`},
		{[]string{"CONFIG", "SET", "repl-backlog-size", "64kb", "repl-timeout", "30"}, "+OK"},
		{[]string{"CONFIG", "GET", "repl-backlog-size"}, `["repl-backlog-size", "65536"]`},
		{[]string{"CONFIG", "GET", "repl-timeout"}, `["repl-timeout", "30"]`},
		{[]string{"CONFIG", "SET", "masterauth", "pw", "masteruser", "me"}, "+OK"},
		{[]string{"CONFIG", "GET", "master*"}, `["masterauth", "pw", "masteruser", "me"]`},
		{[]string{"CONFIG", "SET", "repl-timeout", "abc"}, "-ERR CONFIG SET failed (possibly related to argument 'repl-timeout') - argument couldn't be parsed into an integer"},
		{[]string{"CONFIG", "SET", "repl-timeout", "0"}, "-ERR CONFIG SET failed (possibly related to argument 'repl-timeout') - argument must be between 1 and 2147483647 inclusive"},
		{[]string{"CONFIG", "SET", "repl-backlog-size", "1x"}, "-ERR CONFIG SET failed (possibly related to argument 'repl-backlog-size') - argument must be a memory value"},
		{[]string{"CONFIG", "SET", "slave-read-only", "maybe"}, "-ERR CONFIG SET failed (possibly related to argument 'slave-read-only') - argument must be 'yes' or 'no'"},
		{[]string{"CONFIG", "SET", "foo", "bar"}, "-ERR Unknown option or number of arguments for CONFIG SET - 'foo'"},
		{[]string{"CONFIG", "SET", "port", "1"}, "-ERR CONFIG SET failed (possibly related to argument 'port') - can't set immutable config"},
		{[]string{"CONFIG", "SET", "repl-timeout"}, "-ERR wrong number of arguments for 'config|set' command"},
		{[]string{"CONFIG", "SET", "repl-timeout", "5", "foo"}, "-ERR syntax error"},
		// All or nothing: the good first setting is not applied.
		{[]string{"CONFIG", "SET", "repl-timeout", "5", "repl-backlog-size", "x"}, "-ERR CONFIG SET failed (possibly related to argument 'repl-backlog-size') - argument must be a memory value"},
		{[]string{"CONFIG", "GET", "repl-timeout"}, `["repl-timeout", "30"]`},
		{[]string{"CONFIG", "RESETSTAT"}, "+OK"},
	})
	c := n.store.Config()
	if c.BacklogSize != 64<<10 || c.ReplTimeout != 30*time.Second || c.MasterAuth != "pw" || c.MasterUser != "me" {
		t.Errorf("store config after CONFIG SET: %+v", c)
	}
}

func TestParams(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"1024", 1024, true}, {"1b", 1, true}, {"1k", 1000, true}, {"1kb", 1024, true},
		{"2M", 2000000, true}, {"1mb", 1 << 20, true}, {"1G", 1e9, true}, {"1gb", 1 << 30, true}, {"3GB", 3 << 30, true},
		{"", 0, false}, {"mb", 0, false}, {"-1", 0, false}, {"1.5mb", 0, false}, {"1tb", 0, false}, {" 1", 0, false},
		{"9223372036854775807", 9223372036854775807, true}, {"9223372036854775807gb", 0, false}, {"99999999999999999999", 0, false},
	} {
		got, err := ParseMemory(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseMemory(%q) = %d, %v; want %d, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrBadValue) {
			t.Errorf("ParseMemory(%q) error %v does not match ErrBadValue", tc.in, err)
		}
	}
	for in, want := range map[string]bool{"yes": true, "YES": true, "no": false, "No": false} {
		if got, err := ParseYesNo(in); err != nil || got != want {
			t.Errorf("ParseYesNo(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseYesNo("true"); !errors.Is(err, ErrBadValue) {
		t.Errorf("ParseYesNo(true) = %v", err)
	}
	var c replikv.Config
	for _, kv := range [][2]string{{"requirepass", "pw"}, {"slave-read-only", "no"}, {"Replica-Serve-Stale-Data", "yes"},
		{"repl-backlog-size", "2mb"}, {"repl-timeout", "7"}, {"masteruser", "u"}, {"masterauth", "a"}} {
		if err := ApplyParam(&c, kv[0], kv[1]); err != nil {
			t.Errorf("ApplyParam(%q, %q): %v", kv[0], kv[1], err)
		}
	}
	want := replikv.Config{Password: "pw", ReplicaWritable: true, RefuseStaleReads: false, BacklogSize: 2 << 20,
		ReplTimeout: 7 * time.Second, MasterUser: "u", MasterAuth: "a"}
	if c.Password != want.Password || c.ReplicaWritable != want.ReplicaWritable || c.RefuseStaleReads != want.RefuseStaleReads ||
		c.BacklogSize != want.BacklogSize || c.ReplTimeout != want.ReplTimeout || c.MasterUser != want.MasterUser || c.MasterAuth != want.MasterAuth {
		t.Errorf("ApplyParam gave %+v", c)
	}
	before := c
	var pe *ParamError
	if err := ApplyParam(&c, "repl-timeout", "x"); !errors.As(err, &pe) || !errors.Is(err, ErrBadValue) || pe.Name != "repl-timeout" {
		t.Errorf("bad value: %v", err)
	}
	if err := ApplyParam(&c, "port", "1"); !errors.Is(err, ErrUnknownParam) {
		t.Errorf("unknown setting: %v", err)
	}
	if c.ReplTimeout != before.ReplTimeout || c.Password != before.Password {
		t.Error("a failed ApplyParam changed the config")
	}
}

// TestReplicaHandshakeWithAuth checks the hand-off when the primary has a
// password: the replica's PING and AUTH are answered by the server, its
// REPLCONF hands the connection to the store.
func TestReplicaHandshakeWithAuth(t *testing.T) {
	mem := transport.NewMemNetwork()
	p := startNode(t, replikv.Config{Password: "pw"}, Config{})
	p.serveMem(t, mem, "p")
	pc := p.client(t, nil)
	ctx := ctx(t)
	p.store.Set("k", []byte("v"))

	bad, _ := replikv.New(replikv.Config{MasterAuth: "wrong", ReconnectMin: time.Hour, ReconnectMax: time.Hour})
	defer bad.Close()
	bad.ReplicaOf(mem.Dialer("p"))
	eventually(t, "the refused replica to give up", func() bool {
		return strings.Contains(bad.Info().Master.LastErr, "WRONGPASS")
	})

	good, _ := replikv.New(replikv.Config{MasterAuth: "pw"})
	defer good.Close()
	good.ReplicaOf(mem.Dialer("p"))
	c, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := good.WaitSynced(c); err != nil {
		t.Fatal(err)
	}
	if v, err := good.Get("k"); string(v) != "v" {
		t.Errorf("replica k = %q, %v", v, err)
	}
	if err := pc.Do(ctx, "AUTH", "pw").Err(); err != nil {
		t.Fatal(err)
	}
	// The replica is no normal client.
	if list := pc.ClientList(ctx).Val(); strings.Count(list, "\n") != 1 {
		t.Errorf("CLIENT LIST shows replicas:\n%s", list)
	}
	if got := infoField(pc.Info(ctx, "replication").Val(), "connected_slaves"); got != "1" {
		t.Errorf("connected_slaves:%s", got)
	}
}
