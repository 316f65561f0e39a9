package server

import (
	"cmp"
	"hash/maphash"
	"slices"
	"strconv"
)

// keysCmd is KEYS pattern. It visits the whole keyspace.
func keysCmd(x *call) {
	pat := x.args[1]
	all := len(pat) == 1 && pat[0] == '*' // Redis's shortcut: the empty key too
	var keys []string
	for key := range x.s.store.Keys("") {
		if all || matchGlob(pat, key) {
			keys = append(keys, key)
		}
	}
	x.r.array(len(keys))
	for _, k := range keys {
		x.r.bulkString(k)
	}
}

// scanCmd is SCAN cursor [MATCH pattern] [COUNT n] [TYPE type]: every
// key present during the whole iteration is returned exactly once, about
// COUNT keys a call (see scanBatch), before MATCH and TYPE filter them.
func scanCmd(x *call) {
	cursor, ok := parseCursor(x.args[1])
	if !ok {
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
	keys, next := x.s.scanBatch(cursor, count)
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

// parseCursor parses a SCAN cursor as Redis does with strtoul: decimal
// digits after an optional sign, a negative number wrapping around
// (-1 is 2^64-1), the empty string meaning 0; no spaces, nothing after
// the digits, nothing over 2^64-1.
func parseCursor(b []byte) (uint64, bool) {
	if len(b) == 0 {
		return 0, true
	}
	neg := b[0] == '-'
	if b[0] == '+' || b[0] == '-' {
		b = b[1:]
	}
	if len(b) == 0 {
		return 0, false
	}
	var n uint64
	for _, ch := range b {
		if ch < '0' || ch > '9' {
			return 0, false
		}
		d := uint64(ch - '0')
		if n > (1<<64-1-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	if neg {
		n = -n
	}
	return n, true
}

// scanPosBits is how many low bits of a SCAN cursor hold the position in
// a shard; the bits above hold the shard's index (Store Config.Shards is
// at most 1<<16).
const scanPosBits = 48

// scanBatch returns about count keys from cursor on and the cursor after
// them, 0 at the end. Store.Scan returns whole shards; scanBatch takes one
// shard at a time and visits its keys in the order of a 48-bit hash, so a
// cursor is (shard << 48) | the hash to resume from. The resume point is a
// hash, not a count, and a batch never stops between keys of equal hash:
// a key present during the whole iteration is returned exactly once
// however keys come and go around it.
func (s *Server) scanBatch(cursor uint64, count int) (keys []string, next uint64) {
	shards := uint64(s.store.Config().Shards)
	shard, pos := cursor>>scanPosBits, cursor&(1<<scanPosBits-1)
	type hashed struct {
		h   uint64
		key string
	}
	var hs []hashed
	for len(keys) < count {
		ks, after, _ := s.store.Scan(shard, 1) // the first shard from shard on that has keys (MASTERDOWN was checked before)
		if len(ks) == 0 {
			return keys, 0
		}
		from := shards - 1
		if after != 0 {
			from = after - 1
		}
		if from != shard {
			pos = 0
		}
		hs = hs[:0]
		for _, k := range ks {
			if h := maphash.String(s.scanSeed, k) >> (64 - scanPosBits); h >= pos {
				hs = append(hs, hashed{h, k})
			}
		}
		slices.SortFunc(hs, func(a, b hashed) int { return cmp.Or(cmp.Compare(a.h, b.h), cmp.Compare(a.key, b.key)) })
		i := 0
		for ; i < len(hs) && (len(keys) < count || hs[i].h == hs[i-1].h); i++ {
			keys = append(keys, hs[i].key)
		}
		if i < len(hs) {
			return keys, from<<scanPosBits | (hs[i-1].h + 1)
		}
		if after == 0 {
			return keys, 0
		}
		shard, pos = after, 0
	}
	return keys, shard << scanPosBits
}
