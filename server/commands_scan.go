package server

import (
	"strconv"
)

// keysCmd is KEYS pattern. It visits the whole keyspace.
func keysCmd(x *call) {
	pat := x.args[1]
	var keys []string
	x.s.store.Range(func(key string, _ []byte, _ int64) bool {
		if matchGlob(pat, key) {
			keys = append(keys, key)
		}
		return true
	})
	x.r.array(len(keys))
	for _, k := range keys {
		x.r.bulkString(k)
	}
}

// scanCmd is SCAN cursor [MATCH pattern] [COUNT n] [TYPE type]. The
// cursor is the store's: every key present during the whole iteration is
// returned exactly once.
func scanCmd(x *call) {
	cursor, err := strconv.ParseUint(string(x.args[1]), 10, 64)
	if err != nil {
		x.r.err("ERR invalid cursor")
		return
	}
	count := 10
	var pat []byte
	onlyNone := false // TYPE other than string: nothing matches
	for i := 2; i < len(x.args); i += 2 {
		if i+1 >= len(x.args) {
			x.r.err(errSyntax)
			return
		}
		opt, val := x.args[i], x.args[i+1]
		switch {
		case is(opt, "count"):
			n, ok := parseInt(val)
			if !ok {
				x.r.err(errNotInteger)
				return
			}
			if n < 1 {
				x.r.err(errSyntax)
				return
			}
			count = int(min(n, 1<<20))
		case is(opt, "match"):
			pat = val
			if len(pat) == 1 && pat[0] == '*' {
				pat = nil
			}
		case is(opt, "type"):
			onlyNone = !is(val, "string")
		default:
			x.r.err(errSyntax)
			return
		}
	}
	keys, next := x.s.store.Scan(cursor, count)
	n := 0
	for _, k := range keys {
		if !onlyNone && (pat == nil || matchGlob(pat, k)) {
			keys[n] = k
			n++
		}
	}
	x.r.array(2)
	x.r.bulkString(strconv.FormatUint(next, 10))
	x.r.array(n)
	for _, k := range keys[:n] {
		x.r.bulkString(k)
	}
}
