package replikv

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
)

// applyStats counts what applying a stream did besides plain writes.
type applyStats struct {
	otherDB     atomic.Int64 // commands for databases this store does not hold
	unsupported atomic.Int64 // commands it does not implement (other types)
	failed      atomic.Int64 // commands that were malformed or failed
}

// applyCommand applies one command received from a primary, as a replica
// does: its raw bytes go to this store's own stream unchanged (so chained
// replicas receive the same bytes and the offsets agree), and the write
// is applied without looking at deadlines (a replica never expires keys on
// its own clock) or at the read-only setting. Commands for databases
// other than Config.DB are counted and skipped, as are commands the store
// does not implement; both still count in the offset. The mutation and the
// append of its bytes happen together under the stream lock.
//
// It must not be called concurrently with itself (the replication link
// applies one command at a time).
func (s *Store) applyCommand(raw []byte, args [][]byte) error {
	if len(args) == 0 {
		s.appendRaw(raw)
		return nil
	}
	var lower [24]byte
	name := args[0]
	if len(name) > len(lower) {
		s.appendRaw(raw)
		return s.unsupported(name)
	}
	for i, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	low := lower[:len(name)]
	switch string(low) { // no allocation: the switch compares in place

	case "select":
		db, err := strconv.Atoi(string(argOr(args, 1)))
		if err != nil || len(args) != 2 || db < 0 {
			s.appendRaw(raw)
			return s.failed("SELECT", ErrSyntax)
		}
		s.st.mu.Lock()
		s.st.db = db
		s.st.appendLocked(raw)
		s.st.mu.Unlock()
		return nil
	case "ping", "multi", "exec", "discard", "replconf":
		s.appendRaw(raw)
		return nil
	case "flushall", "flushdb":
		s.lockAll()
		defer s.unlockAll()
		if low[5] == 'a' || s.st.db == s.cfg.DB {
			s.clearLocked()
		}
		s.st.appendLocked(raw)
		return nil
	}
	h, ok := applyHandlers[string(low)] // no allocation for a map index
	if !ok {
		s.appendRaw(raw)
		return s.unsupported(name)
	}
	if len(args) < h.minArgs || (h.keyStep > 0 && (len(args)-1)%h.keyStep != 0) {
		s.appendRaw(raw)
		return s.failed(h.name, ErrSyntax)
	}
	if !h.multiKey {
		// The common case: one key, one shard, no allocation.
		sh := s.lockKey(unsafeString(args[1]))
		defer s.unlockWrite(sh)
		return s.applyLocked(h, raw, args)
	}
	locked := s.lockKeys(applyKeys(args, h))
	defer s.unlockKeys(locked)
	return s.applyLocked(h, raw, args)
}

// applyLocked appends the command's bytes and applies it; the shards of its
// keys and the stream are locked.
func (s *Store) applyLocked(h applyHandler, raw []byte, args [][]byte) error {
	s.st.appendLocked(raw)
	if s.st.db != s.cfg.DB && !(s.st.db < 0 && s.cfg.DB == 0) {
		s.applied.otherDB.Add(1)
		return nil
	}
	if err := h.fn(s, args); err != nil {
		return s.failed(h.name, err)
	}
	return nil
}

func argOr(args [][]byte, i int) []byte {
	if i < len(args) {
		return args[i]
	}
	return nil
}

func (s *Store) appendRaw(raw []byte) {
	s.st.mu.Lock()
	s.st.appendLocked(raw)
	s.st.mu.Unlock()
}

func (s *Store) unsupported(name []byte) error {
	s.applied.unsupported.Add(1)
	return fmt.Errorf("%w %q", ErrUnknownCommand, name)
}

func (s *Store) failed(cmd string, err error) error {
	s.applied.failed.Add(1)
	return fmt.Errorf("replikv: apply %s: %w", strings.ToUpper(cmd), err)
}

// applyHandler describes a key command: its minimum argument count, how
// its keys are laid out, and the mutation, run with the keys' shards and
// the stream locked.
type applyHandler struct {
	name     string
	minArgs  int
	keyStep  int // 0: only args[1] is a key; n: args[1], args[1+n], … are keys
	multiKey bool
	fn       func(s *Store, args [][]byte) error
}

var applyHandlers map[string]applyHandler

