package replikv

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestAtomicKeys: only the named keys' shards are locked; other keys stay
// available meanwhile and cannot be touched from inside.
func TestAtomicKeys(t *testing.T) {
	s := newStore(t, Config{Shards: 64})
	rec := record(t, s, 0)
	// Two keys in different shards.
	a, b := "a", "b"
	for i := 0; hashKey(a)>>s.shift == hashKey(b)>>s.shift; i++ {
		b = string(rune('b' + i))
	}
	must(t, s.Set(b, []byte("free")))
	must(t, s.AtomicKeys([]string{a}, func(tx *Tx) error {
		must(t, tx.Set(a, []byte("1")))
		if _, err := tx.IncrBy(a, 1); err != nil {
			return err
		}
		// Another key's shard is not locked: the store serves it meanwhile.
		if v, err := s.Get(b); err != nil || string(v) != "free" {
			t.Errorf("Get(%q) during AtomicKeys = %q, %v", b, v, err)
		}
		if err := tx.Set(b, nil); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("Set of a key not named: %v", err)
		}
		if err := tx.FlushAll(); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("FlushAll inside AtomicKeys: %v", err)
		}
		return nil
	}))
	_, end := s.Position()
	want := [][]string{{"SELECT", "0"}, {"SET", b, "free"}, {"MULTI"}, {"SET", a, "1"}, {"SET", a, "2"}, {"EXEC"}}
	if d := cmp.Diff(want, commands(t, rec.bytesUntil(t, end))); d != "" {
		t.Fatalf("stream (-want +got):\n%s", d)
	}
	if v, _ := s.Get(a); string(v) != "2" {
		t.Fatalf("a = %q", v)
	}
}
