package server

import (
	"math"
	"time"

	"github.com/replikv/replikv"
)

func stringCommands() []*command {
	const r, w = fData, fData | fWrite
	return []*command{
		cmd("get", 2, r|fFast, 1, 1, 1, getCmd),
		cmd("set", -3, w|fDenyOOM, 1, 1, 1, setCmd),
		cmd("setnx", 3, w|fDenyOOM|fFast, 1, 1, 1, setnxCmd),
		cmd("setex", 4, w|fDenyOOM, 1, 1, 1, setexCmd(unitEX)),
		cmd("psetex", 4, w|fDenyOOM, 1, 1, 1, setexCmd(unitPX)),
		cmd("getset", 3, w|fDenyOOM|fFast, 1, 1, 1, getsetCmd),
		cmd("getdel", 2, w|fFast, 1, 1, 1, getdelCmd),
		cmd("getex", -2, w|fFast, 1, 1, 1, getexCmd),
		cmd("mget", -2, r|fFast, 1, -1, 1, mgetCmd),
		cmd("mset", -3, w|fDenyOOM, 1, -1, 2, msetCmd),
		cmd("msetnx", -3, w|fDenyOOM, 1, -1, 2, msetnxCmd),
		cmd("incr", 2, w|fDenyOOM|fFast, 1, 1, 1, incrCmd(1, false)),
		cmd("decr", 2, w|fDenyOOM|fFast, 1, 1, 1, incrCmd(-1, false)),
		cmd("incrby", 3, w|fDenyOOM|fFast, 1, 1, 1, incrCmd(1, true)),
		cmd("decrby", 3, w|fDenyOOM|fFast, 1, 1, 1, incrCmd(-1, true)),
		cmd("append", 3, w|fDenyOOM|fFast, 1, 1, 1, appendCmd),
		cmd("strlen", 2, r|fFast, 1, 1, 1, strlenCmd),
	}
}

func getCmd(x *call) {
	// The key is looked up in place (the store keeps no reference to it).
	if err := x.bulkValue(x.db, x.args[1]); err != nil {
		x.fail(err)
	}
}

// value replies a value read from the store: the error, nil when the key
// was not found, or the value.
func (x *call) value(v []byte, found bool, err error) {
	switch {
	case err != nil:
		x.fail(err)
	case !found:
		x.r.null()
	default:
		x.r.bulk(v)
	}
}

// setCmd is SET key value [NX|XX] [GET] [EX s|PX ms|EXAT ts|PXAT ms-ts|KEEPTTL].
func setCmd(x *call) {
	o, ok := parseStrOpts(x.args[3:], true)
	if !ok {
		x.r.err(errSyntax)
		return
	}
	opt := replikv.SetOptions{NX: o.nx, XX: o.xx, KeepTTL: o.keepTTL, Get: o.get}
	if o.unit != unitNone {
		dl, e := deadline(x, o.expire, o.unit)
		if e != "" {
			x.r.err(e)
			return
		}
		opt.ExpireAt = time.UnixMilli(dl)
	}
	res, err := x.db.SetWithOptions(x.key(1), x.args[2], opt)
	switch {
	case err != nil:
		x.fail(err)
	case o.get && res.OldExists:
		x.r.bulk(res.Old)
	case o.get || !res.Written:
		x.r.null()
	default:
		x.r.ok()
	}
}

func setnxCmd(x *call) {
	res, err := x.db.SetWithOptions(x.key(1), x.args[2], replikv.SetOptions{NX: true})
	if err != nil {
		x.fail(err)
		return
	}
	x.r.bool(res.Written)
}

// setexCmd is SETEX key seconds value or PSETEX key milliseconds value.
func setexCmd(unit int) func(*call) {
	return func(x *call) {
		dl, e := deadline(x, x.args[2], unit)
		if e != "" {
			x.r.err(e)
			return
		}
		if _, err := x.db.SetWithOptions(x.key(1), x.args[3], replikv.SetOptions{ExpireAt: time.UnixMilli(dl)}); err != nil {
			x.fail(err)
			return
		}
		x.r.ok()
	}
}

