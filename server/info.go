package server

import (
	"maps"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/replikv/replikv"
	"github.com/replikv/replikv/backlog"
)

// infoSections are the sections INFO knows, in the order Redis prints
// them, and whether INFO without arguments (or INFO default) shows them;
// INFO all and INFO everything show all of them.
var infoSections = []struct {
	name      string
	byDefault bool
}{
	{"server", true}, {"clients", true}, {"memory", true}, {"persistence", true},
	{"stats", true}, {"replication", true}, {"cpu", true}, {"modules", true},
	{"commandstats", false}, {"errorstats", true}, {"latencystats", false},
	{"cluster", true}, {"keyspace", true},
}

// infoCmd is INFO [section …]: no section or "default" gives the default
// sections, "all" and "everything" every one; an unknown section gives
// nothing.
func infoCmd(x *call) {
	want := make(map[string]bool)
	if len(x.args) == 1 {
		want["default"] = true
	}
	for _, a := range x.args[1:] {
		s := strings.ToLower(string(a))
		if s == "everything" {
			s = "all"
		}
		want[s] = true
	}
	x.r.bulkString(x.s.infoText(want))
}

// infoText renders the sections in want (or, for "all" and "default",
// in those sets).
func (s *Server) infoText(want map[string]bool) string {
	var in *replikv.Info
	info := func() *replikv.Info {
		if in == nil {
			i := s.store.Info()
			in = &i
		}
		return in
	}
	var b infoBuilder
	for _, sec := range infoSections {
		if !want["all"] && !want[sec.name] && !(sec.byDefault && want["default"]) {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("\r\n")
		}
		switch sec.name {
		case "server":
			s.infoServer(&b)
		case "clients":
			s.infoClients(&b)
		case "memory":
			infoMemory(&b, info())
		case "persistence":
			s.infoPersistence(&b, info().Master.SyncInProgress) // commands_persist.go
		case "stats":
			s.infoStats(&b, info())
		case "replication":
			s.infoReplication(&b, info())
		case "cpu":
			infoCPU(&b)
		case "modules":
			b.section("Modules")
		case "commandstats":
			s.infoCommandStats(&b)
		case "errorstats":
			s.infoErrorStats(&b)
		case "latencystats":
			s.infoLatencyStats(&b)
		case "cluster":
			b.section("Cluster")
			b.field("cluster_enabled", "0")
		case "keyspace":
			s.infoKeyspace(&b, info())
		}
	}
	return b.String()
}

// infoBuilder writes INFO's "name:value\r\n" lines.
type infoBuilder struct{ strings.Builder }

func (b *infoBuilder) section(name string) { b.WriteString("# " + name + "\r\n") }

func (b *infoBuilder) field(name, value string) {
	b.WriteString(name)
	b.WriteByte(':')
	b.WriteString(value)
	b.WriteString("\r\n")
}

func (b *infoBuilder) int(name string, v int64) { b.field(name, strconv.FormatInt(v, 10)) }

func (b *infoBuilder) bool(name string, v bool) {
	if v {
		b.field(name, "1")
	} else {
		b.field(name, "0")
	}
}

// seconds renders d in whole seconds.
func seconds(d time.Duration) int64 { return int64(d / time.Second) }

func (s *Server) infoServer(b *infoBuilder) {
	port, _ := s.addr()
	exe, _ := os.Executable()
	up := time.Since(s.started)
	b.section("Server")
	b.field("redis_version", RedisVersion)
	b.field("redis_git_sha1", "00000000")
	b.field("redis_git_dirty", "0")
	b.field("redis_build_id", "0")
	b.field("redis_mode", "standalone")
	b.field("os", runtime.GOOS+" "+runtime.GOARCH)
	b.int("arch_bits", strconv.IntSize)
	b.field("multiplexing_api", "goroutines")
	b.field("go_version", runtime.Version())
	b.int("process_id", int64(os.Getpid()))
	b.field("run_id", s.runID)
	b.int("tcp_port", int64(port))
	b.int("server_time_usec", time.Now().UnixMicro())
	b.int("uptime_in_seconds", seconds(up))
	b.int("uptime_in_days", seconds(up)/86400)
	b.field("hz", "10")
	b.field("configured_hz", "10")
	b.field("executable", exe)
	b.field("config_file", s.cfg.ConfigFile)
	b.field("replikv_version", Version)
}