func init() {
	applyHandlers = map[string]applyHandler{
		"set":       {minArgs: 3, fn: applySet},
		"setex":     {minArgs: 4, fn: applySetex},
		"psetex":    {minArgs: 4, fn: applySetex},
		"setnx":     {minArgs: 3, fn: applySetnx},
		"getset":    {minArgs: 3, fn: applyGetset},
		"mset":      {minArgs: 3, keyStep: 2, multiKey: true, fn: applyMset},
		"msetnx":    {minArgs: 3, keyStep: 2, multiKey: true, fn: applyMset},
		"del":       {minArgs: 2, keyStep: 1, multiKey: true, fn: applyDel},
		"unlink":    {minArgs: 2, keyStep: 1, multiKey: true, fn: applyDel},
		"getdel":    {minArgs: 2, fn: applyDel},
		"pexpireat": {minArgs: 3, fn: applyExpire},
		"expireat":  {minArgs: 3, fn: applyExpire},
		"pexpire":   {minArgs: 3, fn: applyExpire},
		"expire":    {minArgs: 3, fn: applyExpire},
		"persist":   {minArgs: 2, fn: applyPersist},
		"incr":      {minArgs: 2, fn: applyIncr},
		"decr":      {minArgs: 2, fn: applyIncr},
		"incrby":    {minArgs: 3, fn: applyIncr},
		"decrby":    {minArgs: 3, fn: applyIncr},
		"append":    {minArgs: 3, fn: applyAppend},
	}
	for name, h := range applyHandlers {
		h.name = name
		applyHandlers[name] = h
	}
}

// applyKeys lists the keys of a multi-key command.
func applyKeys(args [][]byte, h applyHandler) []string {
	keys := make([]string, 0, (len(args)-1)/h.keyStep)
	for i := 1; i < len(args); i += h.keyStep {
		keys = append(keys, unsafeString(args[i]))
	}
	return keys
}

// lockKeys locks the shards of keys in index order, then the stream, and
// returns the locked shard indexes.
func (s *Store) lockKeys(keys []string) []int {
	idx := make([]int, 0, len(keys))
	for _, k := range keys {
		idx = append(idx, int(hashKey(k)>>s.shift))
	}
	slices.Sort(idx)
	idx = slices.Compact(idx)
	for _, i := range idx {
		s.shards[i].mu.Lock()
	}
	s.st.mu.Lock()
	return idx
}

func (s *Store) unlockKeys(idx []int) {
	s.st.mu.Unlock()
	for _, i := range idx {
		s.shards[i].mu.Unlock()
	}
}

// findLocked returns the shard and bucket of key (bucket -1 when absent);
// the shard must be locked.
func (s *Store) findLocked(key string) (*shard, int) {
	h := hashKey(key)
	sh := s.shardOf(h)
	return sh, sh.t.find(key, h)
}

// storeLocked sets key to value with deadline (0: none), ignoring whatever
// was there.
func (s *Store) storeLocked(key string, value []byte, deadline int64) {
	sh, i := s.findLocked(key)
	s.putLocked(sh, i, newItem(key, value, deadline))
}

// removeLocked deletes key without emitting anything; it reports whether
// the key existed.
func (s *Store) removeLocked(key string) bool {
	sh, i := s.findLocked(key)
	if i < 0 {
		return false
	}
	s.preserveLocked(sh, key, i)
	sh.t.deleteAt(i)
	return true
}

func applySet(s *Store, args [][]byte) error {
	key, value := unsafeString(args[1]), args[2]
	var nx, xx, keep bool
	var deadline int64
	for i := 3; i < len(args); i++ {
		opt := args[i]
		switch {
		case equalFold(opt, "NX"):
			nx = true
		case equalFold(opt, "XX"):
			xx = true
		case equalFold(opt, "GET"):
		case equalFold(opt, "KEEPTTL"):
			keep = true
		case equalFold(opt, "EX"), equalFold(opt, "PX"), equalFold(opt, "EXAT"), equalFold(opt, "PXAT"):
			if i+1 >= len(args) {
				return ErrSyntax
			}
			n, ok := parseInt(args[i+1])
			if !ok || n <= 0 {
				return fmt.Errorf("%w: invalid expire time", ErrSyntax)
			}
			i++
			deadline = absDeadline(opt, n, s.nowMs())
		default:
			return fmt.Errorf("%w: SET option %q", ErrSyntax, opt)
		}
	}
	sh, i := s.findLocked(key)
	if (nx && i >= 0) || (xx && i < 0) {
		return nil
	}
	if keep && i >= 0 {
		deadline = sh.t.slots[i].deadline()
	}
	s.putLocked(sh, i, newItem(key, value, deadline))
	return nil
}

