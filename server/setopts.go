package server

import "math"

// expiry units of SET, GETEX and their relatives.
const (
	unitNone = iota
	unitEX   // seconds from now
	unitPX   // milliseconds from now
	unitEXAT // unix seconds
	unitPXAT // unix milliseconds
)

// strOpts are the options of SET (NX XX GET KEEPTTL EX PX EXAT PXAT) and
// GETEX (PERSIST EX PX EXAT PXAT).
type strOpts struct {
	nx, xx, get, keepTTL, persist bool
	unit                          int
	expire                        []byte // the argument of EX, PX, EXAT or PXAT
}

// parseStrOpts parses the options of SET (forSet) or GETEX, with Redis's
// rules: an option may repeat, conflicting ones are a syntax error.
func parseStrOpts(args [][]byte, forSet bool) (strOpts, bool) {
	var o strOpts
	for i := 0; i < len(args); i++ {
		a := args[i]
		hasNext := i+1 < len(args)
		timed := o.unit != unitNone
		switch {
		case forSet && is(a, "nx") && !o.xx:
			o.nx = true
		case forSet && is(a, "xx") && !o.nx:
			o.xx = true
		case forSet && is(a, "get"):
			o.get = true
		case forSet && is(a, "keepttl") && !timed:
			o.keepTTL = true
		case !forSet && is(a, "persist") && !timed:
			o.persist = true
		case hasNext && !o.keepTTL && !o.persist && timedOption(a) != unitNone &&
			(o.unit == unitNone || o.unit == timedOption(a)):
			o.unit, o.expire = timedOption(a), args[i+1]
			i++
		default:
			return o, false
		}
	}
	return o, true
}

// timedOption returns the unit of an EX, PX, EXAT or PXAT option, or
// unitNone.
func timedOption(a []byte) int {
	switch {
	case is(a, "ex"):
		return unitEX
	case is(a, "px"):
		return unitPX
	case is(a, "exat"):
		return unitEXAT
	case is(a, "pxat"):
		return unitPXAT
	}
	return unitNone
}

// deadline turns an expire argument into an absolute deadline in unix
// milliseconds, or returns Redis's error text: not an integer, or not
// positive, or overflowing once converted (Redis getExpireMilliseconds).
func deadline(x *call, arg []byte, unit int) (int64, string) {
	n, ok := parseInt(arg)
	if !ok {
		return 0, errNotInteger
	}
	seconds := unit == unitEX || unit == unitEXAT
	if n <= 0 || (seconds && n > math.MaxInt64/1000) {
		return 0, invalidExpire(x.cmd.name)
	}
	if seconds {
		n *= 1000
	}
	if unit == unitEX || unit == unitPX {
		now := x.nowMs()
		if n > math.MaxInt64-now {
			return 0, invalidExpire(x.cmd.name)
		}
		n += now
	}
	return n, ""
}
