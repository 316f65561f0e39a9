package server

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

func debugCommands() []*command {
	return []*command{cmd("debug", -2, fAdmin, 0, 0, 0, debugCmd)}
}

// checkDebugMode validates Config.EnableDebugCommand.
func checkDebugMode(mode string) error {
	switch mode {
	case "", "no", "yes", "local":
		return nil
	}
	return errors.New("server: invalid config: EnableDebugCommand must be no, yes or local, not " + strconv.Quote(mode))
}

// debugRefused returns Redis's error for DEBUG where
// Config.EnableDebugCommand does not allow it for c, or "".
func (s *Server) debugRefused(c *client) string {
	switch s.cfg.EnableDebugCommand {
	case "yes":
		return ""
	case "local":
		if isLocal(c.conn) {
			return ""
		}
	}
	return `ERR DEBUG command not allowed. If the enable-debug-command option is set to "local", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.`
}

// debugCmd is the part of Redis's DEBUG that tests rely on: SLEEP,
// SET-ACTIVE-EXPIRE, DIGEST and DIGEST-VALUE, and HELP.
func debugCmd(x *call) {
	if e := x.s.debugRefused(x.c); e != "" {
		x.r.err(e)
		return
	}
	sub := strings.ToLower(string(cstr(x.args[1]))) // strcasecmp, as Redis compares it
	n := len(x.args)
	switch {
	case sub == "help" && n == 2:
		lines := []string{
			"DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
			"DIGEST",
			"    Output a hex signature representing the current DB content.",
			"DIGEST-VALUE <key> [<key> ...]",
			"    Output a hex signature of the values of all the specified keys.",
			"SET-ACTIVE-EXPIRE <0|1>",
			"    Setting it to 0 disables expiring keys in background when they are not",
			"    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
			"    default.",
			"SLEEP <seconds>",
			"    Stop the server for <seconds>. Decimals allowed.",
			"HELP",
			"    Print this help.",
		}
		x.r.array(len(lines))
		for _, l := range lines {
			x.r.simple(l)
		}
	case sub == "sleep" && n == 3:
		debugSleep(x)
	case sub == "set-active-expire" && n == 3:
		on, _ := strconv.Atoi(leadingInt(x.args[2]))
		x.s.store.SetActiveExpiry(on != 0)
		x.r.ok()
	case sub == "digest" && n == 2:
		debugDigest(x)
	case sub == "digest-value" && n >= 2:
		debugDigestValue(x)
	default:
		x.r.err("ERR unknown subcommand or wrong number of arguments for '" + string(x.args[1]) + "'. Try DEBUG HELP.")
	}
}

// leadingInt returns the optional sign and digits b starts with, as C's
// atoi reads them ("" when none).
func leadingInt(b []byte) string {
	i := 0
	if i < len(b) && (b[i] == '-' || b[i] == '+') {
		i++
	}
	j := i
	for j < len(b) && j < 18 && b[j] >= '0' && b[j] <= '9' {
		j++
	}
	if j == i {
		return "0"
	}
	return string(b[:j])
}

// maxDebugSleep bounds DEBUG SLEEP.
const maxDebugSleep = 24 * time.Hour

// debugSleep is DEBUG SLEEP seconds (decimals allowed; what does not
// parse counts as 0, as C's strtod gives). Unlike Redis, which stops the
// whole server, it blocks this client only; the server's Close or the
// client's disconnection ends it. Inside EXEC it does not wait.
func debugSleep(x *call) {
	secs, err := strconv.ParseFloat(string(x.args[2]), 64)
	if err != nil || secs != secs {
		secs = 0
	}
	d := time.Duration(min(secs, maxDebugSleep.Seconds()) * float64(time.Second))
	if d > 0 {
		x.c.block(func(ctx context.Context) {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-t.C:
			case <-ctx.Done():
			}
		})
	}
	x.r.ok()
}

// debugDigest is DEBUG DIGEST: Redis's signature of the dataset, the same
// for the same keys, values and presence of deadlines, in any order; 40
// zeros for an empty one. It reads the whole store with Range.
func debugDigest(x *call) {
	var final [20]byte
	first := true
	err := x.s.store.Range(func(key string, value []byte, deadline time.Time) bool {
		if first {
			first = false
			var db [4]byte
			d := uint32(x.s.store.Config().DB)
			db[0], db[1], db[2], db[3] = byte(d>>24), byte(d>>16), byte(d>>8), byte(d)
			mixDigest(&final, db[:])
		}
		var kd [20]byte
		mixDigest(&kd, []byte(key))
		valueDigest(&kd, value, !deadline.IsZero())
		xorDigest(&final, kd[:])
		return true
	})
	if err != nil {
		x.fail(err)
		return
	}
	x.r.simple(hex.EncodeToString(final[:]))
}

// debugDigestValue is DEBUG DIGEST-VALUE key …: each value's signature,
// 40 zeros for a missing key.
func debugDigestValue(x *call) {
	x.r.array(len(x.args) - 2)
	for _, k := range x.args[2:] {
		var d [20]byte
		key := string(k)
		if v, err := x.s.store.Get(key); err == nil {
			deadline, _ := x.s.store.ExpireTime(key)
			valueDigest(&d, v, !deadline.IsZero())
		}
		x.r.simple(hex.EncodeToString(d[:]))
	}
}

// valueDigest mixes a string value into d as Redis does: its type (0,
// a string, as 4 big-endian bytes), the value, and a mark for a deadline.
func valueDigest(d *[20]byte, value []byte, expires bool) {
	mixDigest(d, []byte{0, 0, 0, 0})
	mixDigest(d, value)
	if expires {
		xorDigest(d, []byte("!!expire!!"))
	}
}

// xorDigest xors the SHA-1 of b into d.
func xorDigest(d *[20]byte, b []byte) {
	h := sha1.Sum(b)
	for i := range d {
		d[i] ^= h[i]
	}
}

// mixDigest xors the SHA-1 of b into d, then replaces d by its own SHA-1.
func mixDigest(d *[20]byte, b []byte) {
	xorDigest(d, b)
	*d = sha1.Sum(d[:])
}
