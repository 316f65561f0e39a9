package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"log/slog"
	"math"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/replikv/replikv"
	"github.com/replikv/replikv/resp"
	"github.com/replikv/replikv/transport"
)

// Defaults used for zero Config fields.
const (
	// DefaultMaxClients is the default of Config.MaxClients (Redis
	// maxclients).
	DefaultMaxClients = 10000
	// DefaultMaxQueuedBytes is the default of Config.MaxQueuedBytes.
	DefaultMaxQueuedBytes = 64 << 20
)

// RedisVersion is the version the server reports as redis_version in INFO
// and in HELLO, so that tools which check it treat the server as Redis 7.0.
const RedisVersion = "7.0.15"

// Version is the version of replikv the server reports as
// replikv_version in INFO.
const Version = "0.1.0"

// Errors returned by New and Serve.
var (
	// ErrServerClosed is returned by Serve after Close.
	ErrServerClosed = errors.New("server: closed")
	// ErrConfig is wrapped by New when the Config is invalid.
	ErrConfig = errors.New("server: invalid config")
)

// Config configures a Server. The zero value of every field except Store
// means its documented default.
type Config struct {
	// Store is the store served. Required. The Server does not close it.
	Store *replikv.Store

	// Logger receives the server's logs. Default: discard.
	Logger *slog.Logger

	// MaxClients bounds the connections served at once, replicas included;
	// a connection over it gets "-ERR max number of clients reached" and
	// is closed. Redis: maxclients. Default 10000.
	MaxClients int

	// Limits bound what one connection may send in one command (its
	// arguments, their sizes, an inline line). Zero fields mean the resp
	// package's defaults. A connection over them gets a protocol error and
	// is closed.
	Limits resp.Limits

	// MaxQueuedBytes bounds the memory the commands one connection queues
	// between MULTI and EXEC take: their arguments' bytes plus the cost of
	// holding each command and argument (some 100 bytes for GET key), so
	// many small commands count what they really cost. A command over it
	// is refused and the transaction aborted (Redis has no such limit).
	// Default 64 MiB.
	MaxQueuedBytes int64

	// Dial returns the dialer REPLICAOF host port uses to reach its new
	// primary. Default: transport.TCP(net.JoinHostPort(host, port)).
	Dial func(host string, port int) transport.Dialer

	// Port is reported as tcp_port in INFO and CONFIG GET port. Default:
	// the port of the first TCP listener given to Serve.
	Port int

	// Bind is reported by CONFIG GET bind. Default: the host of the first
	// TCP listener given to Serve.
	Bind string

	// Shutdown, when set, runs SHUTDOWN [SAVE|NOSAVE]: it saves as asked
	// (save, nosave, or neither: the default of the process), stops the
	// process and returns nil, or returns why it could not (the store
	// stays up). Default nil: SHUTDOWN is refused.
	Shutdown func(save, nosave bool) error

	// ConfigFile is reported as config_file in INFO. Default: empty.
	ConfigFile string

	// IdleTimeout closes a normal client (not a replica, not a client
	// blocked in WAIT) that sends nothing for this long. Redis: timeout,
	// in seconds, which CONFIG SET changes at run time. Default 0: never.
	IdleTimeout time.Duration

	// ProtectedMode refuses clients connecting from other hosts (TCP
	// peers not on a loopback address) while the Store has no password,
	// with Redis's -DENIED error. Redis: protected-mode (yes by default
	// there), which CONFIG SET changes at run time. Default false.
	ProtectedMode bool

	// RenameCommands renames commands: each key, a command name, becomes
	// its value, or is disabled when the value is empty; the old name is
	// then unknown. Names ignore case; subcommands cannot be renamed.
	// Redis: rename-command. New fails on a key that is not a command or
	// a new name already taken. Default: none.
	RenameCommands map[string]string

	// MonitorBufferLimit bounds the bytes of MONITOR lines waiting to be
	// sent to one monitoring client; a monitor over it is disconnected,
	// so that a stalled monitor cannot grow the server's memory without
	// bound (Redis's output buffer limit for normal clients is none).
	// Default 32 MiB (DefaultMonitorBufferLimit).
	MonitorBufferLimit int

	// PubSubLimits bound the output waiting for one client that has
	// subscribed (messages and replies); one over them is disconnected.
	// Redis: client-output-buffer-limit pubsub. Default
	// DefaultPubSubLimits (32 MiB hard, 8 MiB for 60 s soft).
	PubSubLimits PubSubLimits

	// ReplicaPriority is what INFO shows as slave_priority, which Redis
	// Sentinel reads to choose the replica to promote: the lowest wins,
	// and 0 means never. Redis: replica-priority (slave-priority), which
	// CONFIG SET changes. Default 100; a negative value means 0.
	ReplicaPriority int

	// AnnounceIP and AnnouncePort are what CONFIG REWRITE writes as
	// replica-announce-ip and replica-announce-port and CONFIG GET shows;
	// the store announces them to its primary (replikv.Config.AnnounceIP
	// and ListeningPort), which the binary sets from the same directives.
	// Default: none.
	AnnounceIP   string
	AnnouncePort int

	// EnableDebugCommand allows the DEBUG command: "no" (the default, as
	// the empty string), "yes", or "local" for connections from this host
	// only. Redis: enable-debug-command.
	EnableDebugCommand string

	// Stored-only settings: CONFIG GET reports them and CONFIG SET
	// changes them, so that tools and test suites written for Redis can
	// set them, but the server does not act on them yet (later versions
	// act on them); ApplyServerParam does not know them.
	// repl-ping-replica-period, min-replicas-to-write, maxmemory and
	// maxmemory-policy, which the Store does act on, are
	// replikv.Config.PingPeriod, MinReplicasToWrite, MaxMemory and
	// EvictionPolicy.

	// NoDisklessSync is Redis's repl-diskless-sync no. Stored only: the
	// Store always streams its snapshots without a file, as Redis's
	// repl-diskless-sync yes (its default). Default false.
	NoDisklessSync bool
	// DisklessSyncDelay is Redis's repl-diskless-sync-delay, in seconds.
	// Stored only (the Store starts a snapshot at once). Default 5; a
	// negative value means 0.
	DisklessSyncDelay int
}

