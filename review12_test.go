package replikv

import (
	"errors"
	"math/rand/v2"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/replikv/replikv/rdb"
	"github.com/replikv/replikv/transport"
)

// TestReview12RandomReplicaConverges runs random issue-12 writes (with
// deadlines passing on a fake clock, and large values that take the
// prepared path) on a primary and applies its stream to a replica: both
// must end with the same keyspace, expired keys included.
func TestReview12RandomReplicaConverges(t *testing.T) {
	for seed := range uint64(20) {
		clk := newFakeClock()
		s := newStore(t, Config{Now: clk.Now, Shards: 4})
		s.SetActiveExpiry(false)
		rec := record(t, s, 0)
		rng := rand.New(rand.NewPCG(seed, 12))
		keys := []string{"a", "b", "c", "d", "e"}
		k := func() string { return keys[rng.IntN(len(keys))] }
		for range 400 {
			switch rng.IntN(16) {
			case 0:
				s.SetTTL(k(), []byte(strconv.Itoa(rng.IntN(100))), time.Duration(1+rng.IntN(3))*time.Second)
			case 1:
				s.Set(k(), []byte("v"+strconv.Itoa(rng.IntN(100))))
			case 2:
				s.Rename(k(), k())
			case 3:
				s.RenameNX(k(), k())
			case 4:
				s.Copy(k(), k(), rng.IntN(2) == 0)
			case 5:
				s.SetRange(k(), int64(rng.IntN(70000)), []byte("xyz"))
			case 6:
				s.SetBit(k(), int64(rng.IntN(600000)), rng.IntN(2))
			case 7:
				s.BitOp(BitOp(rng.IntN(3)), k(), k(), k())
			case 8:
				s.BitOp(BitNot, k(), k())
			case 9:
				s.BitField(k(), []BitFieldOp{{Op: BitFieldIncrBy, Bits: 8, Offset: int64(rng.IntN(600000)), Value: 300, Overflow: BitFieldOverflow(rng.IntN(3))}})
			case 10:
				s.IncrByFloatText(k(), []string{"0.1", "1e300", "-3.5", "1e-20"}[rng.IntN(4)])
			case 11:
				if p, err := s.Dump(k()); err == nil {
					opt := RestoreOptions{Replace: rng.IntN(2) == 0}
					switch rng.IntN(3) {
					case 0:
						opt.TTL = time.Second
					case 1:
						opt.ExpireAt = clk.Now().Add(time.Duration(rng.IntN(3)-1) * time.Second)
					}
					s.Restore(k(), p, opt)
				}
			case 12:
				s.Expire(k(), time.Duration(rng.IntN(3))*time.Second)
			case 13:
				clk.Advance(time.Duration(rng.IntN(1500)) * time.Millisecond)
			case 14:
				s.Delete(k())
			case 15:
				s.Append(k(), []byte("!"))
			}
		}
		_, end := s.Position()
		b := rec.bytesUntil(t, end)
		r := newStore(t, Config{Now: clk.Now, Shards: 8})
		r.SetActiveExpiry(false)
		setRole(r, RoleReplica)
		applyStream(t, r, b)
		if d := cmp.Diff(dump(s), dump(r)); d != "" {
			t.Fatalf("seed %d: replica differs (-primary +replica):\n%s", seed, d)
		}
		s.Close()
		r.Close()
	}
}

