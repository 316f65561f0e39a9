package replikv

import (
	"testing"
	"time"
)

// TestTxChanged checks the versions WATCH compares: writes, EXPIRE and
// PERSIST in place, deletion, and Redis 7.0's expiry rules.
func TestTxChanged(t *testing.T) {
	now := time.UnixMilli(1_000_000)
	clock := func() time.Time { return now }
	s := newStore(t, Config{ActiveExpiryInterval: -1, Now: clock})
	changed := func(key string, v KeyVersion) bool {
		var c bool
		must(t, s.AtomicKeys([]string{key}, func(tx *Tx) error { c = tx.Changed(key, v); return nil }))
		return c
	}
	must(t, s.Set("k", []byte("v")))
	v := s.KeyVersion("k")
	if changed("k", v) {
		t.Error("unchanged key reported changed")
	}
	must(t, s.Set("k", []byte("v")))
	if !changed("k", v) {
		t.Error("a write of the same value is a change")
	}
	v = s.KeyVersion("k")
	if _, err := s.ExpireAt("k", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if !changed("k", v) {
		t.Error("EXPIRE is a change")
	}
	v = s.KeyVersion("k")
	if _, err := s.ExpireAt("k", now.Add(2*time.Hour)); err != nil { // in place now
		t.Fatal(err)
	}
	if !changed("k", v) {
		t.Error("EXPIRE in place is a change")
	}
	v = s.KeyVersion("k")
	if _, err := s.Persist("k"); err != nil {
		t.Fatal(err)
	}
	if !changed("k", v) {
		t.Error("PERSIST is a change")
	}
	// A deadline that passes after WATCH is a change, deleted or not.
	must(t, s.SetTTL("e", []byte("v"), time.Second))
	v = s.KeyVersion("e")
	now = now.Add(2 * time.Second)
	if !changed("e", v) {
		t.Error("a deadline passed since is a change")
	}
	s.Get("e") // deletes it
	if !changed("e", v) {
		t.Error("a deletion by expiry of a live key is a change")
	}
	// A key expired already when watched: its deletion is no change, a
	// new value is.
	must(t, s.SetTTL("x", []byte("v"), time.Second))
	now = now.Add(2 * time.Second)
	v = s.KeyVersion("x")
	if changed("x", v) {
		t.Error("nothing happened to an expired key")
	}
	s.Get("x")
	if changed("x", v) {
		t.Error("the deletion of a key expired when watched is no change")
	}
	must(t, s.Set("x", []byte("new")))
	if !changed("x", v) {
		t.Error("a key written after it expired changed")
	}
	// Absent, then created.
	v = s.KeyVersion("none")
	if changed("none", v) {
		t.Error("absent key reported changed")
	}
	must(t, s.Set("none", []byte("1")))
	if !changed("none", v) {
		t.Error("a created key changed")
	}
	// Outside AtomicKeys' keys: changed.
	must(t, s.AtomicKeys([]string{"a"}, func(tx *Tx) error {
		for i := range 64 {
			k := string(rune('b' + i))
			if !tx.covers(k) && !tx.Changed(k, KeyVersion{}) {
				t.Errorf("key %q outside the transaction reported unchanged", k)
			}
		}
		return nil
	}))
}

// TestSetActiveExpiry checks that the expiry loop deletes nothing while
// active expiry is off.
func TestSetActiveExpiry(t *testing.T) {
	s := newStore(t, Config{ActiveExpiryInterval: time.Millisecond})
	s.SetActiveExpiry(false)
	if s.ActiveExpiry() {
		t.Fatal("ActiveExpiry after SetActiveExpiry(false)")
	}
	must(t, s.SetTTL("k", []byte("v"), time.Millisecond))
	deadline := time.Now().Add(50 * time.Millisecond) // fifty periods
	for time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if s.Len() != 1 {
		t.Errorf("Len with active expiry off = %d", s.Len())
	}
	s.SetActiveExpiry(true)
	deadline = time.Now().Add(10 * time.Second)
	for s.Len() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("active expiry did not resume")
		}
		time.Sleep(time.Millisecond)
	}
}
