package replikv

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/replikv/replikv/rdb"
)

// keyApplyHandlers are the apply handlers of the commands that move,
// copy or restore whole keys.
func keyApplyHandlers() map[string]applyHandler {
	two := func(args [][]byte) []string { return []string{unsafeString(args[1]), unsafeString(args[2])} }
	return map[string]applyHandler{
		"rename":         {minArgs: 3, multiKey: true, keysOf: two, fn: applyRename},
		"renamenx":       {minArgs: 3, multiKey: true, keysOf: two, fn: applyRename},
		"copy":           {minArgs: 3, multiKey: true, keysOf: two, anyDB: true, fn: applyCopy},
		"restore":        {minArgs: 4, fn: applyRestore},
		"restore-asking": {minArgs: 4, fn: applyRestore},
		"move":           {minArgs: 3, anyDB: true, fn: applyMove},
		"swapdb":         {minArgs: 3, anyDB: true, fn: applySwapdb},
	}
}

// streamDB is the database the stream is in (0 before any SELECT).
func (s *Store) streamDB() int { return max(s.st.db, 0) }

// applyRename is RENAME and RENAMENX, which the primary sends only when
// they succeeded: dst takes src's value and deadline. When src is not
// here, the primary's is of another type, and so is dst now: it is
// deleted.
func applyRename(s *Store, args [][]byte) error {
	src, dst := unsafeString(args[1]), unsafeString(args[2])
	if src == dst {
		return nil
	}
	moveValueLocked(s, src, dst)
	s.removeLocked(src)
	return nil
}

// moveValueLocked stores src's value and deadline under dst, or deletes
// dst when src is absent.
func moveValueLocked(s *Store, src, dst string) {
	sh, i := s.findLocked(src)
	if i < 0 {
		s.removeLocked(dst)
		return
	}
	it := sh.t.slots[i] // its bytes stay valid: items never change
	s.storeLocked(dst, it.value(), it.deadline())
}

// applyCopy is COPY src dst [DB n] [REPLACE], sent only when it copied.
// Within this store's database it copies as RENAME moves; into another
// database it changes nothing here; from another database into this one
// its effect is unknowable (the source is not here): full resync.
func applyCopy(s *Store, args [][]byte) error {
	from := s.streamDB()
	to := from
	for i := 3; i < len(args); i++ {
		switch {
		case equalFold(args[i], "REPLACE"):
		case equalFold(args[i], "DB") && i+1 < len(args):
			n, err := strconv.Atoi(string(args[i+1]))
			if err != nil || n < 0 {
				return fmt.Errorf("%w: COPY DB %q", ErrSyntax, args[i+1])
			}
			to = n
			i++
		default:
			return fmt.Errorf("%w: COPY option %q", ErrSyntax, args[i])
		}
	}
	switch our := s.cfg.DB; {
	case from == our && to == our:
		if !equalBytes(args[1], args[2]) {
			moveValueLocked(s, unsafeString(args[1]), unsafeString(args[2]))
		}
	case to == our:
		return s.needResync("copy", fmt.Errorf("COPY from db %d into db %d, ours: the source is not here", from, to))
	default:
		s.applied.otherDB.Add(1)
	}
	return nil
}

func equalBytes(a, b []byte) bool { return string(a) == string(b) }

// applyRestore is RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME n]
// [FREQ n]. A string payload is stored (the deadline absolute with
// ABSTTL, which a Redis 7 primary always sends, relative otherwise); a
// payload of another type deletes the key (the primary's is not a string
// any more); a payload that does not decode deletes it too and counts as
// failed.
func applyRestore(s *Store, args [][]byte) error {
	key := unsafeString(args[1])
	ttl, ok := parseInt(args[2])
	if !ok || ttl < 0 {
		s.removeLocked(key)
		return fmt.Errorf("%w: RESTORE ttl %q", ErrSyntax, args[2])
	}
	abs := false
	for i := 4; i < len(args); i++ {
		switch {
		case equalFold(args[i], "ABSTTL"):
			abs = true
		case equalFold(args[i], "IDLETIME"), equalFold(args[i], "FREQ"):
			i++
		}
	}
	v, err := rdb.ParseDump(args[3], rdb.MaxVersion, maxStoredLen(s.cfg.MaxBulkLen))
	switch {
	case errors.Is(err, rdb.ErrUnsupportedType):
		s.removeLocked(key)
		s.applied.unsupported.Add(1)
		s.applied.drop(strings.ToLower(string(args[0])))
		return nil
	case err != nil:
		s.removeLocked(key)
		return err
	}
	deadline := ttl
	if ttl != 0 && !abs {
		deadline = s.nowMs() + ttl
	}
	s.storeLocked(key, v, deadline)
	return nil
}

// applyMove is MOVE key db: out of this store's database it deletes the
// key; into it, from another, its effect is unknowable: full resync.
func applyMove(s *Store, args [][]byte) error {
	to, err := strconv.Atoi(string(args[2]))
	if err != nil || to < 0 {
		return fmt.Errorf("%w: MOVE db %q", ErrSyntax, args[2])
	}
	from, our := s.streamDB(), s.cfg.DB
	switch {
	case from == to:
	case from == our:
		s.removeLocked(unsafeString(args[1]))
	case to == our:
		return s.needResync("move", fmt.Errorf("MOVE from db %d into db %d, ours: the value is not here", from, to))
	default:
		s.applied.otherDB.Add(1)
	}
	return nil
}

// applySwapdb is SWAPDB a b: when it involves this store's database, its
// whole content changes to one this store does not hold: full resync.
func applySwapdb(s *Store, args [][]byte) error {
	a, err1 := strconv.Atoi(string(args[1]))
	b, err2 := strconv.Atoi(string(args[2]))
	if err1 != nil || err2 != nil {
		return fmt.Errorf("%w: SWAPDB %q %q", ErrSyntax, args[1], args[2])
	}
	if a != b && (a == s.cfg.DB || b == s.cfg.DB) {
		return s.needResync("swapdb", fmt.Errorf("SWAPDB %d %d swaps this store's database with one it does not hold", a, b))
	}
	s.applied.otherDB.Add(1)
	return nil
}
