package server

import (
	"errors"
	"math"

	"github.com/replikv/replikv"
)

// renameCmd is RENAME and RENAMENX src dst.
func renameCmd(nx bool) func(*call) {
	return func(x *call) {
		var done bool
		var err error
		if nx {
			done, err = x.db.RenameNX(x.key(1), x.key(2))
		} else {
			err = x.db.Rename(x.key(1), x.key(2))
		}
		switch {
		case errors.Is(err, replikv.ErrNotFound):
			x.r.err("ERR no such key")
		case err != nil:
			x.fail(err)
		case nx:
			x.r.bool(done)
		default:
			x.r.ok()
		}
	}
}

// copyCmd is COPY src dst [DB n] [REPLACE]. The server holds one
// database: DB naming another is refused as Redis refuses a database
// that does not exist.
func copyCmd(x *call) {
	replace := false
	for i := 3; i < len(x.args); i++ {
		switch {
		case isOpt(x.args[i], "replace"):
			replace = true
		case isOpt(x.args[i], "db") && i+1 < len(x.args):
			db, ok := parseInt(x.args[i+1])
			if !ok {
				x.r.err(errNotInteger)
				return
			}
			if db < math.MinInt32 || db > math.MaxInt32 {
				x.r.err("ERR value is out of range, value must between -2147483648 and 2147483647")
				return
			}
			if db != int64(x.s.store.Config().DB) {
				x.r.err("ERR DB index is out of range")
				return
			}
			i++
		default:
			x.r.err(errSyntax)
			return
		}
	}
	done, err := x.db.Copy(x.key(1), x.key(2), replace)
	switch {
	case errors.Is(err, replikv.ErrSameKey):
		x.r.err("ERR source and destination objects are the same")
	case err != nil:
		x.fail(err)
	default:
		x.r.bool(done)
	}
}

// randomKeyCmd is RANDOMKEY: a key, or nil when there is none.
func randomKeyCmd(x *call) {
	if k, err := x.db.RandomKey(); !x.missOrFail(err) {
		x.r.bulkString(k)
	}
}

// missOrFail answers a read's error, if any: nil for a missing key,
// Redis's error text for the others. It reports whether it replied.
func (x *call) missOrFail(err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, replikv.ErrNotFound):
		x.r.null()
	default:
		x.fail(err)
	}
	return true
}