func (s *Server) infoClients(b *infoBuilder) {
	clients, _ := s.counts()
	b.section("Clients")
	b.int("connected_clients", int64(clients))
	b.field("cluster_connections", "0")
	b.int("maxclients", int64(s.cfg.MaxClients))
	b.int("blocked_clients", s.stats.blocked.Load())
	b.field("tracking_clients", "0")
	b.field("clients_in_timeout_table", "0")
}

// infoMemory reports what the store accounts toward maxmemory as
// used_memory (as Redis compares its used_memory with maxmemory), the Go
// heap as used_memory_heap, the memory the Go runtime holds from the
// system plus the stream's blocks mapped outside it (backlog.MappedInUse)
// as used_memory_rss, and the stream kept for the backlog and the
// replicas as mem_total_replication_buffers (Redis 7: one buffer shared
// by both).
func infoMemory(b *infoBuilder, in *replikv.Info) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rss := int64(ms.Sys) + backlog.MappedInUse()
	b.section("Memory")
	b.int("used_memory", in.UsedMemory)
	b.field("used_memory_human", humanBytes(in.UsedMemory))
	b.int("used_memory_heap", int64(ms.HeapAlloc))
	b.field("used_memory_heap_human", humanBytes(int64(ms.HeapAlloc)))
	b.int("used_memory_rss", rss)
	b.int("maxmemory", in.MaxMemory)
	b.field("maxmemory_human", humanBytes(in.MaxMemory))
	b.field("maxmemory_policy", in.EvictionPolicy.String())
	b.bool("maxmemory_exceeded_on_replica", in.OverMaxMemory)
	ratio := 0.0
	if in.UsedMemory > 0 {
		ratio = float64(rss) / float64(in.UsedMemory)
	}
	b.field("mem_fragmentation_ratio", strconv.FormatFloat(ratio, 'f', 2, 64))
	b.int("mem_total_replication_buffers", in.ReplBufferBytes)
	b.field("mem_allocator", "go")
}

// humanBytes renders n like Redis's bytesToHuman: 1.50K, 12.00M.
func humanBytes(n int64) string {
	units := []string{"B", "K", "M", "G", "T"}
	f, u := float64(n), 0
	for f >= 1024 && u < len(units)-1 {
		f /= 1024
		u++
	}
	if u == 0 {
		return strconv.FormatInt(n, 10) + "B"
	}
	return strconv.FormatFloat(f, 'f', 2, 64) + units[u]
}

func (s *Server) infoStats(b *infoBuilder, in *replikv.Info) {
	st := &s.stats
	b.section("Stats")
	b.int("total_connections_received", st.connections.Load())
	b.int("total_commands_processed", st.commands.Load())
	b.int("rejected_connections", st.rejected.Load())
	b.int("sync_full", in.SyncFull)
	b.int("sync_partial_ok", in.SyncPartialOK)
	b.int("sync_partial_err", in.SyncPartialErr)
	b.int("expired_keys", in.ExpiredKeys)
	b.int("evicted_keys", in.EvictedKeys)
	b.int("keyspace_hits", st.hits.Load())
	b.int("keyspace_misses", st.misses.Load())
	s.pubsub.mu.RLock()
	channels, patterns := len(s.pubsub.channels), len(s.pubsub.patterns)
	s.pubsub.mu.RUnlock()
	b.int("pubsub_channels", int64(channels))
	b.int("pubsub_patterns", int64(patterns))
	b.field("unexpected_error_replies", "0")
	b.int("total_error_replies", st.errorReplies.Load())
}