// TestReview12ConcurrentReplicaConverges is the random writes from
// several goroutines at once (RENAME a b against RENAME b a, BITOP over
// keys being renamed, large SETRANGEs prepared outside the locks): the
// stream's order must still rebuild the primary's keyspace.
func TestReview12ConcurrentReplicaConverges(t *testing.T) {
	clk := newFakeClock()
	s := newStore(t, Config{Now: clk.Now, Shards: 4})
	s.SetActiveExpiry(false)
	rec := record(t, s, 0)
	keys := []string{"a", "b", "c", "d"}
	done := make(chan struct{})
	const workers = 4
	for w := range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			rng := rand.New(rand.NewPCG(uint64(w), 99))
			k := func() string { return keys[rng.IntN(len(keys))] }
			for range 300 {
				switch rng.IntN(10) {
				case 0:
					s.Set(k(), []byte("v"))
				case 1:
					s.Rename("a", "b")
					s.Rename("b", "a")
				case 2:
					s.Copy(k(), k(), true)
				case 3:
					s.SetRange(k(), int64(rng.IntN(100000)), []byte("xyz"))
				case 4:
					s.SetBit(k(), int64(rng.IntN(800000)), 1)
				case 5:
					s.BitOp(BitXor, k(), k(), k())
				case 6:
					s.BitField(k(), []BitFieldOp{{Op: BitFieldIncrBy, Bits: 16, Offset: int64(rng.IntN(800000)), Value: 7}})
				case 7:
					if p, err := s.Dump(k()); err == nil {
						s.Restore(k(), p, RestoreOptions{Replace: true})
					}
				case 8:
					s.Append(k(), []byte("!"))
				case 9:
					s.SetTTL(k(), []byte("t"), time.Hour)
				}
			}
		}()
	}
	for range workers {
		<-done
	}
	_, end := s.Position()
	b := rec.bytesUntil(t, end)
	r := newStore(t, Config{Now: clk.Now, Shards: 8})
	setRole(r, RoleReplica)
	applyStream(t, r, b)
	if d := cmp.Diff(dump(s), dump(r)); d != "" {
		t.Fatalf("replica differs (-primary +replica):\n%s", d)
	}
}

// TestReview12CloseDuringKeyCommands closes the store while goroutines run
// the multi-key and prepared writes: nothing panics or hangs, and every
// call after Close has returned fails with ErrClosed.
func TestReview12CloseDuringKeyCommands(t *testing.T) {
	s := newStore(t, Config{Shards: 4})
	p := appendDump([]byte("v"))
	start := make(chan struct{})
	done := make(chan struct{})
	const workers = 4
	for w := range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			<-start
			for i := 0; ; i++ {
				var err error
				switch (i + w) % 7 {
				case 0:
					err = s.Rename("a", "b")
					if errors.Is(err, ErrNotFound) {
						err = s.Set("a", []byte("x"))
					}
				case 1:
					_, err = s.Copy("b", "c", true)
				case 2:
					_, err = s.BitOp(BitOr, "d", "a", "b", "c")
				case 3:
					_, err = s.SetRange("e", 70000, []byte("x"))
				case 4:
					err = s.Restore("f", p, RestoreOptions{Replace: true})
				case 5:
					_, err = s.BitField("g", []BitFieldOp{{Op: BitFieldSet, Bits: 8, Offset: 600000, Value: 1}})
				case 6:
					_, err = s.IncrByFloat("h", 1)
				}
				if errors.Is(err, ErrClosed) {
					return
				}
			}
		}()
	}
	close(start)
	for s.Len() < 3 {
		runtime.Gosched()
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	deadline := time.After(30 * time.Second)
	for range workers {
		select {
		case <-done:
		case <-deadline:
			t.Fatal("a writer still runs after Close")
		}
	}
	select {
	case <-closed:
	case <-deadline:
		t.Fatal("Close hangs")
	}
	if err := s.Rename("a", "z"); !errors.Is(err, ErrClosed) {
		t.Errorf("Rename after Close: %v", err)
	}
	if _, err := s.Copy("a", "z", true); !errors.Is(err, ErrClosed) {
		t.Errorf("Copy after Close: %v", err)
	}
	if _, err := s.RenameNX("a", "z"); !errors.Is(err, ErrClosed) {
		t.Errorf("RenameNX after Close: %v", err)
	}
}

// TestReview12RandomKeyAtomicNoKeys: Tx.RandomKey inside AtomicKeys of no
// keys holds no shard: it finds no key (rand.IntN(0) panicked).
func TestReview12RandomKeyAtomicNoKeys(t *testing.T) {
	s := newStore(t, Config{})
	s.Set("a", []byte("1"))
	err := s.AtomicKeys(nil, func(tx *Tx) error {
		_, err := tx.RandomKey()
		return err
	})
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("RandomKey in AtomicKeys(nil) = %v, want ErrNotFound", err)
	}
}

