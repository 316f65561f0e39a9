package replikv

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// applyStats counts what applying a stream did besides plain writes.
type applyStats struct {
	otherDB     atomic.Int64 // commands for databases this store does not hold
	unsupported atomic.Int64 // commands it does not implement (other types)
	failed      atomic.Int64 // commands that were malformed or failed
	resyncs     atomic.Int64 // commands whose effect was unknowable: full resyncs asked for

	mu      sync.Mutex
	dropped map[string]int64 // by command: commands whose keys were deleted here
}

// drop counts a command whose keys were deleted locally.
func (a *applyStats) drop(name string) {
	a.mu.Lock()
	if a.dropped == nil {
		a.dropped = make(map[string]int64)
	}
	a.dropped[name]++
	a.mu.Unlock()
}

// droppedByCommand returns a copy of the dropped counts (nil when none).
func (a *applyStats) droppedByCommand() map[string]int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.dropped) == 0 {
		return nil
	}
	m := make(map[string]int64, len(a.dropped))
	for k, v := range a.dropped {
		m[k] = v
	}
	return m
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
// Commands between MULTI and EXEC are queued and applied at EXEC with the
// whole store locked, so readers never see half a transaction; until then
// they do not count in the offset either, so a link that breaks inside a
// transaction resumes from its MULTI.
//
// It must not be called concurrently with itself (the replication link
// applies one command at a time).
func (s *Store) applyCommand(raw []byte, args [][]byte) error {
	kind, h := classify(args)
	m := &s.multi
	if m.active {
		m.raw = append(m.raw, raw...)
		switch kind {
		case cmdExec:
			return s.execQueued(false)
		case cmdDiscard:
			return s.execQueued(true)
		case cmdMulti:
			return nil // nested MULTI: Redis refuses it, so it changes nothing
		}
		m.cmds = append(m.cmds, cloneArgs(args))
		return nil
	}
	switch kind {
	case cmdMulti:
		m.active = true
		m.raw = append(m.raw[:0], raw...)
		return nil
	case cmdKey:
		if !h.valid(args) {
			s.appendRaw(raw)
			return s.failed(h.name, ErrSyntax)
		}
		if !h.multiKey {
			// The common case: one key, one shard, no allocation.
			sh := s.lockKey(unsafeString(args[1]))
			defer s.unlockWrite(sh)
		} else {
			defer s.unlockKeys(s.lockKeys(applyKeys(args, h)))
		}
	case cmdFlush:
		s.lockAll()
		defer s.unlockAll()
	case cmdUnknown:
		d := decideOther(args)
		if d.act == otherDrop {
			defer s.unlockKeys(s.lockKeys(d.keys))
		} else {
			s.st.mu.Lock()
			defer s.st.mu.Unlock()
		}
		s.st.appendLocked(raw)
		return s.applyOtherLocked(d)
	default:
		s.st.mu.Lock()
		defer s.st.mu.Unlock()
	}
	s.st.appendLocked(raw)
	if kind == cmdKey || kind == cmdFlush {
		s.st.changes++
	}
	return s.applyLocked(kind, h, args)
}

// execQueued applies (or, for DISCARD, drops) the queued transaction and
// appends its bytes, MULTI to EXEC, with the whole store locked.
func (s *Store) execQueued(discard bool) error {
	m := &s.multi
	s.lockAll()
	defer s.unlockAll()
	s.st.appendLocked(m.raw)
	s.st.changes += int64(len(m.cmds))
	var first, resync error
	if !discard {
		for _, args := range m.cmds {
			kind, h := classify(args)
			if kind == cmdKey && !h.valid(args) {
				first = cmp.Or(first, s.failed(h.name, ErrSyntax))
				continue
			}
			err := s.applyLocked(kind, h, args)
			if errors.Is(err, errNeedFullResync) {
				resync = cmp.Or(resync, err) // the rest is applied all the same
				continue
			}
			first = cmp.Or(first, err)
		}
	}
	clear(m.cmds)
	m.active, m.raw, m.cmds = false, m.raw[:0], m.cmds[:0]
	if cap(m.raw) > 1<<20 {
		m.raw = nil // do not pin the buffer of one huge transaction
	}
	return cmp.Or(resync, first)
}

