package server

import (
	"errors"
	"math"
	"time"

	"github.com/replikv/replikv"
)

// dumpCmd is DUMP key: Redis's serialisation of the value, or nil.
func dumpCmd(x *call) {
	p, err := x.db.Dump(x.key(1))
	switch {
	case errors.Is(err, replikv.ErrNotFound):
		x.r.null()
	case err != nil:
		x.fail(err)
	default:
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
		case is(a, "replace"):
			replace = true
		case is(a, "absttl"):
			abs = true
		case is(a, "idletime") && more && !freq:
			n, ok := parseInt(x.args[i+1])
			if !ok {
				x.r.err(errNotInteger)
				return
			}
			if n < 0 {
				x.r.err("ERR Invalid IDLETIME value, must be >= 0")
				return
			}
			idle = true
			i++
		case is(a, "freq") && more && !idle:
			n, ok := parseInt(x.args[i+1])
			if !ok {
				x.r.err(errNotInteger)
				return
			}
			if n < 0 || n > 255 {
				x.r.err("ERR Invalid FREQ value, must be >= 0 and <= 255")
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
	default:
		now := x.nowMs()
		opt.ExpireAt = time.UnixMilli(now + min(ttl, math.MaxInt64-now))
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
