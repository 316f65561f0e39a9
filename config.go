package replikv

import (
	"fmt"
	"io"
	"log/slog"
	"math/bits"
	"os"
	"time"
)

// Config configures a Store. The zero value is a valid configuration: every
// zero field means its documented default. New validates the result.
type Config struct {
	// Shards is the number of independently locked parts of the keyspace,
	// a power of two. More shards mean less contention between writers and
	// shorter pauses while a snapshot visits a shard. Default 1024.
	Shards int

	// DB is the Redis database number this store holds. A replica of a
	// Redis master keeps only this database and counts commands for others
	// (see Info); a primary announces it in snapshots and SELECT commands.
	// Default 0. Range 0..15.
	DB int

	// BacklogSize is the size in bytes of the ring of recent stream bytes
	// kept for partial resynchronisation. A replica whose link drops
	// continues partially only if the backlog still holds what it had not
	// received: size it to at least the stream's write rate times (the
	// replica's reconnect time plus its lag), with a margin; for example
	// 20 MB/s × (50 ms + 50 ms) = 2 MB, times 2. A replikv replica
	// reconnects at once after a link that was up; a Redis replica may
	// take hundreds of milliseconds. Redis: repl-backlog-size.
	// Default 1 MiB.
	BacklogSize int

	// MaxBulkLen bounds every key and value, from the API, a snapshot or the
	// stream. Redis: proto-max-bulk-len. Default 512 MiB.
	MaxBulkLen int64

	// MaxMemory bounds the data a primary holds, in bytes as the store
	// accounts them (Store.UsedMemory): every key's key and value bytes,
	// 8 bytes for a deadline, and a fixed 48 bytes per key for its share of
	// the hash table (16-byte slot, tag byte and 4-byte access word per
	// bucket, at the table's load factor) and the rounding of its
	// allocation. It does not count the replication backlog, replica
	// output buffers, connections or the Go runtime: the process's Go heap
	// is about this plus those, and its RSS up to twice the heap between
	// garbage collections (see GOGC and GOMEMLIMIT). Before a write, a
	// primary above it evicts keys by EvictionPolicy (each eviction is a
	// DEL in the stream) or refuses writes that may grow the data with
	// ErrOOM. Replicas never evict (Redis replica-ignore-maxmemory yes);
	// Info.OverMaxMemory tells when one holds more. Redis: maxmemory.
	// Default 0: no limit. Changes at runtime (Reconfigure).
	MaxMemory int64

	// EvictionPolicy is what a primary above MaxMemory does (see the
	// EvictionPolicy constants). Redis: maxmemory-policy. Default
	// NoEviction. Changes at runtime; switching between an LRU-keeping and
	// an LFU policy reinterprets the per-key access words, which take some
	// time to adjust (as in Redis).
	EvictionPolicy EvictionPolicy

	// MaxMemorySamples is how many keys an eviction samples to choose one
	// (beside a pool of the 16 best seen before). More is closer to true
	// LRU/LFU and slower: an eviction visits at most every shard once.
	// Redis: maxmemory-samples. Default 5; at least 1.
	MaxMemorySamples int

	// LFULogFactor is how many accesses the LFU counter needs per step as
	// it grows: the counter is logarithmic, saturating at 255 after about a
	// million accesses with factor 10. Redis: lfu-log-factor. Default 10;
	// a negative value means 0 (one step per access, kept
	// negative so that it is not taken for the default); values above
	// 65535 act as 65535.
	LFULogFactor int

	// LFUDecayTime is the minutes of idleness that take one off a key's LFU
	// counter. Redis: lfu-decay-time. Default 1; a negative value means 0
	// (no decay; kept negative so that it is not taken for the default);
	// values above 65535 act as 65535 (45 days).
	LFUDecayTime int

	// ActiveExpiryInterval is how often the primary samples keys with a
	// deadline and deletes the expired ones (each deletion becomes a DEL in
	// the stream). Redis runs this cycle 10 times per second (hz 10).
	// Default 100ms. A negative value disables active expiry; expired keys
	// are then still hidden on read and deleted when accessed.
	ActiveExpiryInterval time.Duration

	// SnapshotNoCompression turns off LZF compression of values longer than
	// 20 bytes in snapshots. Redis: rdbcompression no. Default false.
	SnapshotNoCompression bool

	// Password, when set, is required from replicas (and clients) before
	// they may sync: AUTH <password> or AUTH default <password>.
	// Redis: requirepass. Default: none.
	Password string

	// MasterUser and MasterAuth are sent as AUTH [user] password to the
	// primary this store follows. Redis: masteruser, masterauth.
	MasterUser string
	MasterAuth string

	// ReplicaWritable lets the API write to a replica (writes are local: not
	// sent to the primary, and lost at the next full resync).
	// Redis: replica-read-only no. Default false: writes on a replica
	// return ErrReadOnly.
	ReplicaWritable bool

	// RefuseStaleReads makes a replica refuse reads with ErrSyncing while
	// its link to the primary is not up (connecting, loading a snapshot,
	// or broken). By default it serves the data it has, as Redis does.
	// Redis: replica-serve-stale-data no. Default false (stale reads served).
	RefuseStaleReads bool

	// ListeningPort is announced to the primary (REPLCONF listening-port)
	// and shown in its INFO. Default: the port of the first TCP listener
	// given to Serve, else 0.
	ListeningPort int

	// AnnounceIP, when set, is announced to the primary (REPLCONF
	// ip-address) as the address its INFO shows for this replica, instead
	// of the connection's: what Redis Sentinel and sub-replicas then dial.
	// Redis: replica-announce-ip. Default: none.
	AnnounceIP string

	// PingPeriod is how often a primary with replicas sends PING down the
	// stream, whichever way it serves them (Serve, ServeReplicaConn, and so
	// package server and cmd/replikv). ReplTimeout, on the primary and on
	// every replica (Redis replicas included), must exceed it by a margin,
	// or an idle primary's replicas time out between two PINGs and
	// reconnect. Redis: repl-ping-replica-period. Default 10s, or a quarter
	// of ReplTimeout when that is shorter; set explicitly, it must be below
	// ReplTimeout. Reconfigure may change it; the new period applies from
	// the next PING.
	PingPeriod time.Duration

	// AckPeriod is how often a replica sends REPLCONF ACK. Default 1s, or a
	// quarter of ReplTimeout when that is shorter; it must be below
	// ReplTimeout.
	AckPeriod time.Duration

	// ReplTimeout is how long either side of a link waits for the other
	// before dropping it: a primary drops a replica silent for this long, a
	// replica reconnects to a primary silent for this long; it also bounds
	// each handshake step and each write. It must be well above the
	// primary's PING period (Redis masters ping every 10 s), or a quiet
	// link is taken for a dead one; New logs a warning when it is not
	// above PingPeriod. Redis: repl-timeout. Default 60s.
	ReplTimeout time.Duration

	// ReplicaOutputLimits bound the stream bytes queued for one replica
	// (Redis client-output-buffer-limit replica 256mb 64mb 60); a replica
	// over them is dropped and has to resync.
	ReplicaOutputLimits SubscribeLimits

	// ReconnectMin and ReconnectMax bound the backoff between attempts of a
	// replica to reconnect to its primary. Defaults 100ms and 2s; when only
	// one is set, the other follows it (ReconnectMax 50ms alone gives
	// ReconnectMin 50ms).
	ReconnectMin, ReconnectMax time.Duration

	// SpoolDir is the directory where a primary spools the snapshot of a
	// full resynchronisation (an RDB file, about the size of the data)
	// while it encodes it once for every replica that syncs from it; the
	// file is removed when the last of them has it (Redis's disk-based
	// replication, without the fork). Default "": os.TempDir().
	SpoolDir string

	// MaxHandshakes caps the connections given to Serve that are still in
	// the replication handshake (before PSYNC or SYNC); more wait, without
	// buffers, for up to ReplTimeout and are then closed. Default 64.
	MaxHandshakes int

	// MinReplicasToWrite, when positive, makes a primary refuse API writes
	// with ErrNoReplicas while fewer than this many replicas are online
	// with an acknowledgement younger than MinReplicasMaxLag (Info's
	// GoodReplicas). It bounds how much an isolated primary can accept
	// that no replica has; it does not make a write wait for replicas (use
	// Wait for that). Redis: min-replicas-to-write. Default 0: off.
	// Reconfigure may change it.
	MinReplicasToWrite int

	// MinReplicasMaxLag is how old a replica's last REPLCONF ACK may be for
	// it to count toward MinReplicasToWrite. Replicas ACK every AckPeriod
	// (Redis replicas every second), so keep it well above that. A
	// negative value turns the min-replicas check off, as Redis's 0 does.
	// Redis: min-replicas-max-lag (in seconds there). Default 10s.
	// Reconfigure may change it.
	MinReplicasMaxLag time.Duration

	// Dir is the directory of the store's snapshot file on disk (Redis:
	// dir). Default "": no disk IO at all. When set, New loads
	// Dir/DBFilename if it exists (a missing file starts the store empty;
	// a corrupt or truncated one makes New fail with ErrCorruptSnapshot,
	// the file left as it is), and Save with an empty path writes there.
	// See persist.go and the README's "Persistence and restarts".
	Dir string

	// DBFilename is the snapshot file's name inside Dir (Redis:
	// dbfilename). Default "dump.rdb". It must be a plain file name.
	DBFilename string

	// SavePoints, with Dir, save the store to Dir/DBFilename in the
	// background whenever, for one of them, at least Changes writes
	// happened and After has passed since the last save (Redis: save
	// <seconds> <changes>). Default none: no periodic save.
	SavePoints []SavePoint

	// SaveOnClose, with Dir, makes Close save the store to Dir/DBFilename
	// before stopping (Redis saves on SHUTDOWN when save points are set).
	// A failed save is logged and Close goes on. Default false.
	SaveOnClose bool

	// ServeFullSyncWhenEmpty turns off the guard of a primary that started
	// without its snapshot: with Dir set and no file found by New, such a
	// primary refuses (with -NOMASTERLINK, which replicas retry later)
	// the full resyncs of replicas that hold data of another history,
	// because that full resync would replace their data with its empty
	// keyspace, until AllowFullSync is called. Replicas asking "PSYNC ? -1"
	// (no data) and replicas of its own new history are served. Redis has
	// no such guard: set this to behave as Redis does. Default false
	// (guard on).
	ServeFullSyncWhenEmpty bool

	// Now is the clock used for expiry. Default time.Now. Tests may set it.
	Now func() time.Time

	// Logger receives the store's logs. Default: discard.
	Logger *slog.Logger

	// OnLinkChange, when set, is called on every change of the link to the
	// primary (as raft's LeaderCh tells of leadership), with the reason when
	// the link went down. It runs on the store's goroutines, after the
	// change: it must return quickly and must not call ReplicaOf, Promote
	// or Close (hand the event to another goroutine for that).
	OnLinkChange func(from, to LinkStatus, err error)
}

