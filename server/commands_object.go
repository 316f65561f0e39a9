package server

import (
	"errors"
	"strconv"
	"time"

	"github.com/replikv/replikv"
)

// objectCommand is OBJECT ENCODING, FREQ, IDLETIME, REFCOUNT and HELP,
// with Redis 7.0's replies: FREQ is the key's LFU counter under an LFU
// maxmemory-policy and refused under the others, IDLETIME the seconds
// since the key's last access under the others and refused under LFU.
// Neither counts as an access.
func objectCommand() *command {
	c := container("object", -2, fData, nil,
		cmd("encoding", 3, fData, 2, 2, 1, objectCmd(func(x *call, enc string) { x.r.bulkString(enc) })),
		cmd("freq", 3, fData, 2, 2, 1, objectFreq),
		cmd("idletime", 3, fData, 2, 2, 1, objectIdletime),
		cmd("refcount", 3, fData, 2, 2, 1, objectCmd(objectRefcount)),
	)
	c.subs["help"] = cmd("help", 2, fFast, 0, 0, 0, objectHelp)
	return c
}

const (
	errNoLFU = "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."
	errNoLRU = "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."
)

// objectFreq is OBJECT FREQ key: nil for a missing key (before the
// policy is checked, as Redis), the counter, or errNoLFU.
func objectFreq(x *call) {
	n, err := x.db.AccessFrequency(x.key(2))
	if errors.Is(err, replikv.ErrNotTracked) {
		x.r.err(errNoLFU)
	} else if !x.missOrFail(err) {
		x.r.int(int64(n))
	}
}

// objectIdletime is OBJECT IDLETIME key: nil for a missing key, whole
// seconds, or errNoLRU.
func objectIdletime(x *call) {
	d, err := x.db.IdleTime(x.key(2))
	if errors.Is(err, replikv.ErrNotTracked) {
		x.r.err(errNoLRU)
	} else if !x.missOrFail(err) {
		x.r.int(int64(d / time.Second))
	}
}

// objectCmd looks the key up, replies nil when it does not exist, and
// otherwise lets reply answer with the value's encoding.
func objectCmd(reply func(x *call, enc string)) func(*call) {
	return func(x *call) {
		if enc, err := x.db.ObjectEncoding(x.key(2)); !x.missOrFail(err) {
			reply(x, enc)
		}
	}
}

// objectRefcount answers as Redis does: the integers 0 to 9999 are shared
// objects with an infinite count, every other value has one reference.
func objectRefcount(x *call, enc string) {
	if enc == "int" {
		v, err := x.db.Get(x.key(2))
		if n, perr := strconv.ParseInt(string(v), 10, 64); err == nil && perr == nil && n >= 0 && n < 10000 {
			x.r.int(2147483647)
			return
		}
	}
	x.r.int(1)
}

// objectHelp is Redis 7.0's OBJECT HELP.
func objectHelp(x *call) {
	lines := []string{
		"OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"ENCODING <key>",
		"    Return the kind of internal representation used in order to store the value",
		"    associated with a <key>.",
		"FREQ <key>",
		"    Return the access frequency index of the <key>. The returned integer is",
		"    proportional to the logarithm of the recent access frequency of the key.",
		"IDLETIME <key>",
		"    Return the idle time of the <key>, that is the approximated number of",
		"    seconds elapsed since the last access to the key.",
		"REFCOUNT <key>",
		"    Return the number of references of the value associated with the specified",
		"    <key>.",
		"HELP",
		"    Prints this help.",
	}
	x.r.array(len(lines))
	for _, l := range lines {
		x.r.simple(l)
	}
}