// Server serves a replikv.Store over RESP2. Create it with New, serve
// listeners with Serve, and stop it with Close. Its methods are safe for
// concurrent use.
type Server struct {
	cfg     Config
	store   *replikv.Store
	log     *slog.Logger
	now     func() time.Time // the store's clock, for TTLs
	started time.Time
	runID   string

	ctx    context.Context // canceled by Close; bounds blocking commands
	cancel context.CancelFunc

	mu        sync.Mutex
	closed    bool
	listeners map[net.Listener]struct{}
	clients   map[*client]struct{}  // normal clients, by connection
	handed    map[net.Conn]struct{} // connections handed to the store as replicas
	wg        sync.WaitGroup        // every goroutine the server started

	port int    // tcp_port, guarded by mu
	bind string // CONFIG GET bind, guarded by mu

	nextID   atomic.Int64
	stats    stats
	cmdStats *commandStats // INFO commandstats, latencystats, errorstats

	commands          map[string]*command // the command table, after RenameCommands
	scanSeed          maphash.Seed        // orders the keys of a shard for SCAN
	protected         atomic.Bool         // ProtectedMode, changed by CONFIG SET
	idleTimeout       atomic.Int64        // IdleTimeout in nanoseconds, changed by CONFIG SET; 0: none
	stored            storedSettings      // the stored-only settings, changed by CONFIG SET
	blockedInputLimit int                 // bytes buffered for a blocked client before it is closed
	monitors          monitorSet          // MONITOR clients
	pubsub            pubsubHub           // channels and patterns
	feed              replicaFeed         // the replica's stream for monitors and subscribers
}

// stats are the counters INFO stats shows.
type stats struct {
	connections  atomic.Int64 // total_connections_received
	commands     atomic.Int64 // total_commands_processed
	rejected     atomic.Int64 // rejected_connections
	errorReplies atomic.Int64 // total_error_replies
	hits, misses atomic.Int64 // keyspace_hits, keyspace_misses
	blocked      atomic.Int64 // blocked_clients (in WAIT)
}

// New returns a Server for cfg.Store, with cfg's defaults filled in.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, fmt.Errorf("%w: Store is nil", ErrConfig)
	}
	if cfg.MaxClients < 0 || cfg.MaxQueuedBytes < 0 || cfg.Port < 0 || cfg.Port > 65535 || cfg.IdleTimeout < 0 || cfg.MonitorBufferLimit < 0 {
		return nil, fmt.Errorf("%w: negative MaxClients, MaxQueuedBytes, IdleTimeout or MonitorBufferLimit, or Port out of range", ErrConfig)
	}
	if err := checkDebugMode(cfg.EnableDebugCommand); err != nil {
		return nil, err
	}
	if err := checkStored(&cfg); err != nil {
		return nil, err
	}
	table, err := renameCommands(cfg.RenameCommands)
	if err != nil {
		return nil, err
	}
	if cfg.MaxClients == 0 {
		cfg.MaxClients = DefaultMaxClients
	}
	if cfg.MaxQueuedBytes == 0 {
		cfg.MaxQueuedBytes = DefaultMaxQueuedBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Dial == nil {
		cfg.Dial = func(host string, port int) transport.Dialer {
			return transport.TCP(net.JoinHostPort(host, strconv.Itoa(port)))
		}
	}
	var id [20]byte
	rand.Read(id[:])
	s := &Server{
		cfg:       cfg,
		store:     cfg.Store,
		log:       cfg.Logger,
		now:       cfg.Store.Config().Now,
		started:   time.Now(),
		runID:     hex.EncodeToString(id[:]),
		listeners: make(map[net.Listener]struct{}),
		clients:   make(map[*client]struct{}),
		handed:    make(map[net.Conn]struct{}),
		scanSeed:  maphash.MakeSeed(),
		commands:  table,
		cmdStats:  newCommandStats(),
	}
	s.idleTimeout.Store(int64(cfg.IdleTimeout))
	s.stored.set(cfg)
	s.protected.Store(cfg.ProtectedMode)
	// A blocked client may pipeline one command of the largest size
	// its limits accept.
	bulk, inline := cfg.Limits.MaxBulkLen, int64(cfg.Limits.MaxInlineLen)
	if bulk <= 0 {
		bulk = resp.DefaultMaxBulkLen
	}
	if inline <= 0 {
		inline = resp.DefaultMaxInlineLen
	}
	s.blockedInputLimit = int(min(bulk+2*inline, math.MaxInt32))
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.port, s.bind = cfg.Port, cfg.Bind
	return s, nil
}

