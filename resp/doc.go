// Package resp reads and writes RESP2, the Redis serialization protocol, with
// hard limits on everything a peer declares.
//
// Both directions of a replication link and the RESP server speak it: a
// client or a primary sends commands as arrays of bulk strings (or, rarely,
// as inline text lines), and replies come back as simple strings, errors,
// integers, bulk strings and arrays.
//
// # Reading
//
// A Reader wraps an io.Reader with its own buffer. ReadCommand returns one
// command together with the exact bytes it occupied on the wire (Raw), which
// is what a replica appends to its backlog and counts in its replication
// offset. ReadReply decodes one reply for a client. ReadLine and Read give
// access to the parts of the replication handshake that are not RESP (the
// "$EOF:<mark>" header and the RDB payload after a "$<len>" header). Offset
// counts every byte consumed by any of them.
//
// Every length a peer declares is checked against Limits before anything is
// allocated, and the buffer grows only as bytes actually arrive, so a peer
// that announces a 100 GiB bulk string and then sends nothing costs nothing.
// Malformed input yields an *Error that says what was wrong and at which byte
// of the stream, matching ErrProtocol or ErrTooLarge with errors.Is.
//
// # Writing
//
// The Append functions encode into a caller-supplied byte slice without
// allocating (beyond growing that slice), in the style of strconv.AppendInt.
// Writer wraps a bufio.Writer with the same encodings for a server.
package resp
