// Command replikv is a small Redis-compatible server: a replikv.Store
// served over RESP, which redis-cli, Redis clients and real Redis
// replicas can use, and which can itself follow a Redis (or replikv)
// primary, in clear text or over TLS.
//
// Usage:
//
//	replikv [/path/to/replikv.conf] [--directive value ...] [-]
//	replikv -v | --version
//	replikv -h | --help
//
// The command line is redis-server's: an optional config file, "-" to
// read the configuration from stdin, then directives as --flags, which
// override the file (replikv --help lists them all). The configuration
// file uses redis.conf's syntax and directive names (the old spellings
// slaveof, slave-read-only and slave-serve-stale-data too),
// rename-command and the tls-* directives included; unknown directives
// in a file are logged and ignored, except those that would leave the
// server less protected than the file asks if ignored (user, aclfile,
// tls-cluster …): the binary refuses to start on
// them, naming them. An unknown --flag is an error. As in Redis,
// protected-mode is on by default: without a password only loopback
// clients are served, port 0 turns the plain port off, and tls-port
// serves TLS beside it. maxclients is lowered to fit the limit on open
// files. SIGINT or SIGTERM shut the server down cleanly, saving first when
// save points are set; when that save fails the server goes on serving,
// as redis-server does, and a later signal tries again. The exit status
// is 0 after a clean shutdown (or -h, -v) and 1 when the server cannot
// start or serve, as redis-server's.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/replikv/replikv"
	"github.com/replikv/replikv/server"
	"github.com/replikv/replikv/transport"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is the program; it returns the exit status: 0 after a clean
// shutdown or after printing the usage or the version, 1 when it could
// not start or serve.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if cl, err := parseCommandLine(args); err == nil && cl.help {
		writeUsage(stdout)
		return 0
	} else if err == nil && cl.version {
		fmt.Fprintln(stdout, versionLine())
		return 0
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	opts, err := parseArgs(args, stdin, log)
	if err != nil {
		// Not a log line: a message for whoever typed the command.
		fmt.Fprintf(stderr, "%v\n", err)
		return 1
	}
	ls, err := listen(opts, log)
	if err != nil {
		log.Error(err.Error())
		return 1
	}
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	// As redis-server: INFO's tcp_port is the plain port, else the TLS
	// one; a replica announces its TLS port when it replicates over TLS.
	port, announce := opts.port, opts.port
	if port == 0 || opts.tls.replication && opts.tls.port != 0 {
		announce = opts.tls.port
	}
	if port == 0 {
		port = opts.tls.port
	}
	if opts.server.AnnouncePort != 0 {
		announce = opts.server.AnnouncePort
	}
	opts.store.ListeningPort = announce
	opts.store.Logger = log
	store, err := replikv.New(opts.store)
	if err != nil {
		log.Error("cannot create the store", "err", err)
		return 1
	}
	defer store.Close()
	dial := func(host string, port int) transport.Dialer {
		addr := net.JoinHostPort(host, strconv.Itoa(port))
		if opts.tlsClient != nil {
			return transport.TLS(addr, opts.tlsClient)
		}
		return transport.TCP(addr)
	}
	maxClients := fitMaxClients(opts.maxClients, log)
	sc := opts.server
	sc.Store, sc.Logger, sc.MaxClients, sc.Dial = store, log, maxClients, dial
	sc.Port, sc.Bind, sc.ConfigFile = port, strings.Join(opts.binds, " "), opts.configFile
	shutdown := make(chan struct{}, 1)
	sc.Shutdown = shutdownFunc(store, len(opts.store.SavePoints) > 0, shutdown) // persist_main.go
	srv, err := server.New(sc)
	if err != nil {
		log.Error("cannot create the server", "err", err)
		return 1
	}
	defer srv.Close()
	if opts.replicaOf != "" {
		host, p, _ := strings.Cut(opts.replicaOf, " ")
		pn, _ := strconv.Atoi(p) // checked by options.apply
		if err := store.ReplicaOf(dial(host, pn)); err != nil {
			log.Error("cannot follow the primary", "err", err)
			return 1
		}
		log.Info("following a primary", "addr", net.JoinHostPort(host, p), "tls", opts.tlsClient != nil)
	}
	return serve(srv, ls, log, store, len(opts.store.SavePoints) > 0, shutdown)
}

// reservedFDs are the file descriptors kept for other uses than clients
// (listeners, the replication link, logs), as Redis keeps 32.
const reservedFDs = 32

// fitMaxClients returns maxclients (0: the server's default) lowered, as
// Redis does, so that the clients and reservedFDs fit the limit on open
// files: a client over maxclients is then still accepted and told "max
// number of clients reached" instead of finding no descriptor left.
func fitMaxClients(maxClients int, log *slog.Logger) int {
	if maxClients == 0 {
		maxClients = server.DefaultMaxClients
	}
	limit, ok := openFileLimit(uint64(maxClients) + reservedFDs)
	if !ok || limit >= uint64(maxClients)+reservedFDs {
		return maxClients
	}
	fitted := int(max(int64(limit)-reservedFDs, 1))
	log.Warn("maxclients reduced to fit the limit on open files; raise ulimit -n for more",
		"requested", maxClients, "open_files_limit", limit, "maxclients", fitted)
	return fitted
}

// serve serves the listeners until a signal or a listener failure.
func serve(srv *server.Server, ls []net.Listener, log *slog.Logger, store *replikv.Store, saveOnSignal bool, shutdown <-chan struct{}) int {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sig)
	ctx, cancel := context.WithCancel(context.Background())
	returned := make(chan struct{})
	go func() { defer close(returned); returnMemory(ctx, store) }()
	defer func() { cancel(); <-returned }()
	failed := make(chan error, len(ls))
	for _, l := range ls {
		go func() { failed <- srv.Serve(l) }()
	}
wait:
	for {
		select {
		case s := <-sig:
			log.Info("shutting down", "signal", s.String())
			if saveOnSignal { // as redis-server with save points
				if err := store.ShutdownSave(context.Background()); err != nil {
					// As redis-server: exiting would lose the data in
					// memory, so the server goes on; a signal after the
					// cause is fixed saves and exits, SHUTDOWN NOSAVE
					// exits without saving.
					log.Error("cannot save before exiting: not exiting, still serving; the previous snapshot file is untouched", "err", err)
					continue
				}
			}
			break wait
		case <-shutdown:
			log.Info("shutting down", "command", "SHUTDOWN")
			break wait
		case err := <-failed:
			log.Error("serving failed", "err", err)
			srv.Close()
			return 1
		}
	}
	srv.Close()
	for range ls {
		if err := <-failed; err != nil && !errors.Is(err, server.ErrServerClosed) {
			log.Warn("listener stopped", "err", fmt.Sprint(err))
		}
	}
	return 0
}
