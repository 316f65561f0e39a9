// Package server serves a replikv.Store over RESP2, the Redis protocol, so
// that Redis clients and tools (redis-cli, go-redis, real Redis replicas)
// can use it.
//
// A Server accepts connections on any number of listeners and runs one
// goroutine per client. Commands are read with the resp package's limits,
// executed against the Store with Redis 7.0 semantics, reply shapes and
// error texts, and their replies are flushed once the client has nothing
// more pipelined. An idle client holds a 512-byte read buffer and no
// reply buffer (some 6 KB in all, its goroutine's stack included); the
// buffers grow for a burst and return after it.
//
// A command that blocks (WAIT) goes through one mechanism: the replies
// before it are flushed, and while it waits a single reader keeps reading
// the connection, so that pipelined bytes are kept in order for the
// commands after it and a disconnect or CLIENT KILL ends the wait and
// frees the client at once. Every write goes through the Store's API, so it reaches
// the replication stream exactly once; MULTI/EXEC runs inside Store.Atomic
// and replicates as MULTI … EXEC. WATCH remembers each key's
// replikv.KeyVersion and EXEC compares them under the transaction's locks.
//
// A connection that turns out to be a replica (it sends REPLCONF, PSYNC or
// SYNC, after AUTH when a password is set) is handed over to
// Store.ServeReplicaConn, which runs the rest of the handshake and feeds it
// the stream. Real Redis replicas therefore follow a Server as they follow
// a Redis primary.
//
// # Commands
//
// Connection: PING, ECHO, AUTH, HELLO, SELECT, QUIT, RESET, MONITOR,
// CLIENT (ID, SETNAME, GETNAME, SETINFO, LIST, INFO, KILL, REPLY,
// NO-EVICT, HELP).
//
// Strings: GET, SET (NX, XX, GET, EX, PX, EXAT, PXAT, KEEPTTL), SETNX,
// SETEX, PSETEX, GETSET, GETDEL, GETEX (EX, PX, EXAT, PXAT, PERSIST), MGET,
// MSET, MSETNX, INCR, INCRBY, DECR, DECRBY, APPEND, STRLEN.
//
// Keys: DEL, UNLINK, EXISTS, TYPE, EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT
// (NX, XX, GT, LT), TTL, PTTL, EXPIRETIME, PEXPIRETIME, PERSIST, DBSIZE,
// KEYS, SCAN (MATCH, COUNT, TYPE), FLUSHALL, FLUSHDB.
//
// Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//
// Pub/sub: PUBLISH, SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE,
// PUBSUB (CHANNELS, NUMSUB, NUMPAT, HELP), with RESP2's subscribed mode.
// A PUBLISH on a primary is propagated to its replicas in the stream, and
// a replica's subscribers receive its primary's; Server.Publish and
// Server.Subscribe are the same from Go.
//
// Debugging, where Config.EnableDebugCommand allows it: DEBUG (SLEEP,
// SET-ACTIVE-EXPIRE, DIGEST, DIGEST-VALUE, HELP).
//
// Server and replication: INFO, ROLE, REPLICAOF and SLAVEOF, WAIT, CONFIG
// (GET, SET, RESETSTAT, REWRITE of the replication settings, HELP), COMMAND (COUNT, INFO, DOCS, LIST, HELP),
// and SYNC, PSYNC and REPLCONF, which hand the connection to the store.
//
// # Differences from Redis
//
//   - Only RESP2 is spoken: HELLO 3 is refused with -NOPROTO, which makes
//     clients fall back to RESP2.
//   - The store holds one database, Config.DB of the Store: SELECT accepts
//     only that number, FLUSHDB is FLUSHALL, and every client starts in it.
//   - Values are strings only: TYPE answers string or none, and SCAN TYPE
//     with another type matches nothing.
//   - Inside MULTI, the commands that need more than the keyspace (KEYS,
//     SCAN, INFO, ROLE, CONFIG, CLIENT, WAIT, REPLICAOF, DEBUG, pub/sub) are queued
//     as in Redis, but EXEC runs them outside the store's lock: a
//     transaction that has them between keyspace commands is atomic only
//     between them (see execCmd). Inside EXEC, WAIT and DEBUG SLEEP do
//     not wait.
//   - WATCH compares a key's stored item and deadline: EXPIRE to the
//     deadline a key already has is not seen as a change (see
//     replikv.Tx.Changed), nor, for a key expired when WATCHed, a write
//     followed by a deletion. Watched keys count against MaxQueuedBytes.
//   - DEBUG SLEEP blocks its client only, not the server.
//   - A MONITOR client whose pending lines pass Config.MonitorBufferLimit
//     is disconnected (Redis sets no limit for normal clients). A
//     replica's monitors see its primary's commands as they come in the
//     stream; lines around a role change may be shown or not.
//   - A subscriber's pending output is bounded by Config.PubSubLimits
//     (Redis's client-output-buffer-limit pubsub); Server.Subscribe drops
//     and counts what does not fit its buffer instead.
//   - Queued commands are bounded by Config.MaxQueuedBytes, which counts
//     what each costs in memory.
//   - SCAN cursors encode a shard and a position in it; COUNT bounds the
//     batch as in Redis, and the guarantee is the same.
//   - ProtectedMode (Redis protected-mode) is off unless set: a library
//     user chooses its listeners. The cmd/replikv binary turns it on by
//     default, as redis-server does.
//   - RenameCommands applies to the names clients send; COMMAND lists
//     commands under their new names but describes them with the old.
//   - CONFIG SET changes the store's settings (see ApplyParam: the
//     replication ones, min-replicas-to-write, min-replicas-max-lag,
//     maxmemory, maxmemory-policy, maxmemory-samples, lfu-log-factor,
//     lfu-decay-time), timeout and protected-mode. It also accepts, and
//     CONFIG GET reports, settings the server stores without acting on
//     them yet: repl-diskless-sync (snapshots are always streamed without
//     a file) and repl-diskless-sync-delay.
//   - maxmemory counts the data as the store accounts it (INFO memory
//     used_memory; see replikv.Config.MaxMemory), not the process's
//     heap (used_memory_heap). Above it, commands flagged denyoom and
//     anything queued inside MULTI get Redis's OOM error once the policy
//     can evict no more; a replica never evicts and answers
//     maxmemory_exceeded_on_replica:1 in INFO memory when above it. CONFIG GET shows a few more, read-only,
//     for tools; CONFIG SET of one of those to the value it has is
//     accepted, to another refused as immutable.
//   - CLIENT LIST shows normal clients only; qbuf, qbuf-free, argv-mem,
//     omem and tot-mem are those of the server's own read and reply
//     buffers, multi-mem, rbs, rbp, obl and oll show 0. Replicas are
//     shown by INFO replication and ROLE.
//   - INFO commandstats and latencystats time a command from its start
//     to its reply, waiting included (WAIT); used_cpu_*_main_thread
//     repeat the process's figures, Go having no main thread.
//   - Protocol errors have Redis's texts, but a bulk string must be
//     followed by CRLF (Redis skips any two bytes there).
//   - COMMAND DOCS answers an empty array, and COMMAND entries carry no
//     ACL categories, tips or key specifications.
//   - A multi-key DEL, MSET or MSETNX is atomic, through Store.Atomic, and
//     a multi-key write reaches the stream as MULTI, one command per key,
//     EXEC rather than as one command.
package server
