package replikv

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// What a replica does with a command from its primary that has no apply
// handler (see applyCommand): the rule is never to diverge silently. A
// command that writes keys of another type (hash, list, set, …) gets
// those keys deleted here, so a read gives a miss, never a stale value;
// a command with no effect on the data is ignored; a command whose effect
// cannot be known (a script, a module's command, anything this table does
// not know) costs a full resync.

// redisCommand is an entry of the table generated from Redis's COMMAND
// (apply_cmdtable.go): whether the command is flagged write, and the key
// specifications of the keys it writes.
type redisCommand struct {
	write bool
	keys  []keySpec
}

// keySpec is one of Redis's key specifications: where the search for the
// keys begins (an index, or the argument after a keyword searched from
// startFrom, backwards when negative) and how the keys are found from
// there (a range up to lastKey, relative to the end when negative, or a
// count in the argument keyNumIdx after the beginning). unknown: neither
// can be told from the arguments alone.
type keySpec struct {
	index     int
	keyword   string
	startFrom int

	lastKey, keyStep, limit int

	keyNum              bool
	keyNumIdx, firstKey int

	unknown bool
}

// otherAction is the decision for a command without an apply handler.
type otherAction int

const (
	otherIgnore otherAction = iota // no effect on string keys
	otherDrop                      // delete the keys it writes
	otherResync                    // unknowable: full resync
)

// otherDecision is what decideOther returns.
type otherDecision struct {
	act     otherAction
	name    string   // the command's lower-case name (with "|sub" for a subcommand)
	keys    []string // for otherDrop; they alias the arguments
	reason  string   // for otherResync
	unknown bool     // a command Redis 7.0 does not have (a module's…)
}

// errNeedFullResync is returned by the apply of a command whose effect on
// this store's data cannot be known: the link drops and asks the primary
// for a full resync (see streamFrom).
var errNeedFullResync = errors.New("replikv: the primary's command cannot be applied here: full resync needed")

// scriptCommands run code whose keys are not all declared; Redis 7.0
// replicates scripts by their effects and never sends these.
var scriptCommands = map[string]bool{
	"eval": true, "evalsha": true, "eval_ro": true, "evalsha_ro": true, "fcall": true, "fcall_ro": true,
}

// decideOther decides the fate of a command that has no apply handler. It
// is pure: the table and the arguments only.
func decideOther(args [][]byte) otherDecision {
	if len(args) == 0 {
		return otherDecision{act: otherIgnore}
	}
	name := strings.ToLower(string(args[0]))
	if scriptCommands[name] {
		return otherDecision{act: otherResync, name: name, reason: "a script in the stream: its effects are unknowable"}
	}
	rc, ok := redisCommands[name]
	if !ok {
		return otherDecision{act: otherResync, name: name, unknown: true, reason: "what it did is unknowable"}
	}
	if len(args) > 1 {
		if sub, ok := redisCommands[name+"|"+strings.ToLower(string(args[1]))]; ok {
			name, rc = name+"|"+strings.ToLower(string(args[1])), sub
		}
	}
	d := otherDecision{name: name}
	for _, sp := range rc.keys {
		if sp.unknown {
			if name != "sort" {
				return otherDecision{act: otherResync, name: name, reason: name + ": keys it writes cannot be told from its arguments"}
			}
			d.keys = append(d.keys, sortStoreKey(args)...)
			continue
		}
		d.keys = sp.appendKeys(d.keys, args)
	}
	if len(d.keys) > 0 {
		d.act = otherDrop
	}
	return d
}

// sortStoreKey returns the destination of SORT … STORE dst, if any.
func sortStoreKey(args [][]byte) []string {
	for i := 2; i < len(args); i++ {
		switch {
		case equalFold(args[i], "BY"), equalFold(args[i], "GET"):
			i++
		case equalFold(args[i], "LIMIT"):
			i += 2
		case equalFold(args[i], "STORE") && i+1 < len(args):
			return []string{unsafeString(args[i+1])}
		}
	}
	return nil
}

// appendKeys appends the keys sp finds in args; indexes outside args are
// left out, so malformed input finds fewer keys, never a panic.
func (sp keySpec) appendKeys(keys []string, args [][]byte) []string {
	begin := sp.index
	if sp.keyword != "" {
		begin = -1
		from, step := sp.startFrom, 1
		if from < 0 {
			from, step = len(args)+from, -1
		}
		for i := from; i > 0 && i < len(args); i += step {
			if equalFold(args[i], sp.keyword) {
				begin = i + 1
				break
			}
		}
	}
	if begin <= 0 || begin >= len(args) {
		return keys
	}
	first, last, step := begin, begin, max(sp.keyStep, 1)
	switch {
	case sp.keyNum:
		nk := begin + sp.keyNumIdx
		if nk >= len(args) {
			return keys
		}
		n, err := strconv.Atoi(string(args[nk]))
		if err != nil || n <= 0 {
			return keys
		}
		first = begin + sp.firstKey
		last = first + min(n-1, len(args))*step
	case sp.lastKey >= 0:
		last = begin + sp.lastKey
	default:
		last = len(args) + sp.lastKey
		if sp.limit > 1 {
			last = begin + (last-begin+1)/sp.limit - 1
		}
	}
	for i := first; i <= last && i < len(args); i += step {
		keys = append(keys, unsafeString(args[i]))
	}
	return keys
}

// applyOtherLocked carries out a decision with the keys' shards (or all)
// and the stream locked; the command's bytes are already appended.
func (s *Store) applyOtherLocked(d otherDecision) error {
	switch d.act {
	case otherResync:
		s.applied.unsupported.Add(1)
		if d.unknown {
			return s.needResync(d.name, fmt.Errorf("%w %q: %s", ErrUnknownCommand, truncate(d.name, 64), d.reason))
		}
		return s.needResync(d.name, errors.New(d.reason))
	case otherDrop:
		s.applied.unsupported.Add(1)
		if !s.inOurDBLocked() {
			s.applied.otherDB.Add(1)
			return nil
		}
		for _, k := range d.keys {
			s.removeLocked(k)
		}
		s.applied.drop(d.name)
	}
	return nil
}

// needResync counts and returns the error that makes the link ask for a
// full resync, wrapping why.
func (s *Store) needResync(name string, why error) error {
	s.applied.resyncs.Add(1)
	return fmt.Errorf("%w: %s: %w", errNeedFullResync, strings.ToUpper(name), why)
}
