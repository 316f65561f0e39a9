package main

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/replikv/replikv"
)

func TestParseConfig(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		want       []directive
		err        string
	}{
		{name: "empty", file: "\n# comment\n   \n\t# indented comment\n"},
		{name: "plain", file: "port 7000\nbind 127.0.0.1 ::1\n",
			want: []directive{{"port", []string{"7000"}, "f:1"}, {"bind", []string{"127.0.0.1", "::1"}, "f:2"}}},
		{name: "case and spaces", file: "  REQUIREPASS   secret  \r\n",
			want: []directive{{"requirepass", []string{"secret"}, "f:1"}}},
		{name: "double quotes", file: `requirepass "a b\"c\x41\n"`,
			want: []directive{{"requirepass", []string{"a b\"cA\n"}, "f:1"}}},
		{name: "single quotes", file: `masterauth 'it\'s'`,
			want: []directive{{"masterauth", []string{"it's"}, "f:1"}}},
		{name: "empty quoted", file: `requirepass ""`,
			want: []directive{{"requirepass", []string{""}, "f:1"}}},
		{name: "unbalanced", file: "port 1\nrequirepass \"abc\n", err: "f:2:"},
		{name: "star", file: "\n\n*3\n", err: "f:3: a directive cannot start with '*'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseConfig(strings.NewReader(tc.file), "f")
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, errUsage) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got, cmp.AllowUnexported(directive{})); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestParseArgs(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "replikv.conf")
	os.WriteFile(conf, []byte(`# a redis.conf
port 7000
slaveof 10.0.0.1 6380
slave-read-only no
slave-serve-stale-data no
repl-backlog-size 64kb
repl-timeout 30
repl-ping-slave-period 5
masteruser "repl user"
masterauth secret
requirepass "pw"
save ""
appendonly no
maxclients 50
`), 0o600)
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))

	o, err := parseArgs([]string{conf, "--port", "7001", "--replica-read-only", "yes", "--repl-ping-replica-period", "4", "--dir", dir}, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	c := o.store
	if o.port != 7001 || o.replicaOf != "10.0.0.1 6380" || o.maxClients != 50 || o.configFile != conf ||
		c.ReplicaWritable || !c.RefuseStaleReads || c.BacklogSize != 64<<10 || c.ReplTimeout != 30*time.Second ||
		c.PingPeriod != 4*time.Second || c.SpoolDir != dir || c.MasterUser != "repl user" || c.MasterAuth != "secret" || c.Password != "pw" {
		t.Errorf("options: %+v", o)
	}
	if len(c.SavePoints) != 0 {
		t.Errorf(`save "" left save points: %v`, c.SavePoints)
	}
	for _, d := range []string{"appendonly"} { // save is applied (persist.go)
		if !strings.Contains(logs.String(), "directive="+d) || !strings.Contains(logs.String(), "ignoring unknown directive") {
			t.Errorf("no warning for %s in logs:\n%s", d, logs.String())
		}
	}

	// --config, and defaults.
	o, err = parseArgs([]string{"--config", conf, "--replicaof", "127.0.0.1 9000", "--bind", "127.0.0.1 ::1"}, nil, log)
	if err != nil || o.port != 7000 || o.replicaOf != "127.0.0.1 9000" || !cmp.Equal(o.binds, []string{"127.0.0.1", "::1"}) {
		t.Errorf("--config: %+v, %v", o, err)
	}
	o, err = parseArgs(nil, nil, log)
	if err != nil || o.port != 6379 || !cmp.Equal(o.binds, []string{"127.0.0.1"}) || o.replicaOf != "" || o.store.RefuseStaleReads || o.store.ReplicaWritable {
		t.Errorf("defaults: %+v, %v", o, err)
	}
	o, err = parseArgs([]string{"--replicaof", "no one"}, nil, log)
	if err != nil || o.replicaOf != "" {
		t.Errorf("--replicaof no one: %+v, %v", o, err)
	}

	// Errors say where.
	bad := filepath.Join(dir, "bad.conf")
	for _, tc := range []struct {
		file string
		args []string
		want string
	}{
		{"port 1\nrepl-timeout abc\n", nil, "bad.conf:2: server: repl-timeout: argument couldn't be parsed into an integer"},
		{"repl-backlog-size 1xb\n", nil, "bad.conf:1: server: repl-backlog-size: argument must be a memory value"},
		{"slave-read-only maybe\n", nil, "bad.conf:1: server: slave-read-only: argument must be 'yes' or 'no'"},
		{"port 70000\n", nil, "bad.conf:1: port: invalid value \"70000\""},
		{"port\n", nil, "bad.conf:1: port takes one argument, got 0"},
		{"replicaof host\n", nil, "bad.conf:1: replicaof takes a host and a port"},
		{"replicaof host port\n", nil, "bad.conf:1: replicaof: invalid port \"port\""},
		{"requirepass a b\n", nil, "bad.conf:1: requirepass takes one argument, got 2"},
		{"dir /nonexistent/spool\n", nil, `bad.conf:1: dir: "/nonexistent/spool" is not a directory`},
		{"", []string{"--repl-ping-replica-period", "x"}, "--repl-ping-replica-period: server: repl-ping-replica-period: argument couldn't be parsed into an integer"},
		{"", []string{"--repl-timeout", "0"}, "--repl-timeout: server: repl-timeout: argument must be between 1 and 2147483647 inclusive"},
		{"", []string{"--nope", "1"}, "unknown flag --nope (replikv --help lists the flags)"},
		{"", []string{"--port", "1", "extra"}, "--port: port takes one argument, got 2"},
		{"", []string{"extra"}, `unexpected argument "extra": directives are given as --name value`},
		{"", []string{"--port"}, "--port needs a value"},
	} {
		os.WriteFile(bad, []byte(tc.file), 0o600)
		_, err := parseArgs(append([]string{bad}, tc.args...), nil, log)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, errUsage) {
			t.Errorf("%q %q: error %v, want one containing %q", tc.file, tc.args, err, tc.want)
		}
	}
	if _, err := parseArgs([]string{filepath.Join(dir, "missing.conf")}, nil, log); err == nil || !strings.Contains(err.Error(), "missing.conf") {
		t.Errorf("missing file: %v", err)
	}
}

