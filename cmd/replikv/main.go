// Command replikv is a small Redis-compatible server: a replikv.Store
// served over RESP, which redis-cli, Redis clients and real Redis
// replicas can use, and which can itself follow a Redis (or replikv)
// primary.
//
// Usage:
//
//	replikv [/path/to/replikv.conf] [--port 6379] [--bind 127.0.0.1]
//	        [--replicaof "host port"] [--requirepass pw] [--masterauth pw]
//	        [--masteruser user] [--repl-backlog-size 1mb]
//	        [--replica-read-only yes|no] [--replica-serve-stale-data yes|no]
//	        [--repl-timeout 60] [--maxclients 10000] [--timeout 0]
//	        [--protected-mode yes|no] [--config file]
//
// The configuration file uses redis.conf's syntax and directive names
// (the old spellings slaveof, slave-read-only and slave-serve-stale-data
// too), rename-command included; unknown directives are logged and
// ignored, except those that would leave the server less protected than
// the file asks if ignored (user, aclfile, tls-port, min-replicas-to-write,
// maxmemory …): the binary refuses to start on them, naming them. As in
// Redis, protected-mode is on by default: without a password only
// loopback clients are served. maxclients is lowered to fit the limit on
// open files. Flags override the file. --port 0 picks a free port, which the "listening" log line shows.
// SIGINT or SIGTERM shut the server down cleanly.
package main

import (
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
	os.Exit(run(os.Args[1:], os.Stderr))
}

// run is the program; it returns the exit code: 0 after a clean shutdown,
// 1 when it could not start or serve, 2 for a bad configuration.
func run(args []string, stderr io.Writer) int {
	log := slog.New(slog.NewTextHandler(stderr, nil))
	opts, err := parseArgs(args, log)
	if err != nil {
		log.Error("cannot start", "err", err)
		return 2
	}
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	port := opts.port
	for _, b := range opts.binds {
		l, err := net.Listen("tcp", net.JoinHostPort(b, strconv.Itoa(port)))
		if err != nil {
			log.Error("cannot listen", "err", err)
			return 1
		}
		port = l.Addr().(*net.TCPAddr).Port // with --port 0, every address gets the first one's port
		ls = append(ls, l)
		log.Info("listening", "addr", l.Addr().String())
	}
	opts.store.ListeningPort = port
	opts.store.Logger = log
	store, err := replikv.New(opts.store)
	if err != nil {
		log.Error("cannot create the store", "err", err)
		return 2
	}
	defer store.Close()
	maxClients := fitMaxClients(opts.maxClients, log)
	sc := opts.server
	sc.Store, sc.Logger, sc.MaxClients = store, log, maxClients
	sc.Port, sc.Bind, sc.ConfigFile = port, strings.Join(opts.binds, " "), opts.configFile
	srv, err := server.New(sc)
	if err != nil {
		log.Error("cannot create the server", "err", err)
		return 2
	}
	defer srv.Close()
	if opts.replicaOf != "" {
		host, p, _ := strings.Cut(opts.replicaOf, " ")
		if err := store.ReplicaOf(transport.TCP(net.JoinHostPort(host, p))); err != nil {
			log.Error("cannot follow the primary", "err", err)
			return 1
		}
		log.Info("following a primary", "addr", net.JoinHostPort(host, p))
	}
	return serve(srv, ls, log)
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
func serve(srv *server.Server, ls []net.Listener, log *slog.Logger) int {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sig)
	failed := make(chan error, len(ls))
	for _, l := range ls {
		go func() { failed <- srv.Serve(l) }()
	}
	select {
	case s := <-sig:
		log.Info("shutting down", "signal", s.String())
	case err := <-failed:
		log.Error("serving failed", "err", err)
		srv.Close()
		return 1
	}
	srv.Close()
	for range ls {
		if err := <-failed; err != nil && !errors.Is(err, server.ErrServerClosed) {
			log.Warn("listener stopped", "err", fmt.Sprint(err))
		}
	}
	return 0
}
