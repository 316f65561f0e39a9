package server

import (
	"errors"
	"math"
	"time"

	"github.com/replikv/replikv"
)

// dumpCmd is DUMP key: Redis's serialisation of the value, or nil.
func dumpCmd(x *call) {
	if p, err := x.db.Dump(x.key(1)); !x.missOrFail(err) {
		x.r.bulk(p)
	}
}

// restoreCmd is RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME
// seconds] [FREQ frequency], checked in Redis's order. IDLETIME and FREQ
// are validated and otherwise ignored: the store keeps no access times
// or frequencies.
func restoreCmd(x *call) {
	var replace, abs, idle, freq bool
	for i := 4; i < len(x.args); i++ {
		more := i+1 < len(x.args)
		switch a := x.args[i]; {
		case isOpt(a, "replace"):
			replace = true
		case isOpt(a, "absttl"):
			abs = true
		case isOpt(a, "idletime") && more && !freq:
			if !restoreOptInt(x, x.args[i+1], math.MaxInt64, "ERR Invalid IDLETIME value, must be >= 0") {
				return
			}
			idle = true
			i++
		case isOpt(a, "freq") && more && !idle:
			if !restoreOptInt(x, x.args[i+1], 255, "ERR Invalid FREQ value, must be >= 0 and <= 255") {
				return
			}
			freq = true
			i++
		default:
			x.r.err(errSyntax)
			return
		}
	}
	if !replace && x.db.Exists(x.key(1)) {
		x.r.err("BUSYKEY Target key name already exists.")
		return
	}
	ttl, ok := parseInt(x.args[2])
	if !ok {
		x.r.err(errNotInteger)
		return
	}
	if ttl < 0 {
		x.r.err("ERR Invalid TTL value, must be >= 0")
		return
	}
	opt := replikv.RestoreOptions{Replace: replace}
	switch {
	case ttl == 0:
	case abs:
		opt.ExpireAt = time.UnixMilli(ttl)
	case ttl > math.MaxInt64-x.nowMs():
		// Redis adds the TTL to its clock in a long long, which wraps
		// to a deadline in the past: nothing is restored (and REPLACE
		// deletes the key).
		opt.ExpireAt = time.UnixMilli(1)
	default:
		opt.ExpireAt = time.UnixMilli(x.nowMs() + ttl)
	}
	err := x.db.Restore(x.key(1), x.args[3], opt)
	switch {
	case err == nil:
		x.r.ok()
	case errors.Is(err, replikv.ErrBusyKey):
		x.r.err("BUSYKEY Target key name already exists.")
	case errors.Is(err, replikv.ErrDumpPayload):
		x.r.err("ERR DUMP payload version or checksum are wrong")
	case errors.Is(err, replikv.ErrBadDataFormat):
		x.r.err("ERR Bad data format")
	case errors.Is(err, replikv.ErrNotString):
		x.r.err("ERR Bad data format: the DUMP payload holds a value that is not a string, and this server stores strings only")
	default:
		x.fail(err)
	}
}

// restoreOptInt checks the number after IDLETIME or FREQ: an integer from
// 0 to hi, or Redis's error (rangeErr when out of range). It reports
// whether the number is good.
func restoreOptInt(x *call, arg []byte, hi int64, rangeErr string) bool {
	n, ok := parseInt(arg)
	switch {
	case !ok:
		x.r.err(errNotInteger)
	case n < 0 || n > hi:
		x.r.err(rangeErr)
	default:
		return true
	}
	return false
}
