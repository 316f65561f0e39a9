package rdb

import "fmt"

// Opcodes that may appear where a value type byte is expected.
const (
	opSlotInfo      = 0xF4 // cluster slot info (Redis 7.4+): three lengths
	opFunction2     = 0xF5 // function library: one string
	opFunctionPreGA = 0xF6 // function library as 7.0 release candidates wrote it
	opModuleAux     = 0xF7 // module auxiliary data
	opIdle          = 0xF8 // LRU idle time: one length
	opFreq          = 0xF9 // LFU frequency: one byte
	opAux           = 0xFA // aux field: two strings
	opResizeDB      = 0xFB // hash table size hints: two lengths
	opExpireMs      = 0xFC // expiry, unix ms: 8 bytes little-endian
	opExpireSec     = 0xFD // expiry, unix seconds: 4 bytes little-endian
	opSelectDB      = 0xFE // database number: one length
	opEOF           = 0xFF // end of data; the checksum follows
)

// RDB value type bytes.
const (
	typeString           = 0
	typeList             = 1
	typeSet              = 2
	typeZset             = 3 // scores as text
	typeHash             = 4
	typeZset2            = 5 // scores as binary doubles
	typeModulePreGA      = 6
	typeModule2          = 7
	typeHashZipmap       = 9
	typeListZiplist      = 10
	typeSetIntset        = 11
	typeZsetZiplist      = 12
	typeHashZiplist      = 13
	typeListQuicklist    = 14
	typeStreamListpacks  = 15
	typeHashListpack     = 16
	typeZsetListpack     = 17
	typeListQuicklist2   = 18
	typeStreamListpacks2 = 19
	typeSetListpack      = 20 // Redis 7.2, RDB 11
	typeStreamListpacks3 = 21 // Redis 7.2, RDB 11
	maxKnownType         = typeStreamListpacks3
)

// Sub-opcodes of module values (types 7 and opcode F7).
const (
	moduleOpcodeEOF    = 0
	moduleOpcodeSint   = 1
	moduleOpcodeUint   = 2
	moduleOpcodeFloat  = 3
	moduleOpcodeDouble = 4
	moduleOpcodeString = 5
)

// Details of value layouts.
const (
	quicklistNodePlain  = 1  // quicklist v2 container: one raw element
	quicklistNodePacked = 2  // quicklist v2 container: a listpack
	streamIDLen         = 16 // a stream ID: two big-endian uint64
	zsetScoreNaN        = 253
	zsetScorePosInf     = 254
	zsetScoreNegInf     = 255
)

var typeNames = [...]string{
	typeString:           "string",
	typeList:             "list",
	typeSet:              "set",
	typeZset:             "zset",
	typeHash:             "hash",
	typeZset2:            "zset-v2",
	typeModulePreGA:      "module-pre-ga",
	typeModule2:          "module",
	8:                    "",
	typeHashZipmap:       "hash-zipmap",
	typeListZiplist:      "list-ziplist",
	typeSetIntset:        "set-intset",
	typeZsetZiplist:      "zset-ziplist",
	typeHashZiplist:      "hash-ziplist",
	typeListQuicklist:    "list-quicklist",
	typeStreamListpacks:  "stream",
	typeHashListpack:     "hash-listpack",
	typeZsetListpack:     "zset-listpack",
	typeListQuicklist2:   "list-quicklist-v2",
	typeStreamListpacks2: "stream-v2",
	typeSetListpack:      "set-listpack",
	typeStreamListpacks3: "stream-v3",
}

// TypeName returns a readable name for an RDB value type byte, such as
// "list-quicklist-v2" for 18, or "unknown-N" for a byte that is not a value
// type. The names are the keys of SkipStats.ByType.
func TypeName(t byte) string {
	if int(t) < len(typeNames) && typeNames[t] != "" {
		return typeNames[t]
	}
	return fmt.Sprintf("unknown-%d", t)
}

// knownType reports whether t is a value type this package can skip or read.
func knownType(t byte) bool {
	return t <= maxKnownType && t != 8
}