// Serve accepts connections on l and serves each in its own goroutine,
// until l is closed or the server is. It returns ErrServerClosed after
// Close, otherwise the error of the closed listener. Other accept errors,
// such as running out of file descriptors, are logged and retried with a
// backoff (up to a second). Serve may be
// called for several listeners at once; Close closes them all.
func (s *Server) Serve(l net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		l.Close()
		return ErrServerClosed
	}
	s.listeners[l] = struct{}{}
	if a, ok := l.Addr().(*net.TCPAddr); ok {
		if s.port == 0 {
			s.port = a.Port
			// The port the store announces to its primary (REPLCONF
			// listening-port), so that the primary's INFO shows it.
			s.store.AnnouncePort(a.Port)
		}
		if s.bind == "" {
			s.bind = a.IP.String()
		}
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, l)
		s.mu.Unlock()
	}()
	var backoff time.Duration
	for {
		conn, err := l.Accept()
		if err != nil {
			if s.isClosed() {
				return ErrServerClosed
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("server: accept on %s: %w", l.Addr(), err)
			}
			// Anything else (out of file descriptors, a connection
			// aborted before it was accepted, a timeout) passes: wait and
			// retry rather than stop serving everyone.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.Warn("accept failed; retrying", "addr", l.Addr().String(), "err", err, "in", backoff)
			select {
			case <-time.After(backoff):
			case <-s.ctx.Done():
				return ErrServerClosed
			}
			continue
		}
		backoff = 0
		s.accept(conn)
	}
}

// accept registers conn and starts its goroutine, or refuses it when the
// server is closed or full.
func (s *Server) accept(conn net.Conn) {
	s.stats.connections.Add(1)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		conn.Close()
		return
	}
	if len(s.clients)+len(s.handed) >= s.cfg.MaxClients {
		s.mu.Unlock()
		s.stats.rejected.Add(1)
		conn.SetWriteDeadline(time.Now().Add(time.Second))
		io.WriteString(conn, "-ERR max number of clients reached\r\n")
		conn.Close()
		return
	}
	if s.protected.Load() && !isLocal(conn) && s.store.Config().Password == "" {
		s.mu.Unlock()
		conn.SetWriteDeadline(time.Now().Add(time.Second))
		io.WriteString(conn, "-"+errProtected+"\r\n")
		conn.Close()
		return
	}
	c := newClient(s, conn)
	s.clients[c] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		c.serve()
	}()
}

// isLocal reports whether conn comes from this host: a TCP peer on a
// loopback address, or a connection of another kind (Unix socket,
// in-memory transport), as Redis's protected mode sees it.
func isLocal(conn net.Conn) bool {
	a, ok := conn.RemoteAddr().(*net.TCPAddr)
	return !ok || a.IP.IsLoopback()
}

// errProtected is Redis 7.0's answer to a client protected mode refuses.
const errProtected = "DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. " +
	"In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: " +
	"1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. " +
	"2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. " +
	"3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. " +
	"4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside."

// isClosed reports whether Close has been called.
func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// handOff moves c's connection from the clients to the replicas handed to
// the store; it reports false when the server is closing.
func (s *Server) handOff(c *client) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.clients, c)
	if s.closed {
		return false
	}
	s.handed[c.conn] = struct{}{}
	return true
}

// forget removes a finished connection.
func (s *Server) forget(c *client) {
	s.mu.Lock()
	delete(s.clients, c)
	delete(s.handed, c.conn)
	s.mu.Unlock()
}

// Close stops the server: it closes every listener and every connection,
// replicas handed to the store included, and waits for every goroutine the
// server started. Serve calls then return ErrServerClosed. The Store is
// not closed. Close is idempotent.
func (s *Server) Close() error {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		s.cancel()
		for l := range s.listeners {
			l.Close()
		}
		for c := range s.clients {
			c.conn.Close()
		}
		for conn := range s.handed {
			conn.Close()
		}
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

// snapshotClients returns the normal clients, for CLIENT LIST and KILL;
// clients already killed are left out.
func (s *Server) snapshotClients() []*client {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := make([]*client, 0, len(s.clients))
	for c := range s.clients {
		if !c.killed.Load() {
			cs = append(cs, c)
		}
	}
	return cs
}

// addr returns the port and bind address the server reports.
func (s *Server) addr() (port int, bind string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.port, s.bind
}

// counts returns the number of normal clients and of replicas.
func (s *Server) counts() (clients, replicas int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.clients), len(s.handed)
}
