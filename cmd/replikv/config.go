package main

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/replikv/replikv"
	"github.com/replikv/replikv/resp"
	"github.com/replikv/replikv/server"
)

// options is the configuration of the binary, from the config file and
// the command line.
type options struct {
	port       int
	binds      []string
	replicaOf  string // "host port", or "" to start as a primary
	maxClients int
	configFile string
	store      replikv.Config
	// server holds the settings of the RESP front: IdleTimeout,
	// ProtectedMode and RenameCommands.
	server server.Config
	// tls holds the tls-* directives; tlsServer and tlsClient are what
	// check builds of them: the TLS port's config and the replication
	// link's, or nil without them.
	tls                  tlsOptions
	tlsServer, tlsClient *tls.Config
}

// defaultOptions are redis-server's defaults.
func defaultOptions() options {
	return options{
		port:  6379,
		binds: []string{"127.0.0.1"},
		// Redis serves stale data by default (replica-serve-stale-data
		// yes), as the zero replikv.Config does, and starts in protected
		// mode (protected-mode yes).
		server: server.Config{ProtectedMode: true},
		tls:    defaultTLSOptions(),
	}
}

// errUsage reports a bad command line or configuration.
var errUsage = errors.New("replikv: bad configuration")

// directive is one setting: a line of a config file or a flag.
type directive struct {
	name  string
	args  []string
	where string // "file:line" or "--flag", for messages
}

// parseArgs reads the command line (see parseCommandLine), then the
// config file, stdin with "-", and the flags, which override both. The
// caller handles -h and -v first.
func parseArgs(args []string, stdin io.Reader, log *slog.Logger) (options, error) {
	opts := defaultOptions()
	cl, err := parseCommandLine(args)
	if err != nil {
		return opts, err
	}
	opts.configFile = cl.configFile
	if cl.configFile != "" {
		f, err := os.Open(cl.configFile)
		if err != nil {
			return opts, fmt.Errorf("%w: cannot open the config file: %v", errUsage, err)
		}
		defer f.Close()
		if err := opts.load(f, cl.configFile, log); err != nil {
			return opts, err
		}
	}
	if cl.stdin {
		if stdin == nil {
			stdin = strings.NewReader("")
		}
		if err := opts.load(stdin, "stdin", log); err != nil {
			return opts, err
		}
	}
	if err := opts.applyAll(cl.flags, log); err != nil {
		return opts, err
	}
	for name := range opts.server.RenameCommands {
		if !server.IsCommand(name) {
			// A Redis command replikv does not have (DEBUG, SHUTDOWN,
			// EVAL …) is unknown here under any name already.
			log.Warn("rename-command: replikv has no such command; nothing to rename", "command", name)
			delete(opts.server.RenameCommands, name)
		}
	}
	if err := opts.check(); err != nil {
		return opts, fmt.Errorf("%w: %v", errUsage, err)
	}
	return opts, nil
}

// load reads and applies a config file, named name in messages.
func (o *options) load(r io.Reader, name string, log *slog.Logger) error {
	ds, err := parseConfig(r, name)
	if err != nil {
		return err
	}
	return o.applyAll(ds, log)
}

// check checks the options together, once all are read: something to
// listen on, and what the TLS asked needs, whose files it loads.
func (o *options) check() (err error) {
	switch {
	case o.port == 0 && o.tls.port == 0:
		return errors.New("port 0 and no tls-port: configured to listen nowhere")
	case o.port != 0 && o.port == o.tls.port:
		return fmt.Errorf("port and tls-port are both %d", o.port)
	case len(o.store.SavePoints) > 0 && o.store.Dir == "":
		return errors.New("save points need dir: where would the snapshot go?")
	}
	if err := o.tls.check(); err != nil {
		return err
	}
	if o.tls.port != 0 {
		if o.tlsServer, err = o.tls.serverConfig(); err != nil {
			return err
		}
	}
	if o.tls.replication {
		if o.tlsClient, err = o.tls.clientConfig(); err != nil {
			return err
		}
	}
	return nil
}

// parseConfig reads a redis.conf-style file: one directive per line, its
// arguments separated by spaces and quoted as in redis.conf, blank lines
// and lines starting with # ignored.
func parseConfig(r io.Reader, name string) ([]directive, error) {
	var ds []directive
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), resp.DefaultMaxInlineLen)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		where := name + ":" + strconv.Itoa(n)
		if line == "" || line[0] == '#' {
			continue
		}
		if line[0] == '*' {
			return nil, fmt.Errorf("%w: %s: a directive cannot start with '*'", errUsage, where)
		}
		// The quoting rules of redis.conf are those of inline commands.
		cmd, err := resp.NewReader(strings.NewReader(line+"\r\n"), resp.Limits{}).ReadCommand()
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", errUsage, where, err)
		}
		if len(cmd.Args) == 0 {
			continue
		}
		d := directive{name: strings.ToLower(string(cmd.Args[0])), where: where}
		for _, a := range cmd.Args[1:] {
			d.args = append(d.args, string(a))
		}
		ds = append(ds, d)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", errUsage, name, err)
	}
	return ds, nil
}