// TestHardeningDirectives is issue 9's defect 8: timeout, protected-mode
// and rename-command are applied, and a directive the binary would have
// to ignore at the cost of protection stops it, named with its line.
func TestHardeningDirectives(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "hard.conf")
	os.WriteFile(conf, []byte("rename-command FLUSHALL \"\"\nrename-command config \"\"\nrename-command get fetch\nrename-command EVAL \"\"\ntimeout 10\nprotected-mode yes\nenable-debug-command no\ntls-port 0\nmaxmemory 0\n"), 0o600)
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	o, err := parseArgs([]string{conf}, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "rename-command: replikv has no such command") || !strings.Contains(logs.String(), "command=eval") {
		t.Errorf("no warning for renaming EVAL, which replikv lacks:\n%s", logs.String())
	}
	want := map[string]string{"flushall": "", "config": "", "get": "fetch"}
	if !cmp.Equal(o.server.RenameCommands, want) || o.server.IdleTimeout != 10*time.Second || !o.server.ProtectedMode {
		t.Errorf("server options: %+v", o.server)
	}
	log = slog.New(slog.NewTextHandler(io.Discard, nil))
	if o, err := parseArgs([]string{"--protected-mode", "no", "--timeout", "0"}, nil, log); err != nil || o.server.ProtectedMode || o.server.IdleTimeout != 0 {
		t.Errorf("--protected-mode no --timeout 0: %+v, %v", o.server, err)
	}
	if o, err := parseArgs(nil, nil, log); err != nil || !o.server.ProtectedMode {
		t.Errorf("protected-mode is not on by default: %+v, %v", o.server, err)
	}
	bad := filepath.Join(dir, "bad.conf")
	for _, tc := range []struct{ file, want string }{
		{"maxmemory 1.5gb\n", "bad.conf:1: server: maxmemory: argument must be a memory value"},
		{"maxmemory-policy lru\n", "bad.conf:1: server: maxmemory-policy: argument(s) must be one of the following"},
		{"user alice on >pw ~* +@all\n", "bad.conf:1: user is not supported"},
		{"aclfile /etc/redis/users.acl\n", "bad.conf:1: aclfile is not supported"},
		{"tls-cluster yes\n", "bad.conf:1: tls-cluster is not supported, and ignoring it would serve or replicate in clear text"},
		{"tls-port 6380\n", "tls-cert-file and tls-key-file are needed with tls-port or tls-replication"},
		{"min-replicas-to-write x\n", "bad.conf:1: server: min-replicas-to-write: argument couldn't be parsed into an integer"},
		{"rename-command get\n", "bad.conf:1: rename-command takes a command and its new name"},
		{"rename-command get a\nrename-command GET b\n", "bad.conf:2: rename-command: GET renamed twice"},
		{"timeout -1\n", "bad.conf:1: server: timeout: argument must be between 0 and 2147483647 inclusive"},
		{"protected-mode maybe\n", "bad.conf:1: server: protected-mode: argument must be 'yes' or 'no'"},
	} {
		os.WriteFile(bad, []byte(tc.file), 0o600)
		_, err := parseArgs([]string{bad}, nil, log)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, errUsage) {
			t.Errorf("%q: error %v, want one containing %q", tc.file, err, tc.want)
		}
	}
}

// TestMaxMemoryDirectives: the memory directives reach the store's
// configuration, with Redis's units, from flags and a file.
func TestMaxMemoryDirectives(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	conf := filepath.Join(t.TempDir(), "mem.conf")
	os.WriteFile(conf, []byte("maxmemory 1gb\nmaxmemory-policy volatile-ttl\nlfu-decay-time 0\n"), 0o600)
	o, err := parseArgs([]string{conf, "--maxmemory", "100mb", "--maxmemory-policy", "ALLKEYS-LFU",
		"--maxmemory-samples", "10", "--lfu-log-factor", "20"}, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	c := o.store
	if c.MaxMemory != 100<<20 || c.EvictionPolicy != replikv.AllKeysLFU || c.MaxMemorySamples != 10 ||
		c.LFULogFactor != 20 || c.LFUDecayTime != -1 {
		t.Fatalf("store config %+v", c)
	}
}