// Defaults used for zero Config fields.
const (
	DefaultShards               = 1024
	DefaultBacklogSize          = 1 << 20
	DefaultMaxBulkLen           = 512 << 20
	DefaultActiveExpiryInterval = 100 * time.Millisecond
	DefaultPingPeriod           = 10 * time.Second
	DefaultAckPeriod            = time.Second
	DefaultReplTimeout          = 60 * time.Second
	DefaultReconnectMin         = 100 * time.Millisecond
	DefaultReconnectMax         = 2 * time.Second
	DefaultMaxHandshakes        = 64
	DefaultMaxMemorySamples     = 5
	DefaultLFULogFactor         = 10
	DefaultLFUDecayTime         = 1
	DefaultMinReplicasMaxLag    = 10 * time.Second
)

// orDefault sets *v to d when it is the zero value.
func orDefault[T comparable](v *T, d T) {
	var zero T
	if *v == zero {
		*v = d
	}
}

// derivedPeriod is a period left at zero: its default, or a quarter of a
// shorter ReplTimeout (never zero).
func derivedPeriod(def, replTimeout time.Duration) time.Duration {
	return max(time.Millisecond, min(def, replTimeout/4))
}

// withDefaults returns a copy with every zero field replaced by its default,
// or an error naming the first invalid field.
func (c Config) withDefaults() (Config, error) {
	if c.Shards == 0 {
		c.Shards = DefaultShards
	}
	if c.Shards < 1 || c.Shards > 1<<16 || bits.OnesCount(uint(c.Shards)) != 1 {
		return c, fmt.Errorf("%w: Config.Shards %d: want a power of two in 1..65536", ErrInvalidArgument, c.Shards)
	}
	if c.DB < 0 || c.DB > 15 {
		return c, fmt.Errorf("%w: Config.DB %d: want 0..15", ErrInvalidArgument, c.DB)
	}
	if c.BacklogSize == 0 {
		c.BacklogSize = DefaultBacklogSize
	}
	if c.BacklogSize < 16<<10 {
		return c, fmt.Errorf("%w: Config.BacklogSize %d: want at least 16384 (Redis minimum)", ErrInvalidArgument, c.BacklogSize)
	}
	if c.MaxBulkLen == 0 {
		c.MaxBulkLen = DefaultMaxBulkLen
	}
	if c.MaxBulkLen < 1 || c.MaxBulkLen > maxValueLen {
		return c, fmt.Errorf("%w: Config.MaxBulkLen %d: want 1..%d", ErrInvalidArgument, c.MaxBulkLen, maxValueLen)
	}
	if err := c.memoryDefaults(); err != nil {
		return c, err
	}
	if c.ActiveExpiryInterval == 0 {
		c.ActiveExpiryInterval = DefaultActiveExpiryInterval
	}
	orDefault(&c.ReplTimeout, DefaultReplTimeout)
	// Periods left at zero follow a short ReplTimeout, so that a quiet link
	// is never taken for a dead one; set explicitly, they must be shorter.
	if c.ReplTimeout > 0 {
		orDefault(&c.PingPeriod, derivedPeriod(DefaultPingPeriod, c.ReplTimeout))
		orDefault(&c.AckPeriod, derivedPeriod(DefaultAckPeriod, c.ReplTimeout))
	}
	// One bound of the backoff set alone moves the other with it.
	switch {
	case c.ReconnectMin == 0 && c.ReconnectMax > 0:
		c.ReconnectMin = min(DefaultReconnectMin, c.ReconnectMax)
	case c.ReconnectMax == 0 && c.ReconnectMin > 0:
		c.ReconnectMax = max(DefaultReconnectMax, c.ReconnectMin)
	}
	orDefault(&c.ReconnectMin, DefaultReconnectMin)
	orDefault(&c.ReconnectMax, DefaultReconnectMax)
	c.ReplicaOutputLimits = c.ReplicaOutputLimits.withDefaults()
	for name, d := range map[string]time.Duration{"PingPeriod": c.PingPeriod, "AckPeriod": c.AckPeriod,
		"ReplTimeout": c.ReplTimeout, "ReconnectMin": c.ReconnectMin, "ReconnectMax": c.ReconnectMax} {
		if d < 0 {
			return c, fmt.Errorf("%w: Config.%s %v: want a positive duration", ErrInvalidArgument, name, d)
		}
	}
	if c.PingPeriod >= c.ReplTimeout {
		return c, fmt.Errorf("%w: Config.PingPeriod %v must be below ReplTimeout %v, or a quiet link is taken for a dead one", ErrInvalidArgument, c.PingPeriod, c.ReplTimeout)
	}
	if c.AckPeriod >= c.ReplTimeout {
		return c, fmt.Errorf("%w: Config.AckPeriod %v must be below ReplTimeout %v, or the primary drops its replicas", ErrInvalidArgument, c.AckPeriod, c.ReplTimeout)
	}
	if c.ReconnectMax < c.ReconnectMin {
		return c, fmt.Errorf("%w: Config.ReconnectMax %v is below ReconnectMin %v", ErrInvalidArgument, c.ReconnectMax, c.ReconnectMin)
	}
	if c.SpoolDir != "" {
		if fi, err := os.Stat(c.SpoolDir); err != nil || !fi.IsDir() {
			return c, fmt.Errorf("%w: Config.SpoolDir %q is not a directory", ErrInvalidArgument, c.SpoolDir)
		}
	}
	orDefault(&c.MaxHandshakes, DefaultMaxHandshakes)
	if c.MaxHandshakes < 1 {
		return c, fmt.Errorf("%w: Config.MaxHandshakes %d: want at least 1", ErrInvalidArgument, c.MaxHandshakes)
	}
	if c.MinReplicasToWrite < 0 {
		return c, fmt.Errorf("%w: Config.MinReplicasToWrite %d: want 0 or more", ErrInvalidArgument, c.MinReplicasToWrite)
	}
	orDefault(&c.MinReplicasMaxLag, DefaultMinReplicasMaxLag)
	if c.ListeningPort < 0 || c.ListeningPort > 65535 {
		return c, fmt.Errorf("%w: Config.ListeningPort %d", ErrInvalidArgument, c.ListeningPort)
	}
	if err := c.persistDefaults(); err != nil {
		return c, err
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return c, nil
}

// memoryDefaults fills in and checks the eviction settings.
func (c *Config) memoryDefaults() error {
	if c.MaxMemory < 0 {
		return fmt.Errorf("%w: Config.MaxMemory %d: want 0 (no limit) or more", ErrInvalidArgument, c.MaxMemory)
	}
	if c.EvictionPolicy == "" {
		c.EvictionPolicy = NoEviction
	}
	if !c.EvictionPolicy.valid() {
		return fmt.Errorf("%w: Config.EvictionPolicy %q", ErrInvalidArgument, c.EvictionPolicy)
	}
	orDefault(&c.MaxMemorySamples, DefaultMaxMemorySamples)
	if c.MaxMemorySamples < 1 {
		return fmt.Errorf("%w: Config.MaxMemorySamples %d: want at least 1", ErrInvalidArgument, c.MaxMemorySamples)
	}
	orDefault(&c.LFULogFactor, DefaultLFULogFactor)
	orDefault(&c.LFUDecayTime, DefaultLFUDecayTime)
	return nil
}