// applyAll applies directives in order. An unknown one is logged and
// skipped, unless ignoring it would leave the server less protected than
// the file asks (see weakening): then it is an error naming it.
func (o *options) applyAll(ds []directive, log *slog.Logger) error {
	for _, d := range ds {
		if err := o.apply(d); err != nil {
			if errors.Is(err, server.ErrUnknownParam) {
				if why := weakening(d); why != "" {
					return fmt.Errorf("%w: %s: %s is not supported, and ignoring it would %s; remove it to start without it",
						errUsage, d.where, d.name, why)
				}
				log.Warn("ignoring unknown directive", "where", d.where, "directive", d.name)
				continue
			}
			return fmt.Errorf("%w: %s: %v", errUsage, d.where, err)
		}
	}
	return nil
}

// weakening returns what ignoring the unsupported directive d would do
// against what the file asks, or "" when ignoring it is harmless: access
// control, the cluster bus's TLS, write safety and memory limits the
// binary does not implement. A value that asks for what the binary does
// anyway (tls-cluster no) is
// harmless.
func weakening(d directive) string {
	off := len(d.args) == 1 && (d.args[0] == "0" || strings.EqualFold(d.args[0], "no") || d.args[0] == "")
	switch {
	case d.name == "user" || d.name == "aclfile":
		return "leave the default user open instead of the ACL users it defines"
	case d.name == "tls-cluster" && !off:
		return "serve or replicate in clear text what is meant to be encrypted"
	case d.name == "enable-protected-configs" || d.name == "enable-module-command":
		return "" // the binary has none of these: as strict as "no"
	}
	return ""
}

// apply applies one directive.
func (o *options) apply(d directive) error {
	oneArg := func() (string, error) {
		if len(d.args) != 1 {
			return "", fmt.Errorf("%s takes one argument, got %d", d.name, len(d.args))
		}
		return d.args[0], nil
	}
	if strings.HasPrefix(d.name, "tls-") && knownDirective(d.name) {
		return o.tls.apply(d)
	}
	switch d.name {
	case "port", "maxclients":
		v, err := oneArg()
		if err != nil {
			return err
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || (d.name == "port" && n > 65535) {
			return fmt.Errorf("%s: invalid value %q", d.name, v)
		}
		if d.name == "port" {
			o.port = n
		} else {
			o.maxClients = n
		}
	case "dir":
		// Where full resyncs spool their snapshot (Redis writes its
		// dump.rdb for a disk-based sync there too).
		v, err := oneArg()
		if err != nil {
			return err
		}
		if fi, err := os.Stat(v); err != nil || !fi.IsDir() {
			return fmt.Errorf("dir: %q is not a directory", v)
		}
		o.store.SpoolDir = v
		o.store.Dir = v // and its dump.rdb (persist.go)
	case "dbfilename", "save", "full-sync-when-empty":
		return o.applyPersist(d) // persist.go
	case "enable-debug-command":
		v, err := oneArg()
		if err != nil {
			return err
		}
		switch v = strings.ToLower(v); v {
		case "yes", "no", "local":
			o.server.EnableDebugCommand = v
		default:
			return fmt.Errorf("enable-debug-command: argument must be 'yes', 'no' or 'local', not %q", v)
		}
	case "bind":
		if len(d.args) == 0 {
			return errors.New("bind needs at least one address")
		}
		o.binds = d.args
	case "rename-command":
		if len(d.args) != 2 {
			return fmt.Errorf("rename-command takes a command and its new name, got %d arguments", len(d.args))
		}
		name := strings.ToLower(d.args[0])
		if _, dup := o.server.RenameCommands[name]; dup {
			return fmt.Errorf("rename-command: %s renamed twice", d.args[0])
		}
		if o.server.RenameCommands == nil {
			o.server.RenameCommands = make(map[string]string)
		}
		o.server.RenameCommands[name] = d.args[1]
	case "replica-announce-ip", "slave-announce-ip":
		v, err := oneArg()
		if err != nil {
			return err
		}
		o.store.AnnounceIP, o.server.AnnounceIP = v, v
	case "replica-announce-port", "slave-announce-port":
		v, err := oneArg()
		if err != nil {
			return err
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 65535 {
			return fmt.Errorf("%s: invalid value %q", d.name, v)
		}
		o.server.AnnouncePort = n
	case "replicaof", "slaveof":
		if len(d.args) != 2 {
			return fmt.Errorf("%s takes a host and a port", d.name)
		}
		if strings.EqualFold(d.args[0], "no") && strings.EqualFold(d.args[1], "one") {
			o.replicaOf = ""
			return nil
		}
		if p, err := strconv.Atoi(d.args[1]); err != nil || p < 0 || p > 65535 {
			return fmt.Errorf("%s: invalid port %q", d.name, d.args[1])
		}
		o.replicaOf = d.args[0] + " " + d.args[1]
	default:
		// The server's and the store's settings; ApplyServerParam and
		// ApplyParam report an unknown name first.
		sc, c := o.server, o.store
		err := server.ApplyServerParam(&sc, d.name, strings.Join(d.args, " "))
		if errors.Is(err, server.ErrUnknownParam) {
			err = server.ApplyParam(&c, d.name, strings.Join(d.args, " "))
		}
		if err != nil {
			return err
		}
		if _, err := oneArg(); err != nil {
			return err
		}
		o.server, o.store = sc, c
	}
	return nil
}
