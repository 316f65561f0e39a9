package replikv

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/replikv/replikv/resp"
)

func cmd(args ...string) []byte { return resp.AppendCommandString(nil, args...) }

// TestApplyTransactionAtomic: a replica applies MULTI…EXEC from its primary
// all at once, counts its bytes only then, and drops a DISCARDed one.
func TestApplyTransactionAtomic(t *testing.T) {
	s := newStore(t, Config{})
	setRole(s, RoleReplica)
	applyStream(t, s, cmd("SELECT", "0"))
	_, base := s.Position()
	applyStream(t, s, append(cmd("MULTI"), append(cmd("SET", "a", "1"), cmd("incr", "n")...)...))
	if _, err := s.Get("a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a queued write is visible before EXEC: %v", err)
	}
	if _, off := s.Position(); off != base {
		t.Fatalf("queued bytes counted: offset %d, want %d", off, base)
	}
	applyStream(t, s, cmd("EXEC"))
	want := map[string]entry{"a": {Value: "1"}, "n": {Value: "1"}}
	if d := cmp.Diff(want, dump(s)); d != "" {
		t.Fatalf("after EXEC (-want +got):\n%s", d)
	}
	txLen := len(cmd("MULTI")) + len(cmd("SET", "a", "1")) + len(cmd("incr", "n")) + len(cmd("EXEC"))
	if _, off := s.Position(); off != base+int64(txLen) {
		t.Fatalf("offset after EXEC %d, want %d", off, base+int64(txLen))
	}
	applyStream(t, s, append(cmd("MULTI"), append(cmd("SET", "a", "3"), cmd("DISCARD")...)...))
	if v, _ := s.Get("a"); string(v) != "1" {
		t.Fatalf("a discarded transaction was applied: a = %q", v)
	}
	// A link that breaks inside a transaction: the primary resends it whole.
	applyStream(t, s, append(cmd("MULTI"), cmd("SET", "a", "4")...))
	_, before := s.Position()
	s.multi = multiState{} // what a new link does
	applyStream(t, s, append(cmd("MULTI"), append(cmd("SET", "a", "5"), cmd("EXEC")...)...))
	if v, _ := s.Get("a"); string(v) != "5" {
		t.Fatalf("a = %q after the resent transaction", v)
	}
	if _, off := s.Position(); off != before+int64(len(cmd("MULTI"))+len(cmd("SET", "a", "5"))+len(cmd("EXEC"))) {
		t.Fatalf("the cut transaction's bytes were counted")
	}
}
