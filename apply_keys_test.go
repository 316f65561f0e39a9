package replikv

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/replikv/replikv/rdb"
)

// TestDecideOther is the rule for commands without an apply handler, as a
// table: apply nothing, delete the keys it writes, or resync in full.
func TestDecideOther(t *testing.T) {
	for _, c := range []struct {
		args []string
		act  otherAction
		keys []string
	}{
		{[]string{"HSET", "h", "f", "v"}, otherDrop, []string{"h"}},
		{[]string{"lpush", "l", "a", "b"}, otherDrop, []string{"l"}},
		{[]string{"SADD", "s", "m"}, otherDrop, []string{"s"}},
		{[]string{"LMOVE", "a", "b", "LEFT", "RIGHT"}, otherDrop, []string{"a", "b"}},
		{[]string{"ZUNIONSTORE", "d", "2", "a", "b"}, otherDrop, []string{"d"}}, // sources are only read
		{[]string{"PFMERGE", "d", "a", "b"}, otherDrop, []string{"d"}},
		{[]string{"PFCOUNT", "a", "b"}, otherDrop, []string{"a", "b"}}, // it rewrites their cache
		{[]string{"SORT", "l", "BY", "store", "GET", "#", "LIMIT", "0", "1", "STORE", "dst"}, otherDrop, []string{"dst"}},
		{[]string{"sort", "l", "store", "dst"}, otherDrop, []string{"dst"}},
		{[]string{"SORT", "l"}, otherIgnore, nil},
		{[]string{"GEORADIUS", "g", "0", "0", "1", "km", "STORE", "d"}, otherDrop, []string{"d"}},
		{[]string{"XGROUP", "CREATE", "st", "g", "$"}, otherDrop, []string{"st"}},
		{[]string{"xadd", "st", "*", "f", "v"}, otherDrop, []string{"st"}},
		// Never in a stream (Redis sends DEL), but the table finds its keys.
		{[]string{"MIGRATE", "h", "1", "", "0", "5", "KEYS", "a", "b"}, otherDrop, []string{"", "a", "b"}},
		{[]string{"BLMPOP", "0", "2", "a", "b", "LEFT"}, otherDrop, []string{"a", "b"}},
		{[]string{"LMPOP", "99", "a", "b", "LEFT"}, otherDrop, []string{"a", "b", "LEFT"}}, // a bad count is bounded
		{[]string{"PUBLISH", "ch", "m"}, otherIgnore, nil},
		{[]string{"SPUBLISH", "ch", "m"}, otherIgnore, nil},
		{[]string{"FUNCTION", "LOAD", "code"}, otherIgnore, nil},
		{[]string{"SCRIPT", "FLUSH"}, otherIgnore, nil},
		{[]string{"HSET"}, otherIgnore, nil}, // malformed: no key to find
		{[]string{"EVAL", "return 1", "0"}, otherResync, nil},
		{[]string{"FCALL", "f", "0"}, otherResync, nil},
		{[]string{"MODULE.CMD", "k"}, otherResync, nil},
		{[]string{"NOSUCHCOMMAND"}, otherResync, nil},
	} {
		args := make([][]byte, len(c.args))
		for i, a := range c.args {
			args[i] = []byte(a)
		}
		d := decideOther(args)
		if d.act != c.act || !slicesEqual(d.keys, c.keys) {
			t.Errorf("%q: got %v %q (%s), want %v %q", c.args, d.act, d.keys, d.reason, c.act, c.keys)
		}
		if d.act == otherResync && d.reason == "" {
			t.Errorf("%q: resync without a reason", c.args)
		}
	}
}

func slicesEqual(a, b []string) bool {
	return strings.Join(a, "\x00") == strings.Join(b, "\x00") && len(a) == len(b)
}

// applyAll applies a stream and returns the first error wrapping
// errNeedFullResync, failing on any other.
func applyAll(t *testing.T, s *Store, cmds ...[]byte) error {
	t.Helper()
	var resync error
	for _, c := range cmds {
		applied := commands(t, c)[0]
		args := make([][]byte, len(applied))
		for i, a := range applied {
			args[i] = []byte(a)
		}
		err := s.applyCommand(c, args)
		switch {
		case errors.Is(err, errNeedFullResync):
			if resync == nil {
				resync = err
			}
		case err != nil:
			t.Fatalf("apply %q: %v", c, err)
		}
	}
	return resync
}

