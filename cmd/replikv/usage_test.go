package main

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestUsageListsEveryDirective: the usage names every directive the
// binary applies (the list, checked by hand), and each one it
// names is taken on the command line and in a file without a warning.
func TestUsageListsEveryDirective(t *testing.T) {
	var out bytes.Buffer
	writeUsage(&out)
	listed := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^  --([a-z-]+)`).FindAllStringSubmatch(out.String(), -1) {
		listed[m[1]] = true
	}
	for _, name := range []string{"port", "bind", "protected-mode", "requirepass", "maxclients", "timeout",
		"rename-command", "replicaof", "slaveof", "masterauth", "masteruser", "replica-read-only", "slave-read-only",
		"replica-serve-stale-data", "slave-serve-stale-data", "repl-backlog-size", "repl-timeout",
		"repl-ping-replica-period", "repl-ping-slave-period", "min-replicas-to-write", "min-slaves-to-write",
		"min-replicas-max-lag", "min-slaves-max-lag", "dir", "dbfilename", "save", "full-sync-when-empty", "tls-port", "tls-cert-file", "tls-key-file",
		"tls-key-file-pass", "tls-client-cert-file", "tls-client-key-file", "tls-client-key-file-pass",
		"tls-ca-cert-file", "tls-ca-cert-dir", "tls-auth-clients", "tls-replication", "tls-protocols",
		"tls-ciphers", "tls-ciphersuites", "maxmemory", "maxmemory-policy", "maxmemory-samples", "lfu-log-factor",
		"lfu-decay-time", "replica-priority", "slave-priority", "replica-announce-ip", "slave-announce-ip",
		"replica-announce-port", "slave-announce-port"} {
		if !listed[name] {
			t.Errorf("the usage does not list --%s", name)
		}
	}
	values := map[string][]string{"port": {"7000"}, "bind": {"127.0.0.1"}, "maxclients": {"10"}, "timeout": {"5"},
		"rename-command": {"get", "fetch"}, "replicaof": {"127.0.0.1", "6379"}, "slaveof": {"127.0.0.1", "6379"},
		"repl-backlog-size": {"1mb"}, "repl-timeout": {"60"}, "repl-ping-replica-period": {"5"},
		"repl-ping-slave-period": {"5"}, "dir": {t.TempDir()}, "tls-port": {"0"}, "tls-auth-clients": {"optional"},
		"tls-replication": {"no"}, "tls-protocols": {"TLSv1.2"}, "tls-ciphers": {"ECDHE-RSA-AES128-GCM-SHA256"},
		"tls-ciphersuites": {""}, "protected-mode": {"yes"}, "replica-read-only": {"yes"}, "slave-read-only": {"yes"},
		"replica-serve-stale-data": {"yes"}, "slave-serve-stale-data": {"yes"}, "enable-debug-command": {"local"},
		"maxmemory": {"100mb"}, "maxmemory-policy": {"allkeys-lfu"}, "maxmemory-samples": {"10"},
		"lfu-log-factor": {"0"}, "lfu-decay-time": {"2"},
		"min-replicas-to-write": {"1"}, "min-slaves-to-write": {"0"}, "min-replicas-max-lag": {"10"}, "min-slaves-max-lag": {"0"},
		"save": {""}, "full-sync-when-empty": {"no"},
		"replica-priority": {"50"}, "slave-priority": {"0"}, "replica-announce-port": {"7001"}, "slave-announce-port": {"0"}}
	for name := range listed {
		args, ok := values[name]
		if !ok {
			args = []string{"x"} // a password, a user or a file name, not read yet
		}
		var logs bytes.Buffer
		log := slog.New(slog.NewTextHandler(&logs, nil))
		if _, err := parseArgs(append([]string{"--" + name}, args...), nil, log); err != nil {
			t.Errorf("--%s %q: %v", name, args, err)
		}
		o := defaultOptions()
		if err := o.applyAll([]directive{{name: name, args: args, where: "f:1"}}, log); err != nil || logs.Len() > 0 {
			t.Errorf("%s %q in a file: %v\n%s", name, args, err, logs.String())
		}
	}
}

// TestParseCommandLine: redis-server's ways of giving directives.
func TestParseCommandLine(t *testing.T) {
	d := func(name string, args ...string) directive {
		return directive{name: name, args: args, where: "--" + name}
	}
	for _, tc := range []struct {
		args []string
		want commandLine
	}{
		{[]string{"-h"}, commandLine{help: true}},
		{[]string{"--help"}, commandLine{help: true}},
		{[]string{"-v"}, commandLine{version: true}},
		{[]string{"--version"}, commandLine{version: true}},
		{[]string{"--port", "1", "--help"}, commandLine{help: true}},
		{[]string{"r.conf", "--port", "7000"}, commandLine{configFile: "r.conf", flags: []directive{d("port", "7000")}}},
		{[]string{"-"}, commandLine{stdin: true}},
		{[]string{"r.conf", "--port", "7000", "-"}, commandLine{configFile: "r.conf", stdin: true, flags: []directive{d("port", "7000")}}},
		{[]string{"--replicaof", "127.0.0.1", "6379", "--port", "1"}, commandLine{flags: []directive{d("replicaof", "127.0.0.1", "6379"), d("port", "1")}}},
		{[]string{"--replicaof", "127.0.0.1 6379"}, commandLine{flags: []directive{d("replicaof", "127.0.0.1", "6379")}}},
		{[]string{"--requirepass", "--x"}, commandLine{flags: []directive{d("requirepass", "--x")}}},
		{[]string{"--requirepass", "-"}, commandLine{flags: []directive{d("requirepass", "-")}}},
		{[]string{"--port 7000", "--BIND", "::1"}, commandLine{flags: []directive{d("port", "7000"), d("bind", "::1")}}},
		{[]string{"--config", "r.conf"}, commandLine{configFile: "r.conf"}},
		{[]string{"--tls-protocols", "TLSv1.2 TLSv1.3"}, commandLine{flags: []directive{d("tls-protocols", "TLSv1.2 TLSv1.3")}}},
	} {
		got, err := parseCommandLine(tc.args)
		if err != nil {
			t.Errorf("%q: %v", tc.args, err)
			continue
		}
		if d := cmp.Diff(tc.want, got, cmp.AllowUnexported(commandLine{}, directive{})); d != "" {
			t.Errorf("%q (-want +got):\n%s", tc.args, d)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--nope", "1"}, "unknown flag --nope"},
		{[]string{"--port"}, "--port needs a value"},
		{[]string{"r.conf", "extra"}, `unexpected argument "extra"`},
		{[]string{"-p", "7000"}, `unexpected argument "-p"`},
		{[]string{"--"}, `cannot read the flag "--"`},
		{[]string{"--config", "a", "b"}, "--config takes one file, got 2"},
	} {
		if _, err := parseCommandLine(tc.args); err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, errUsage) {
			t.Errorf("%q: %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
}

// TestConfigFromStdin: "-" reads directives from stdin after the file,
// and the flags override both.
func TestConfigFromStdin(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "r.conf")
	os.WriteFile(conf, []byte("port 7000\nrequirepass file\n"), 0o600)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	o, err := parseArgs([]string{conf, "--maxclients", "7", "-"}, strings.NewReader("port 7001\nmaxclients 5\n"), log)
	if err != nil || o.port != 7001 || o.store.Password != "file" || o.maxClients != 7 {
		t.Errorf("port %d, password %q, maxclients %d, %v", o.port, o.store.Password, o.maxClients, err)
	}
	if _, err := parseArgs([]string{"-"}, strings.NewReader("port 1\nport x\n"), log); err == nil || !strings.Contains(err.Error(), `stdin:2: port: invalid value "x"`) {
		t.Errorf("bad stdin line: %v", err)
	}
}

// TestBinaryUsageAndErrors runs the binary: -h and -v exit 0 with the
// usage and the version on stdout; a bad flag, a bad config line, a
// port in use and nothing to listen on exit 1 saying what to fix.
func TestBinaryUsageAndErrors(t *testing.T) {
	bin := buildBinary(t)
	for _, arg := range []string{"-h", "--help"} {
		out, err := exec.Command(bin, arg).Output()
		if err != nil || !strings.HasPrefix(string(out), "Usage: replikv [/path/to/replikv.conf]") {
			t.Errorf("%s: %v\n%s", arg, err, out)
		}
		for _, d := range directives {
			if !strings.Contains(string(out), "--"+d.name+" ") {
				t.Errorf("%s does not list --%s", arg, d.name)
			}
		}
	}
	version := regexp.MustCompile(`^replikv server v=\S+ go=go\S+ bits=(32|64) build=([0-9a-f]{12}(\+dirty)?|unknown)\n$`)
	for _, arg := range []string{"-v", "--version"} {
		if out, err := exec.Command(bin, arg).Output(); err != nil || !version.Match(out) {
			t.Errorf("%s: %v, %q", arg, err, out)
		}
	}

	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.conf")
	os.WriteFile(bad, []byte("port 7000\nrepl-timeout soon\n"), 0o600)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	_, busyPort, _ := net.SplitHostPort(busy.Addr().String())
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--prot", "7000"}, "unknown flag --prot (replikv --help lists the flags)"},
		{[]string{"--port", "seven"}, `--port: port: invalid value "seven"`},
		{[]string{bad}, "bad.conf:2: server: repl-timeout: argument couldn't be parsed into an integer"},
		{[]string{filepath.Join(dir, "missing.conf")}, "cannot open the config file"},
		{[]string{"--port", busyPort}, "cannot listen on 127.0.0.1:" + busyPort + ": the port is in use (another server?); choose another with --port"},
		{[]string{"--port", "0"}, "port 0 and no tls-port: configured to listen nowhere"},
		{[]string{"--port", "0", "--tls-port", "6380"}, "tls-cert-file and tls-key-file are needed"},
		{[]string{"--tls-port", "6380", "--tls-cert-file", filepath.Join(dir, "none.crt"), "--tls-key-file", "k", "--tls-auth-clients", "no"},
			"tls-cert-file: open " + filepath.Join(dir, "none.crt") + ": no such file or directory"},
	} {
		cmd := exec.Command(bin, tc.args...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(stderr.String(), tc.want) || stdout.Len() > 0 {
			t.Errorf("%q: %v, stderr %q, stdout %q; want exit status 1 and %q on stderr", tc.args, err, stderr.String(), stdout.String(), tc.want)
		}
	}
}
