// Package backlog implements the replication backlog: a fixed-size ring
// buffer that holds the newest bytes of a replication stream and is
// addressed by absolute stream offset.
//
// Offsets are 0-based byte positions in the stream. A Ring covers the
// half-open range [First(), End()): End is the position the next appended
// byte will take, and First = End - Len. When more than Cap bytes have been
// appended, the oldest bytes are overwritten and First moves forward.
//
// A primary appends every command it propagates and serves a replica asking
// to continue at offset o with Copy(w, o) as long as Covers(o) holds. A
// replica keeps its own Ring of what it applied, so it can serve
// sub-replicas and be promoted.
//
// A Ring is not safe for concurrent use: the caller serialises access,
// typically under the lock that orders the replication stream.
//
// A Buffer is the shared form: one chain of blocks that the backlog
// window and any number of lagging readers (Cursors) read in place. With
// SetMapped, its blocks live in memory mapped outside the Go heap (on
// 64-bit Linux, up to MaxMapped for the process), so that a large stream
// held for slow readers does not also grow the garbage collector's heap
// goal; see SetMapped for what that asks of readers.
package backlog
