package server

import (
	"math"
	"time"
)

func keyCommands() []*command {
	const r, w = fData, fData | fWrite
	return []*command{
		cmd("del", -2, w, 1, -1, 1, delCmd),
		cmd("unlink", -2, w|fFast, 1, -1, 1, delCmd),
		cmd("exists", -2, r|fFast, 1, -1, 1, existsCmd),
		cmd("type", 2, r|fFast, 1, 1, 1, typeCmd),
		cmd("expire", -3, w|fFast, 1, 1, 1, expireCmd(unitEX)),
		cmd("pexpire", -3, w|fFast, 1, 1, 1, expireCmd(unitPX)),
		cmd("expireat", -3, w|fFast, 1, 1, 1, expireCmd(unitEXAT)),
		cmd("pexpireat", -3, w|fFast, 1, 1, 1, expireCmd(unitPXAT)),
		cmd("ttl", 2, r|fFast, 1, 1, 1, ttlCmd(false, false)),
		cmd("pttl", 2, r|fFast, 1, 1, 1, ttlCmd(true, false)),
		cmd("expiretime", 2, r|fFast, 1, 1, 1, ttlCmd(false, true)),
		cmd("pexpiretime", 2, r|fFast, 1, 1, 1, ttlCmd(true, true)),
		cmd("persist", 2, w|fFast, 1, 1, 1, persistCmd),
		cmd("dbsize", 1, r|fFast, 0, 0, 0, func(x *call) { x.r.int(int64(x.db.Len())) }),
		cmd("keys", 2, r|fNoMulti, 0, 0, 0, keysCmd),
		cmd("scan", -2, r|fNoMulti, 0, 0, 0, scanCmd),
		cmd("flushall", -1, w, 0, 0, 0, flushCmd),
		cmd("flushdb", -1, w, 0, 0, 0, flushCmd),
		cmd("rename", 3, w, 1, 2, 1, renameCmd(false)),
		cmd("renamenx", 3, w|fFast, 1, 2, 1, renameCmd(true)),
		cmd("copy", -3, w|fDenyOOM, 1, 2, 1, copyCmd),
		cmd("randomkey", 1, r, 0, 0, 0, randomKeyCmd),
		cmd("touch", -2, r|fFast, 1, -1, 1, func(x *call) { x.r.int(int64(x.db.Touch(x.keys(1)...))) }),
		cmd("dump", 2, r, 1, 1, 1, dumpCmd),
		cmd("restore", -4, w|fDenyOOM, 1, 1, 1, restoreCmd),
		objectCommand(),
		cmd("time", 1, fFast, 0, 0, 0, timeCmd),
	}
}

// delCmd is DEL and UNLINK: several keys are removed atomically.
func delCmd(x *call) {
	var n int
	err := x.atomicIf(len(x.args) > 2, x.keys(1), func(db keyspace) (err error) {
		n, err = db.Delete(x.keys(1)...)
		return err
	})
	if err != nil {
		x.fail(err)
		return
	}
	x.r.int(int64(n))
}

// existsCmd counts the keys that exist; a key named twice counts twice.
func existsCmd(x *call) {
	n := int64(0)
	for i := 1; i < len(x.args); i++ {
		if x.db.Exists(x.key(i)) {
			n++
		}
	}
	x.r.int(n)
}

func typeCmd(x *call) {
	if x.db.Exists(x.key(1)) {
		x.r.simple("string")
	} else {
		x.r.simple("none")
	}
}

// expire conditions of EXPIRE and its relatives.
type expireCond struct{ nx, xx, gt, lt bool }

func parseExpireCond(args [][]byte) (expireCond, string) {
	var c expireCond
	for _, a := range args {
		switch {
		case is(a, "nx"):
			c.nx = true
		case is(a, "xx"):
			c.xx = true
		case is(a, "gt"):
			c.gt = true
		case is(a, "lt"):
			c.lt = true
		default:
			return c, "ERR Unsupported option " + string(a)
		}
	}
	if c.nx && (c.xx || c.gt || c.lt) {
		return c, "ERR NX and XX, GT or LT options at the same time are not compatible"
	}
	if c.gt && c.lt {
		return c, "ERR GT and LT options at the same time are not compatible"
	}
	return c, ""
}

// allows reports whether the condition lets a key whose deadline is cur
// (0: none) get the deadline dl.
func (c expireCond) allows(cur, dl int64) bool {
	switch {
	case c.nx && cur != 0, c.xx && cur == 0:
		return false
	case c.gt && (cur == 0 || dl <= cur): // no deadline counts as infinite
		return false
	case c.lt && cur != 0 && dl >= cur:
		return false
	}
	return true
}

// expireCmd is EXPIRE, PEXPIRE, EXPIREAT and PEXPIREAT key time
// [NX|XX|GT|LT]. A time in the past deletes the key.
func expireCmd(unit int) func(*call) {
	return func(x *call) {
		cond, e := parseExpireCond(x.args[3:])
		if e != "" {
			x.r.err(e)
			return
		}
		n, ok := parseInt(x.args[2])
		if !ok {
			x.r.err(errNotInteger)
			return
		}
		if unit == unitEX || unit == unitEXAT {
			if n > math.MaxInt64/1000 || n < math.MinInt64/1000 {
				x.r.err(invalidExpire(x.cmd.name))
				return
			}
			n *= 1000
		}
		if unit == unitEX || unit == unitPX {
			now := x.nowMs()
			if n > math.MaxInt64-now {
				x.r.err(invalidExpire(x.cmd.name))
				return
			}
			n += now
		}
		done := false
		err := x.atomicIf(cond != expireCond{}, []string{x.key(1)}, func(db keyspace) (err error) {
			if cond != (expireCond{}) {
				cur, exists := db.ExpireTime(x.key(1))
				if !exists || !cond.allows(unixMs(cur), n) {
					return nil
				}
			}
			done, err = db.ExpireAt(x.key(1), time.UnixMilli(n))
			return err
		})
		if err != nil {
			x.fail(err)
			return
		}
		x.r.bool(done)
	}
}

// ttlCmd is TTL and PTTL (time left, rounded to the nearest second for
// TTL), EXPIRETIME and PEXPIRETIME (the absolute deadline): -2 when the key
// does not exist, -1 when it has no deadline.
func ttlCmd(ms, abs bool) func(*call) {
	return func(x *call) {
		at, ok := x.db.ExpireTime(x.key(1))
		dl := unixMs(at)
		switch {
		case !ok:
			x.r.int(-2)
		case dl == 0:
			x.r.int(-1)
		default:
			t := dl
			if !abs {
				t = max(dl-x.nowMs(), 0)
			}
			if !ms { // to the nearest second, without overflowing near MaxInt64
				t = t/1000 + (t%1000+500)/1000
			}
			x.r.int(t)
		}
	}
}

func persistCmd(x *call) {
	ok, err := x.db.Persist(x.key(1))
	if err != nil {
		x.fail(err)
		return
	}
	x.r.bool(ok)
}

// flushCmd is FLUSHALL and FLUSHDB [ASYNC|SYNC]: the store holds one
// database, so both remove every key.
func flushCmd(x *call) {
	if len(x.args) > 2 || (len(x.args) == 2 && !is(x.args[1], "async") && !is(x.args[1], "sync")) {
		x.r.err(errSyntax)
		return
	}
	if err := x.db.FlushAll(); err != nil {
		x.fail(err)
		return
	}
	x.r.ok()
}
