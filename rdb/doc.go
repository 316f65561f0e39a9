// Package rdb reads and writes snapshots in the Redis RDB format, as a
// stream: a Reader decodes entries one at a time from an io.Reader and a
// Writer encodes them to an io.Writer, so a snapshot of any size passes
// through a fixed amount of memory.
//
// replikv stores strings only, so the Reader returns string keys (RDB type
// 0) and either rejects every other type with a *TypeError or, with
// ReaderOptions.SkipNonString, steps over it and counts it. The Writer
// produces RDB version 9 or 10 files that Redis 7.0 loads, with the string
// encodings Redis itself uses (integer encoding, LZF compression).
//
// The format, as Redis 7.0 writes it:
//
//	"REDIS" + 4-digit version
//	FA key value                aux fields (redis-ver, ctime, repl-id, ...)
//	F5 code                     function libraries
//	FE db  FB keys expires      select a database, with table size hints
//	[FC ms | FD s] [F8 idle] [F9 freq] type key value
//	FF                          end
//	8-byte little-endian CRC-64/Jones of everything before it (version 5+)
//
// Every length read from the input is checked against a limit before
// memory is allocated for it, and every malformed input yields an error
// naming what was wrong and at which byte offset, never a panic.
package rdb