// TestApplyKeyCommands: what a replica does with the key commands of a
// Redis primary, and that every command's bytes reach its own stream.
func TestApplyKeyCommands(t *testing.T) {
	s := newStore(t, Config{})
	setRole(s, RoleReplica)
	_, start := s.Position()
	hash := string(rdb.SealDump([]byte("\x04\x01\x01f\x01v"), 10)) // the DUMP of a hash
	stream := [][]byte{
		cmd("SELECT", "0"),
		cmd("SET", "a", "1", "PXAT", "4102444800000"),
		cmd("RENAME", "a", "b"), // with its deadline
		cmd("set", "c", "3"),
		cmd("RENAMENX", "c", "d"),
		cmd("COPY", "d", "e"),
		cmd("COPY", "d", "b", "REPLACE"), // b loses its deadline
		cmd("SET", "x", "stale"),
		cmd("RENAME", "gone", "x"), // the source is of another type: so is x now
		cmd("SET", "h", "v"),
		cmd("HSET", "h", "f", "v"),
		cmd("SET", "l", "v"),
		cmd("LPUSH", "l", "v"),
		cmd("SET", "dst", "v"),
		cmd("SORT", "l", "STORE", "dst"),
		cmd("RESTORE", "r", "4102444800000", string(rdb.AppendDump(nil, []byte("rv"))), "ABSTTL"),
		cmd("SET", "rh", "v"),
		cmd("RESTORE", "rh", "0", hash, "REPLACE"),
		cmd("SET", "m", "v"),
		cmd("MOVE", "m", "3"),
		cmd("COPY", "d", "f", "DB", "2"),
		cmd("SWAPDB", "4", "5"),
		cmd("SELECT", "2"),
		cmd("SET", "m", "other db"),
		cmd("HSET", "d", "f", "v"), // another database's d
		cmd("RENAME", "m", "n"),
		cmd("MOVE", "n", "3"),
		cmd("SELECT", "0"),
		cmd("PUBLISH", "ch", "msg"),
		cmd("MULTI"),
		cmd("SADD", "e", "m"),
		cmd("SET", "t", "1"),
		cmd("EXEC"),
	}
	if err := applyAll(t, s, stream...); err != nil {
		t.Fatalf("resync asked for: %v", err)
	}
	want := map[string]entry{
		"b": {Value: "3"},
		"d": {Value: "3"},
		"r": {Value: "rv", Deadline: 4102444800000},
		"t": {Value: "1"},
	}
	if d := cmp.Diff(want, dump(s)); d != "" {
		t.Fatalf("keyspace (-want +got):\n%s", d)
	}
	wantDropped := map[string]int64{"hset": 1, "lpush": 1, "sort": 1, "restore": 1, "sadd": 1}
	if d := cmp.Diff(wantDropped, s.Info().Master.DroppedCommands); d != "" {
		t.Fatalf("dropped (-want +got):\n%s", d)
	}
	var all []byte
	for _, c := range stream {
		all = append(all, c...)
	}
	if _, end := s.Position(); end-start != int64(len(all)) {
		t.Fatalf("stream grew by %d bytes, the primary sent %d", end-start, len(all))
	}
	if got := s.st.ring; got == nil {
		t.Fatal("no backlog")
	}
	if rs := s.Info().Master.ResyncCommands; rs != 0 {
		t.Fatalf("%d resyncs counted", rs)
	}
}

// TestApplyUnknowable: commands whose effect on this store's database
// cannot be known ask for a full resync; the others around them apply.
func TestApplyUnknowable(t *testing.T) {
	for _, c := range []struct {
		name   string
		stream [][]byte
	}{
		{"swapdb ours", [][]byte{cmd("SWAPDB", "0", "1")}},
		{"swapdb ours second", [][]byte{cmd("SWAPDB", "3", "0")}},
		{"move into ours", [][]byte{cmd("SELECT", "2"), cmd("MOVE", "k", "0")}},
		{"copy into ours", [][]byte{cmd("SELECT", "2"), cmd("COPY", "k", "k", "DB", "0")}},
		{"script", [][]byte{cmd("EVALSHA", "abc", "0")}},
		{"module", [][]byte{cmd("JSON.SET", "k", "$", "1")}},
		{"in a transaction", [][]byte{cmd("MULTI"), cmd("SET", "before", "1"), cmd("SWAPDB", "0", "1"), cmd("SET", "after", "1"), cmd("EXEC")}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newStore(t, Config{})
			setRole(s, RoleReplica)
			_, start := s.Position()
			err := applyAll(t, s, c.stream...)
			if !errors.Is(err, errNeedFullResync) {
				t.Fatalf("no resync asked for: %v", err)
			}
			if c.name == "module" && !errors.Is(err, ErrUnknownCommand) {
				t.Fatalf("an unknown command's resync does not say so: %v", err)
			}
			if n := s.Info().Master.ResyncCommands; n != 1 {
				t.Fatalf("%d resyncs counted, want 1", n)
			}
			n := 0
			for _, b := range c.stream {
				n += len(b)
			}
			if _, end := s.Position(); end-start != int64(n) {
				t.Fatalf("stream grew by %d bytes, the primary sent %d", end-start, n)
			}
			if c.name == "in a transaction" && len(dump(s)) != 2 {
				t.Fatalf("the rest of the transaction was not applied: %v", dump(s))
			}
		})
	}
}

// TestApplyKeysOtherDB: a store of database 3 sees MOVE and COPY … DB
// from its side.
func TestApplyKeysOtherDB(t *testing.T) {
	s := newStore(t, Config{DB: 3})
	setRole(s, RoleReplica)
	err := applyAll(t, s,
		cmd("SELECT", "3"), cmd("SET", "k", "v"), cmd("SET", "j", "v"),
		cmd("MOVE", "k", "0"), // out of ours
		cmd("COPY", "j", "j2", "DB", "0"),
		cmd("SELECT", "0"), cmd("SWAPDB", "0", "1"), cmd("MOVE", "x", "5"), cmd("HSET", "j", "f", "v"))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[string]entry{"j": {Value: "v"}}, dump(s)); d != "" {
		t.Fatalf("keyspace (-want +got):\n%s", d)
	}
	if err := applyAll(t, s, cmd("MOVE", "x", "3")); !errors.Is(err, errNeedFullResync) {
		t.Fatalf("MOVE into ours: %v", err)
	}
}