// applyLocked applies a command whose locks are held (its keys' shards and
// the stream, or everything); its bytes are already appended.
func (s *Store) applyLocked(kind cmdKind, h applyHandler, args [][]byte) error {
	switch kind {
	case cmdSelect:
		db, err := strconv.Atoi(string(argOr(args, 1)))
		if err != nil || len(args) != 2 || db < 0 {
			return s.failed("select", ErrSyntax)
		}
		s.st.db = db
	case cmdFlush:
		if len(args[0]) == len("flushall") || s.inOurDBLocked() { // FLUSHALL, or FLUSHDB of ours
			s.clearLocked()
		}
	case cmdUnknown:
		return s.applyOtherLocked(decideOther(args))
	case cmdKey:
		if !s.inOurDBLocked() && !h.anyDB {
			s.applied.otherDB.Add(1)
			return nil
		}
		if err := h.fn(s, args); err != nil {
			if errors.Is(err, errNeedFullResync) {
				return err
			}
			return s.failed(h.name, err)
		}
	}
	return nil
}

// inOurDBLocked reports whether the stream is in this store's database
// (before any SELECT, it is in database 0).
func (s *Store) inOurDBLocked() bool {
	return s.st.db == s.cfg.DB || (s.st.db < 0 && s.cfg.DB == 0)
}

// cmdKind sorts stream commands by how they are applied.
type cmdKind int

const (
	cmdNone    cmdKind = iota // nothing to apply: empty, PING, REPLCONF, a stray EXEC
	cmdUnknown                // not implemented (other types, …)
	cmdKey                    // a key command with an applyHandler
	cmdSelect
	cmdFlush // FLUSHALL, FLUSHDB
	cmdMulti
	cmdExec
	cmdDiscard
)

// classify names a command without allocating.
func classify(args [][]byte) (cmdKind, applyHandler) {
	if len(args) == 0 {
		return cmdNone, applyHandler{}
	}
	var lower [24]byte
	name := args[0]
	if len(name) > len(lower) {
		return cmdUnknown, applyHandler{}
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
		return cmdSelect, applyHandler{}
	case "ping", "replconf":
		return cmdNone, applyHandler{}
	case "flushall", "flushdb":
		return cmdFlush, applyHandler{}
	case "multi":
		return cmdMulti, applyHandler{}
	case "exec":
		return cmdExec, applyHandler{}
	case "discard":
		return cmdDiscard, applyHandler{}
	}
	if h, ok := applyHandlers[string(low)]; ok { // no allocation for a map index
		return cmdKey, h
	}
	return cmdUnknown, applyHandler{}
}

// multiState is a transaction being received (see applyCommand).
type multiState struct {
	active bool
	raw    []byte     // its bytes from MULTI on
	cmds   [][][]byte // its commands, copied
}

// cloneArgs copies a command's arguments into one allocation.
func cloneArgs(args [][]byte) [][]byte {
	n := 0
	for _, a := range args {
		n += len(a)
	}
	buf := make([]byte, 0, n)
	out := make([][]byte, len(args))
	for i, a := range args {
		buf = append(buf, a...)
		out[i] = buf[len(buf)-len(a):]
	}
	return out
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
	// keysOf, when set, lists the keys of a multiKey command whose keys
	// are not laid out by keyStep (BITOP op dest src…, COPY src dst …);
	// it is called only on args that passed minArgs.
	keysOf func(args [][]byte) []string
	// anyDB runs fn whatever database the stream is in (MOVE, SWAPDB,
	// COPY … DB involve two); fn checks.
	anyDB bool
	fn    func(s *Store, args [][]byte) error
}

var applyHandlers map[string]applyHandler

// valid reports whether args have the handler's shape.
func (h applyHandler) valid(args [][]byte) bool {
	return len(args) >= h.minArgs && (h.keyStep == 0 || h.keysOf != nil || (len(args)-1)%h.keyStep == 0)
}

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
	for _, more := range []map[string]applyHandler{stringApplyHandlers(), keyApplyHandlers()} {
		for name, h := range more {
			if _, dup := applyHandlers[name]; dup {
				panic("replikv: two apply handlers for " + name)
			}
			applyHandlers[name] = h
		}
	}
	for name, h := range applyHandlers {
		h.name = name
		applyHandlers[name] = h
	}
}

// applyKeys lists the keys of a multi-key command.
func applyKeys(args [][]byte, h applyHandler) []string {
	if h.keysOf != nil {
		return h.keysOf(args)
	}
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
	for _, i := range idx {
		s.syncMemLocked(&s.shards[i])
	}
	s.st.mu.Unlock()
	for _, i := range idx {
		s.shards[i].mu.Unlock()
	}
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
	// A deadline at or before the epoch is kept as 1 ms: still a deadline
	// (0 means none), already past, so the key is hidden until the
	// primary's DEL, and written to snapshots as expired.
	deadline := max(absDeadline(args[0], n, s.nowMs()), 1)
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
