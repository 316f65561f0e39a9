package server

import (
	"bytes"
	"testing"
	"time"

	"github.com/replikv/replikv"
)

// bitsFuzzBulk is the proto-max-bulk-len of FuzzBitsCommands's store.
const bitsFuzzBulk = 1024

// FuzzBitsCommands sends the partial string commands with arguments from
// the fuzzer to a server whose store has a small MaxBulkLen: every
// command gets a reply, the connection keeps working, and no value grows
// past MaxBulkLen (8 bytes more for a BITFIELD field), whatever offsets,
// lengths, types and counts the arguments name: the parsers refuse what
// would size an allocation past the limit before the store is called.
func FuzzBitsCommands(f *testing.F) {
	n := startNode(f, replikv.Config{MaxBulkLen: bitsFuzzBulk}, Config{})
	names := []string{"SETRANGE", "GETRANGE", "SUBSTR", "SETBIT", "GETBIT", "BITCOUNT", "BITPOS", "BITOP", "BITFIELD",
		"BITFIELD_RO", "LCS", "INCRBYFLOAT", "STRLEN"}
	for _, s := range []string{
		"\x03k 8191 1", "\x03k 8192 1", "\x08k SET i64 8191 -1 GET u8 #1023", "\x08k SET u8 #2305843009213693953 1",
		"\x00k 1023 x", "\x00k 1024 x", "\x00k 9223372036854775807 x", "\x07AND d k k2", "\x0ak k2 IDX MINMATCHLEN 99999999999",
		"\x0bf 1e4932", "\x05k 0 -1 BIT", "\x06k 0 -9223372036854775808 9223372036854775807 BIT", "\x0ak k LEN",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		c := n.raw(t)
		args := []string{names[int(data[0])%len(names)]}
		for _, a := range bytes.Split(data[1:], []byte{' '}) {
			args = append(args, string(a))
		}
		c.do(args...)
		if got := c.do("PING"); got != "+PONG" {
			t.Fatalf("after %q: PING = %s", args, got)
		}
		n.store.Range(func(key string, value []byte, _ time.Time) bool {
			if len(value) > bitsFuzzBulk+8 {
				t.Fatalf("after %q: %q holds %d bytes", args, key, len(value))
			}
			return true
		})
	})
}