// absDeadline turns the argument of an expiry option or command (EX, PX,
// EXAT, PXAT, EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT, SETEX, PSETEX) into
// unix ms.
func absDeadline(unit []byte, n, now int64) int64 {
	switch {
	case equalFold(unit, "EX"), equalFold(unit, "EXPIRE"), equalFold(unit, "SETEX"):
		return now + n*1000
	case equalFold(unit, "PX"), equalFold(unit, "PEXPIRE"), equalFold(unit, "PSETEX"):
		return now + n
	case equalFold(unit, "EXAT"), equalFold(unit, "EXPIREAT"):
		return n * 1000
	}
	return n
}

func applySetex(s *Store, args [][]byte) error {
	n, ok := parseInt(args[2])
	if !ok || n <= 0 {
		return fmt.Errorf("%w: invalid expire time", ErrSyntax)
	}
	s.storeLocked(unsafeString(args[1]), args[3], absDeadline(args[0], n, s.nowMs()))
	return nil
}

func applySetnx(s *Store, args [][]byte) error {
	key := unsafeString(args[1])
	if sh, i := s.findLocked(key); i < 0 {
		s.putLocked(sh, i, newItem(key, args[2], 0))
	}
	return nil
}

func applyGetset(s *Store, args [][]byte) error {
	s.storeLocked(unsafeString(args[1]), args[2], 0)
	return nil
}

func applyMset(s *Store, args [][]byte) error {
	if len(args[0]) == 6 { // MSETNX: all or nothing
		for i := 1; i < len(args); i += 2 {
			if _, j := s.findLocked(unsafeString(args[i])); j >= 0 {
				return nil
			}
		}
	}
	for i := 1; i < len(args); i += 2 {
		s.storeLocked(unsafeString(args[i]), args[i+1], 0)
	}
	return nil
}

func applyDel(s *Store, args [][]byte) error {
	for _, k := range args[1:] {
		s.removeLocked(unsafeString(k))
		if len(args[0]) == 6 && (args[0][0]|0x20) == 'g' { // GETDEL has one key
			break
		}
	}
	return nil
}

func applyExpire(s *Store, args [][]byte) error {
	key := unsafeString(args[1])
	n, ok := parseInt(args[2])
	if !ok {
		return ErrNotInteger
	}
	sh, i := s.findLocked(key)
	if i < 0 {
		return nil
	}
	deadline := absDeadline(args[0], n, s.nowMs())
	if len(args) > 3 {
		cur := sh.t.slots[i].deadline()
		switch opt := args[3]; {
		case equalFold(opt, "NX"):
			if cur != 0 {
				return nil
			}
		case equalFold(opt, "XX"):
			if cur == 0 {
				return nil
			}
		case equalFold(opt, "GT"):
			if cur == 0 || deadline <= cur {
				return nil
			}
		case equalFold(opt, "LT"):
			if cur != 0 && deadline >= cur {
				return nil
			}
		default:
			return fmt.Errorf("%w: EXPIRE option %q", ErrSyntax, args[3])
		}
	}
	s.setDeadlineLocked(sh, i, deadline)
	return nil
}

func applyPersist(s *Store, args [][]byte) error {
	if sh, i := s.findLocked(unsafeString(args[1])); i >= 0 {
		s.persistLocked(sh, i)
	}
	return nil
}

func applyIncr(s *Store, args [][]byte) error {
	key := unsafeString(args[1])
	delta := int64(1)
	if len(args) > 2 {
		d, ok := parseInt(args[2])
		if !ok {
			return ErrNotInteger
		}
		delta = d
	}
	if args[0][0]|0x20 == 'd' {
		if delta == minInt64 {
			return ErrOverflow
		}
		delta = -delta
	}
	sh, i := s.findLocked(key)
	var cur, deadline int64
	if i >= 0 {
		v, ok := parseInt(sh.t.slots[i].value())
		if !ok {
			return ErrNotInteger
		}
		cur, deadline = v, sh.t.slots[i].deadline()
	}
	if (delta > 0 && cur > maxInt64-delta) || (delta < 0 && cur < minInt64-delta) {
		return ErrOverflow
	}
	var digits [20]byte
	s.putLocked(sh, i, newItem(key, strconv.AppendInt(digits[:0], cur+delta, 10), deadline))
	return nil
}

func applyAppend(s *Store, args [][]byte) error {
	key := unsafeString(args[1])
	sh, i := s.findLocked(key)
	var old []byte
	var deadline int64
	if i >= 0 {
		old, deadline = sh.t.slots[i].value(), sh.t.slots[i].deadline()
	}
	if int64(len(old)+len(args[2])) > s.cfg.MaxBulkLen {
		return ErrTooLarge
	}
	v := append(append(make([]byte, 0, len(old)+len(args[2])), old...), args[2]...)
	s.putLocked(sh, i, newItem(key, v, deadline))
	return nil
}