func getsetCmd(x *call) {
	res, err := x.db.SetWithOptions(x.key(1), x.args[2], replikv.SetOptions{Get: true})
	switch {
	case err != nil:
		x.fail(err)
	case res.OldExists:
		x.r.bulk(res.Old)
	default:
		x.r.null()
	}
}

func getdelCmd(x *call) {
	var v []byte
	var found bool
	err := x.atomic([]string{x.key(1)}, func(db keyspace) error {
		var err error
		if v, found, err = x.get(db, x.key(1)); err != nil || !found {
			return err
		}
		_, err = db.Delete(x.key(1))
		return err
	})
	x.value(v, found, err)
}

// getexCmd is GETEX key [EX s|PX ms|EXAT ts|PXAT ms-ts|PERSIST].
func getexCmd(x *call) {
	o, ok := parseStrOpts(x.args[2:], false)
	if !ok {
		x.r.err(errSyntax)
		return
	}
	if o.unit == unitNone && !o.persist {
		getCmd(x)
		return
	}
	var v []byte
	var found bool
	var e string
	err := x.atomic([]string{x.key(1)}, func(db keyspace) error {
		var err error
		if v, found, err = x.get(db, x.key(1)); err != nil || !found {
			return err
		}
		if o.persist {
			_, err = db.Persist(x.key(1))
			return err
		}
		var dl int64
		if dl, e = deadline(x, o.expire, o.unit); e != "" {
			return nil
		}
		_, err = db.ExpireAt(x.key(1), time.UnixMilli(dl))
		return err
	})
	if e != "" && err == nil && found {
		x.r.err(e)
		return
	}
	x.value(v, found, err)
}

func mgetCmd(x *call) {
	x.r.array(len(x.args) - 1)
	for i := 1; i < len(x.args); i++ {
		if err := x.bulkValue(x.db, x.args[i]); err != nil {
			// The reply is already an array: a store error here (the link
			// went down meanwhile) shows as a missing value.
			x.r.null()
		}
	}
}

func msetCmd(x *call) {
	if len(x.args)%2 == 0 {
		x.r.err(wrongArgs(x.cmd.name))
		return
	}
	err := x.atomicIf(len(x.args) > 3, x.pairKeys(1), func(db keyspace) error {
		for i := 1; i < len(x.args); i += 2 {
			if _, err := db.SetWithOptions(x.key(i), x.args[i+1], replikv.SetOptions{}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		x.fail(err)
		return
	}
	x.r.ok()
}

func msetnxCmd(x *call) {
	if len(x.args)%2 == 0 {
		x.r.err(wrongArgs(x.cmd.name))
		return
	}
	set := false
	err := x.atomic(x.pairKeys(1), func(db keyspace) error {
		for i := 1; i < len(x.args); i += 2 {
			if db.Exists(x.key(i)) {
				return nil
			}
		}
		for i := 1; i < len(x.args); i += 2 {
			if _, err := db.SetWithOptions(x.key(i), x.args[i+1], replikv.SetOptions{}); err != nil {
				return err
			}
		}
		set = true
		return nil
	})
	if err != nil {
		x.fail(err)
		return
	}
	x.r.bool(set)
}

// incrCmd is INCR, DECR (sign ±1, no argument), INCRBY and DECRBY.
func incrCmd(sign int64, withArg bool) func(*call) {
	return func(x *call) {
		delta := sign
		if withArg {
			n, ok := parseInt(x.args[2])
			if !ok {
				x.r.err(errNotInteger)
				return
			}
			if sign < 0 {
				if n == math.MinInt64 {
					x.r.err("ERR decrement would overflow")
					return
				}
				n = -n
			}
			delta = n
		}
		v, err := x.db.IncrBy(x.key(1), delta)
		if err != nil {
			x.fail(err)
			return
		}
		x.r.int(v)
	}
}

func appendCmd(x *call) {
	n, err := x.db.Append(x.key(1), x.args[2])
	if err != nil {
		x.fail(err)
		return
	}
	x.r.int(int64(n))
}

func strlenCmd(x *call) {
	n := 0
	if _, err := x.view(x.db, x.key(1), func(v []byte) { n = len(v) }); err != nil {
		x.fail(err)
		return
	}
	x.r.int(int64(n))
}