// TestReview12DumpRestoreLongestValue: a value BITFIELD may grow 8 bytes
// past MaxBulkLen (as Redis's may) dumps, restores into the same store,
// and a replica applying that RESTORE holds it too, as snapshots of such
// values load back.
func TestReview12DumpRestoreLongestValue(t *testing.T) {
	cfg := Config{MaxBulkLen: 1024}
	s := newStore(t, cfg)
	rec := record(t, s, 0)
	if _, err := s.BitField("k", []BitFieldOp{{Op: BitFieldSet, Signed: true, Bits: 64, Offset: 1024*8 - 1, Value: -1}}); err != nil {
		t.Fatal(err)
	}
	p, err := s.Dump("k")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Restore("k2", p, RestoreOptions{}); err != nil {
		t.Fatalf("Restore of what Dump gave: %v", err)
	}
	_, end := s.Position()
	r := newStore(t, cfg)
	setRole(r, RoleReplica)
	applyStream(t, r, rec.bytesUntil(t, end))
	if d := cmp.Diff(dump(s), dump(r)); d != "" {
		t.Fatalf("replica differs (-primary +replica):\n%s", d)
	}
}

// TestReview12RestoreLongPayloadReplicates: Restore of the payload Dump
// gives for a value of MaxBulkLen bytes (the payload is longer than the
// value) streams a RESTORE whose payload argument exceeds MaxBulkLen; a
// replica with the same configuration must apply it through the link,
// without breaking the link and resyncing in full.
func TestReview12RestoreLongPayloadReplicates(t *testing.T) {
	mn := memNet{transport.NewMemNetwork()}
	cfg := fastConfig()
	cfg.MaxBulkLen = 4096
	p := node(t, mn, "p", cfg)
	r := newStore(t, cfg)
	must(t, r.ReplicaOf(mn.dialer("p")))
	waitSynced(t, r)
	v := make([]byte, 4096)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range v {
		v[i] = byte(rng.Uint32()) // incompressible
	}
	must(t, p.Set("k", v))
	pl, err := p.Dump("k")
	must(t, err)
	must(t, p.Restore("k2", pl, RestoreOptions{}))
	must(t, p.Set("after", []byte("1")))
	waitConverged(t, p, r)
	if m := r.Info().Master; m.FullSyncs != 1 {
		t.Fatalf("the replica synced in full %d times, want 1 (the link broke on the RESTORE)", m.FullSyncs)
	}
}

// FuzzReview12Restore restores fuzzed DUMP bodies sealed with a valid
// footer (so that the decoder, not the checksum, sees them) on a store
// with a small MaxBulkLen: no panic, no value past the store's limit, and
// what was restored dumps and restores back to the same value.
func FuzzReview12Restore(f *testing.F) {
	for _, b := range []string{"\x00\x05hello", "\x00\xc0\x07", "\x00\xc3\x05\x0a\x01ab\xe0\x03\x00", "\x00\x80\x00\x00\x04\x00",
		"\x00\xc3\x80\x00\x00\x00\x05\x80\x00\x10\x00\x00", "\x04\x01\x01f\x01v", "\x00\x81\x00\x00\x00\x00\x00\x00\x04\x00"} {
		f.Add([]byte(b))
	}
	s, err := New(Config{MaxBulkLen: 1024})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	f.Fuzz(func(t *testing.T, body []byte) {
		err := s.Restore("k", rdb.SealDump(body, 10), RestoreOptions{Replace: true})
		if err != nil {
			return
		}
		v, err := s.Get("k")
		if err != nil {
			t.Fatalf("Get after Restore: %v", err)
		}
		if int64(len(v)) > maxStoredLen(1024) {
			t.Fatalf("restored %d bytes", len(v))
		}
		p, err := s.Dump("k")
		must(t, err)
		must(t, s.Restore("k2", p, RestoreOptions{Replace: true}))
		if v2, _ := s.Get("k2"); string(v2) != string(v) {
			t.Fatalf("round trip: %q, then %q", v, v2)
		}
	})
}
