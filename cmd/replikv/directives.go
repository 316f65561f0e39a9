package main

// directiveDoc describes one directive the binary applies, for the usage
// text and for the command line, which accepts exactly these (a config
// file may hold others: see applyAll).
type directiveDoc struct {
	name  string
	alias string // an old spelling Redis also accepts, or ""
	args  string // the arguments, as the usage shows them
	help  string // what it does, with its default
}

// directives are the directives the binary applies, in the order the
// usage lists them. Every one is a --flag too.
var directives = []directiveDoc{
	{"port", "", "<port>", "TCP port for plain-text clients; 0 turns it off (default 6379)"},
	{"bind", "", "<addr> ...", `addresses to listen on; * is every IPv4 one, ::* every IPv6 one, "-" before one makes it optional (default 127.0.0.1)`},
	{"protected-mode", "", "yes|no", "without a password, serve loopback clients only (default yes)"},
	{"requirepass", "", "<password>", "password clients must AUTH with (default none)"},
	{"maxclients", "", "<n>", "most clients at once, lowered to fit ulimit -n (default 10000)"},
	{"enable-debug-command", "", "yes|no|local", "allow DEBUG (SLEEP, SET-ACTIVE-EXPIRE, DIGEST …); local: from this host only (default no)"},
	{"timeout", "", "<seconds>", "close a client idle this long; 0 never (default 0)"},
	{"rename-command", "", "<command> <name>", "rename a command; an empty name disables it"},
	{"replicaof", "slaveof", "<host> <port>", `follow this primary; "no one" to be a primary (default)`},
	{"masterauth", "", "<password>", "password to AUTH with at the primary"},
	{"replica-priority", "slave-priority", "<n>", "INFO's slave_priority, for Redis Sentinel: the lowest is promoted first, 0 never (default 100)"},
	{"replica-announce-ip", "slave-announce-ip", "<ip>", "address announced to the primary for this replica (default: the connection's)"},
	{"replica-announce-port", "slave-announce-port", "<port>", "port announced to the primary for this replica; 0 the listening port (default 0)"},
	{"masteruser", "", "<user>", "user to AUTH as at the primary"},
	{"replica-read-only", "slave-read-only", "yes|no", "refuse writes from clients on a replica (default yes)"},
	{"replica-serve-stale-data", "slave-serve-stale-data", "yes|no", "serve reads while the link to the primary is down (default yes)"},
	{"repl-backlog-size", "", "<bytes>", "replication backlog, such as 1mb (default 1mb)"},
	{"repl-timeout", "", "<seconds>", "a replication link silent this long is dead (default 60)"},
	{"repl-ping-replica-period", "repl-ping-slave-period", "<seconds>", "PING replicas this often (default 10)"},
	{"maxmemory", "", "<bytes>", "evict or refuse writes above this much data, such as 100mb; 0 no limit (default 0)"},
	{"maxmemory-policy", "", "<policy>", "noeviction, allkeys-lru, allkeys-lfu, allkeys-random, volatile-lru, volatile-lfu, volatile-random or volatile-ttl (default noeviction)"},
	{"maxmemory-samples", "", "<n>", "keys sampled per eviction (default 5)"},
	{"lfu-log-factor", "", "<n>", "accesses per LFU counter step grow with this factor (default 10)"},
	{"lfu-decay-time", "", "<minutes>", "idle minutes that take one off an LFU counter; 0 never (default 1)"},
	{"min-replicas-to-write", "min-slaves-to-write", "<n>", "refuse writes (NOREPLICAS) with fewer good replicas than this; 0 turns it off (default 0)"},
	{"min-replicas-max-lag", "min-slaves-max-lag", "<seconds>", "a replica is good while its last ACK is younger than this; 0 turns the check off (default 10)"},
	{"dir", "", "<directory>", "where dbfilename is loaded at start and saved, and full resyncs spool their snapshot; without it nothing is saved (default: none, spooling in the system's temporary directory)"},
	{"dbfilename", "", "<name>", "the snapshot file in dir (default dump.rdb)"},
	{"save", "", `"<seconds> <changes> ..."`, `save in the background when a save point is reached, and on SIGTERM and SHUTDOWN; "" for none (default "")`},
	{"full-sync-when-empty", "", "yes|no", "started without its dbfilename, serve full resyncs that replace replicas' data, as Redis does; no refuses them until ALLOWFULLSYNC (default no)"},
	{"tls-port", "", "<port>", "TCP port for TLS clients and replicas; 0 turns it off (default 0)"},
	{"tls-cert-file", "", "<file>", "PEM certificate the server presents, and the replication client too"},
	{"tls-key-file", "", "<file>", "PEM private key of tls-cert-file"},
	{"tls-key-file-pass", "", "<passphrase>", "passphrase of an encrypted tls-key-file"},
	{"tls-client-cert-file", "", "<file>", "PEM certificate presented to the primary instead of tls-cert-file"},
	{"tls-client-key-file", "", "<file>", "PEM private key of tls-client-cert-file"},
	{"tls-client-key-file-pass", "", "<passphrase>", "passphrase of an encrypted tls-client-key-file"},
	{"tls-ca-cert-file", "", "<file>", "PEM CA certificates that clients' and the primary's certificates must chain to"},
	{"tls-ca-cert-dir", "", "<directory>", "a directory of PEM CA certificates, as tls-ca-cert-file"},
	{"tls-auth-clients", "", "yes|no|optional", "require client certificates; optional checks those given (default yes)"},
	{"tls-replication", "", "yes|no", "connect to the primary over TLS (default no)"},
	{"tls-protocols", "", `"<protocol> ..."`, `TLS versions accepted, of TLSv1 TLSv1.1 TLSv1.2 TLSv1.3 (default "TLSv1.2 TLSv1.3")`},
	{"tls-ciphers", "", "<cipher>:...", "TLS 1.2 (and older) cipher suites by name, such as ECDHE-RSA-AES128-GCM-SHA256"},
	{"tls-ciphersuites", "", "<suite>:...", "TLS 1.3 suites: only all of Go's, TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"},
}

// knownDirective reports whether name (lower case) is in directives, under
// its name or its alias.
func knownDirective(name string) bool {
	for _, d := range directives {
		if d.name == name || d.alias == name {
			return true
		}
	}
	return false
}
