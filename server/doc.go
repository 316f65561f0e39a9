// Package server serves a replikv.Store over RESP2, the Redis protocol, so
// that Redis clients and tools (redis-cli, go-redis, real Redis replicas)
// can use it.
//
// A Server accepts connections on any number of listeners and runs one
// goroutine per client. Commands are read with the resp package's limits,
// executed against the Store with Redis 7.0 semantics, reply shapes and
// error texts, and their replies are flushed once the client has nothing
// more pipelined. Every write goes through the Store's API, so it reaches
// the replication stream exactly once; MULTI/EXEC runs inside Store.Atomic
// and replicates as MULTI … EXEC.
//
// A connection that turns out to be a replica (it sends REPLCONF, PSYNC or
// SYNC after authenticating) is handed over to Store.ServeReplicaConn, which
// runs the rest of the handshake and feeds it the stream. Real Redis
// replicas can therefore follow a Server exactly as they follow a Redis
// primary.
//
// The supported commands are the string subset of Redis: connection
// (PING, ECHO, AUTH, HELLO, SELECT, QUIT, CLIENT …), keys and strings (GET,
// SET with every option, MGET, MSET, INCR, EXPIRE with NX/XX/GT/LT, SCAN,
// KEYS …), transactions (MULTI, EXEC, DISCARD) and administration (INFO,
// ROLE, REPLICAOF, WAIT, CONFIG GET/SET for the replication settings,
// COMMAND, FLUSHALL). See the README of the repository for the full list
// and the few deviations from Redis.
package server