// infoReplication prints Redis 7.0's replication section, field for field
// in its order.
func (s *Server) infoReplication(b *infoBuilder, in *replikv.Info) {
	b.section("Replication")
	b.field("role", in.Role)
	if in.Role == "slave" {
		m := &in.Master
		up := m.LinkStatus == replikv.LinkUp
		b.field("master_host", m.Host)
		b.int("master_port", int64(m.Port))
		b.field("master_link_status", map[bool]string{true: "up", false: "down"}[up])
		if up {
			b.int("master_last_io_seconds_ago", seconds(m.LastIO))
		} else {
			b.int("master_last_io_seconds_ago", -1)
		}
		b.bool("master_sync_in_progress", m.SyncInProgress)
		b.int("slave_read_repl_offset", in.Offset)
		b.int("slave_repl_offset", in.Offset)
		if m.SyncInProgress {
			b.int("master_sync_total_bytes", m.SyncBytesTotal)
			b.int("master_sync_read_bytes", m.SyncBytesLoaded)
			b.int("master_sync_left_bytes", m.SyncBytesTotal-m.SyncBytesLoaded)
			b.field("master_sync_perc", strconv.FormatFloat(m.SyncPercent, 'f', 2, 64))
			b.int("master_sync_last_io_seconds_ago", seconds(max(m.LastIO, 0)))
		}
		if !up {
			if m.DownFor > 0 {
				b.int("master_link_down_since_seconds", seconds(m.DownFor))
			} else {
				b.int("master_link_down_since_seconds", -1)
			}
		}
		b.field("slave_priority", secondsWithDefault(s.dynamicConfig().ReplicaPriority, defaultReplicaPriority))
		b.bool("slave_read_only", m.ReadOnly)
		b.field("replica_announced", "1")
	}
	b.int("connected_slaves", int64(len(in.Replicas)))
	if in.GoodReplicas >= 0 {
		b.int("min_slaves_good_slaves", int64(in.GoodReplicas))
	}
	for i, r := range in.Replicas {
		line := "ip=" + r.Addr + ",port=" + strconv.Itoa(r.Port) + ",state=" + r.State +
			",offset=" + strconv.FormatInt(r.Offset, 10) + ",lag=" + strconv.FormatInt(seconds(r.Lag), 10)
		if r.State != "online" {
			// replikv's own: the full resync's progress (total -1 while the
			// snapshot is still being produced).
			line += ",sync_sent_bytes=" + strconv.FormatInt(r.SyncSentBytes, 10) +
				",sync_total_bytes=" + strconv.FormatInt(r.SyncTotalBytes, 10)
		}
		b.field("slave"+strconv.Itoa(i), line)
	}
	b.field("master_failover_state", in.FailoverState.String())
	b.field("master_replid", in.ReplID)
	b.field("master_replid2", in.ReplID2)
	b.int("master_repl_offset", in.Offset)
	b.int("second_repl_offset", in.SecondOffset)
	b.field("repl_backlog_active", "1")
	b.int("repl_backlog_size", int64(in.BacklogSize))
	b.int("repl_backlog_first_byte_offset", in.BacklogFirstByte)
	b.int("repl_backlog_histlen", in.BacklogHistLen)
	if in.SnapshotInProgress {
		// replikv's own: the snapshot being produced for full resyncs.
		b.int("fullsync_snapshot_offset", in.SnapshotOffset)
		b.int("fullsync_snapshot_bytes", in.SnapshotBytes)
		b.int("fullsync_snapshot_replicas", int64(in.SnapshotReplicas))
	}
	// replikv's own, on a replica once it happened: commands from the
	// primary this store could not apply, whose keys it deleted instead
	// (by command), and those that cost a full resync (see
	// replikv.MasterInfo).
	m := &in.Master
	for _, name := range slices.Sorted(maps.Keys(m.DroppedCommands)) {
		b.field("apply_dropped_"+name, "calls="+strconv.FormatInt(m.DroppedCommands[name], 10))
	}
	if m.ResyncCommands > 0 {
		b.int("apply_resync_commands", m.ResyncCommands)
	}
}

// infoKeyspace prints the store's database line when it holds keys.
func (s *Server) infoKeyspace(b *infoBuilder, in *replikv.Info) {
	b.section("Keyspace")
	if in.Keys == 0 {
		return
	}
	b.field(s.dbName(), "keys="+strconv.Itoa(in.Keys)+",expires="+strconv.Itoa(in.Expires)+",avg_ttl=0")
}
