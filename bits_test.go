package replikv

import (
	"context"
	"errors"
	"math"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestBitsStream checks what each partial string write propagates — the
// command itself (SETRANGE, SETBIT, BITOP, BITFIELD), SET … KEEPTTL for
// INCRBYFLOAT, nothing for a write that changes nothing, as Redis 7.0 —
// that deadlines are kept (BITOP's destination loses its own), and that
// a replica applying the stream ends with the primary's keyspace.
func TestBitsStream(t *testing.T) {
	clk := newFakeClock()
	p := newStore(t, Config{Now: clk.Now, ActiveExpiryInterval: -1})
	_, start := p.Position()
	rec := record(t, p, start)
	deadline := clk.ms.Load() + 60_000
	_, err := p.SetWithOptions("t", []byte("abc"), SetOptions{TTL: time.Minute})
	must(t, err)

	check := func(what string, got, want any, err error) {
		t.Helper()
		if err != nil || !cmp.Equal(got, want) {
			t.Errorf("%s = %v, %v; want %v", what, got, err, want)
		}
	}
	n, err := p.SetRange("t", 5, []byte("xy"))
	check("SetRange(t, 5)", n, 7, err)
	n, err = p.SetRange("none", 3, nil)
	check("SetRange with no value on a missing key", n, 0, err)
	n, err = p.SetRange("t", 100, nil)
	check("SetRange with no value", n, 7, err)
	n, err = p.SetRange("t", 0, []byte("a")) // same byte: still propagated, as in Redis
	check("SetRange of the same byte", n, 7, err)
	b, err := p.SetBit("bits", 9, 1)
	check("SetBit(bits, 9, 1)", b, 0, err)
	b, err = p.SetBit("bits", 9, 1)
	check("SetBit of a set bit", b, 1, err)
	b, err = p.SetBit("zero", 3, 0)
	check("SetBit of 0 on a missing key", b, 0, err)
	b, err = p.SetBit("t", 0, 1)
	check("SetBit(t, 0, 1)", b, 0, err)
	n, err = p.BitOp(BitOr, "dest", "bits", "zero", "missing")
	check("BitOp OR", n, 2, err)
	n, err = p.BitOp(BitAnd, "gone", "missing", "missing2")
	check("BitOp of missing keys to a missing key", n, 0, err)
	n, err = p.BitOp(BitNot, "dest", "missing")
	check("BitOp NOT deleting dest", n, 0, err)
	res, err := p.BitField("bf", []BitFieldOp{{Op: BitFieldSet, Bits: 8, Offset: 0, Value: 200},
		{Op: BitFieldIncrBy, Signed: true, Bits: 5, Offset: 20, Value: 100, Overflow: OverflowSat}, {Op: BitFieldGet, Bits: 4}})
	check("BitField", res, []BitFieldResult{{Value: 0}, {Value: 15}, {Value: 12}}, err)
	res, err = p.BitField("bf", []BitFieldOp{{Op: BitFieldSet, Bits: 8, Value: 200}, {Op: BitFieldGet, Bits: 8}})
	check("BitField writing what is there", res, []BitFieldResult{{Value: 200}, {Value: 200}}, err)
	res, err = p.BitField("t", []BitFieldOp{{Op: BitFieldIncrBy, Bits: 2, Offset: 80, Value: 9, Overflow: OverflowFail}})
	check("BitField failing past the end", res, []BitFieldResult{{Failed: true}}, err)
	res, err = p.BitField("none", []BitFieldOp{{Op: BitFieldGet, Bits: 8}})
	check("BitField reading a missing key", res, []BitFieldResult{{}}, err)
	f, err := p.IncrByFloatText("t2", "10.5")
	check("IncrByFloatText", f, "10.5", err)
	_, err = p.SetWithOptions("fl", []byte("1"), SetOptions{TTL: time.Minute})
	must(t, err)
	f, err = p.IncrByFloat("fl", 0.25)
	check("IncrByFloat", f, "1.25", err)
	must(t, p.Atomic(func(tx *Tx) error {
		if _, err := tx.SetBit("bits", 0, 1); err != nil {
			return err
		}
		_, err := tx.SetRange("bits", 3, []byte("!"))
		return err
	}))
	_, end := p.Position()
	got := commands(t, rec.bytesUntil(t, end))
	dl := strconv.FormatInt(deadline, 10)
	want := [][]string{
		{"SELECT", "0"},
		{"SET", "t", "abc", "PXAT", dl},
		{"SETRANGE", "t", "5", "xy"},
		{"SETRANGE", "t", "0", "a"},
		{"SETBIT", "bits", "9", "1"},
		{"SETBIT", "zero", "3", "0"},
		{"SETBIT", "t", "0", "1"},
		{"BITOP", "OR", "dest", "bits", "zero", "missing"},
		{"BITOP", "NOT", "dest", "missing"},
		{"BITFIELD", "bf", "SET", "u8", "0", "200", "OVERFLOW", "SAT", "INCRBY", "i5", "20", "100", "GET", "u4", "0"},
		// Redis 7.0 creates or grows the value here without propagating
		// it (its replicas miss it); replikv propagates the growth.
		{"BITFIELD", "t", "OVERFLOW", "FAIL", "INCRBY", "u2", "80", "9"},
		{"SET", "t2", "10.5", "KEEPTTL"},
		{"SET", "fl", "1", "PXAT", dl},
		{"SET", "fl", "1.25", "KEEPTTL"},
		{"MULTI"},
		{"SETBIT", "bits", "0", "1"},
		{"SETRANGE", "bits", "3", "!"},
		{"EXEC"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("stream (-want +got):\n%s", d)
	}
	wantKeys := map[string]entry{
		"t":    {Value: "\xe1bc\x00\x00xy\x00\x00\x00\x00", Deadline: deadline},
		"bits": {Value: "\x80\x40\x00!"},
		"zero": {Value: "\x00"},
		"bf":   {Value: "\xc8\x00\x07\x80"},
		"t2":   {Value: "10.5"},
		"fl":   {Value: "1.25", Deadline: deadline},
	}
	if d := cmp.Diff(wantKeys, dump(p)); d != "" {
		t.Errorf("primary (-want +got):\n%s", d)
	}
	r := newStore(t, Config{Now: clk.Now, ActiveExpiryInterval: -1})
	setRole(r, RoleReplica)
	applyStream(t, r, rec.bytesUntil(t, end))
	if d := cmp.Diff(wantKeys, dump(r)); d != "" {
		t.Errorf("replica (-want +got):\n%s", d)
	}
}

// TestBitsReads checks the read-only operations on the Store and in a
// transaction, which must agree.
func TestBitsReads(t *testing.T) {
	s := newStore(t, Config{ActiveExpiryInterval: -1})
	must(t, s.Set("foobar", []byte("foobar")))
	must(t, s.Set("k1", []byte("ohmytext")))
	must(t, s.Set("k2", []byte("mynewtext")))
	type reads struct {
		Range, Missing []byte
		Bit, Bit2      int
		Count, CountB  int64
		Pos, PosMiss   int64
		PosMiss0       int64
		Field          []BitFieldResult
		LCS            string
		LCSLen         int
		Matches        []LCSMatch
		MatchLen       int
	}
	want := reads{Range: []byte("bar"), Missing: []byte{}, Bit: 1, Bit2: 0, Count: 26, CountB: 17, Pos: 1, PosMiss: -1,
		Field: []BitFieldResult{{Value: 102}, {Value: 3}}, LCS: "mytext", LCSLen: 6,
		Matches: []LCSMatch{{A: [2]int{4, 7}, B: [2]int{5, 8}, Len: 4}}, MatchLen: 6}
	ops := []BitFieldOp{{Op: BitFieldGet, Bits: 8}, {Op: BitFieldGet, Signed: true, Bits: 3, Offset: 4}}
	type api interface {
		GetRange(string, int64, int64) ([]byte, error)
		GetBit(string, int64) (int, error)
		BitCount(string, *BitRange) (int64, error)
		BitPos(string, int, *BitRange) (int64, error)
		BitFieldRO(string, []BitFieldOp) ([]BitFieldResult, error)
		LCS(string, string) ([]byte, error)
		LCSLen(string, string) (int, error)
		LCSIdx(string, string, int) ([]LCSMatch, int, error)
	}
	read := func(a api) reads {
		var r reads
		var err error
		r.Range, err = a.GetRange("foobar", -3, -1)
		must(t, err)
		r.Missing, _ = a.GetRange("nope", 0, -1)
		r.Bit, _ = a.GetBit("foobar", 1)
		r.Bit2, _ = a.GetBit("foobar", 1000)
		r.Count, _ = a.BitCount("foobar", nil)
		r.CountB, _ = a.BitCount("foobar", &BitRange{Start: 5, End: 30, Bits: true})
		r.Pos, _ = a.BitPos("foobar", 1, nil)
		r.PosMiss, _ = a.BitPos("nope", 1, nil)
		r.PosMiss0, _ = a.BitPos("nope", 0, &BitRange{Start: 3, NoEnd: true})
		r.Field, err = a.BitFieldRO("foobar", ops)
		must(t, err)
		seq, _ := a.LCS("k1", "k2")
		r.LCS = string(seq)
		r.LCSLen, _ = a.LCSLen("k1", "k2")
		r.Matches, r.MatchLen, _ = a.LCSIdx("k1", "k2", 3)
		return r
	}
	if d := cmp.Diff(want, read(s)); d != "" {
		t.Errorf("Store (-want +got):\n%s", d)
	}
	must(t, s.Atomic(func(tx *Tx) error {
		if d := cmp.Diff(want, read(tx)); d != "" {
			t.Errorf("Tx (-want +got):\n%s", d)
		}
		return nil
	}))
	if seq, err := s.LCS("nope", "k1"); err != nil || seq == nil || len(seq) != 0 {
		t.Errorf("LCS with a missing key = %q, %v", seq, err)
	}
}

// TestBitsErrors checks the arguments the operations refuse, and where.
func TestBitsErrors(t *testing.T) {
	s := newStore(t, Config{MaxBulkLen: 1024, ActiveExpiryInterval: -1})
	must(t, s.Set("v", []byte("abc")))
	must(t, s.Set("text", []byte("not a number")))
	for _, c := range []struct {
		what string
		err  error
		want error
	}{
		{"SetRange negative offset", second(s.SetRange("v", -1, []byte("x"))), ErrInvalidArgument},
		{"SetRange past MaxBulkLen", second(s.SetRange("v", 1024, []byte("x"))), ErrTooLarge},
		{"SetRange overflowing", second(s.SetRange("v", 1<<63-1, []byte("x"))), ErrTooLarge},
		{"SetRange up to MaxBulkLen", second(s.SetRange("v", 1023, []byte("x"))), nil},
		{"SetBit past MaxBulkLen", second(s.SetBit("b", 1024*8, 1)), ErrBitOffset},
		{"SetBit negative", second(s.SetBit("b", -1, 1)), ErrBitOffset},
		{"SetBit 2", second(s.SetBit("b", 0, 2)), ErrInvalidArgument},
		{"SetBit at the limit", second(s.SetBit("b", 1024*8-1, 1)), nil},
		{"GetBit past MaxBulkLen", second(s.GetBit("b", 1024*8)), ErrBitOffset},
		{"BitPos 2", second(s.BitPos("b", 2, nil)), ErrInvalidArgument},
		{"BitOp NOT of two", second(s.BitOp(BitNot, "d", "a", "b")), ErrInvalidArgument},
		{"BitOp without sources", second(s.BitOp(BitOr, "d")), ErrInvalidArgument},
		{"BitOp unknown", second(s.BitOp(BitOp(9), "d", "a")), ErrInvalidArgument},
		{"BitField u64", second(s.BitField("f", []BitFieldOp{{Bits: 64}})), ErrInvalidArgument},
		{"BitField i0", second(s.BitField("f", []BitFieldOp{{Signed: true}})), ErrInvalidArgument},
		{"BitField offset", second(s.BitField("f", []BitFieldOp{{Bits: 8, Offset: 1024 * 8}})), ErrBitOffset},
		{"BitFieldRO with a Set", second(s.BitFieldRO("f", []BitFieldOp{{Op: BitFieldSet, Bits: 8}})), ErrInvalidArgument},
		{"IncrByFloat on text", second(s.IncrByFloat("text", 1)), ErrNotFloat},
		{"IncrByFloatText bad", second(s.IncrByFloatText("v", "1.5x")), ErrNotFloat},
		{"IncrByFloatText inf", second(s.IncrByFloatText("n", "inf")), ErrNaNOrInfinity},
		{"IncrByFloat NaN", second(s.IncrByFloat("n", math.NaN())), ErrNaNOrInfinity},
		{"LCS over the table limit", second(s.LCS("v", "v")), ErrTooLarge},
	} {
		if !errors.Is(c.err, c.want) || (c.want == nil && c.err != nil) {
			t.Errorf("%s: %v, want %v", c.what, c.err, c.want)
		}
	}
	// A field may end a few bytes past MaxBulkLen, as in Redis.
	if _, err := s.BitField("f", []BitFieldOp{{Op: BitFieldSet, Signed: true, Bits: 64, Offset: 1024*8 - 1, Value: -1}}); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.Get("f"); len(v) != 1032 {
		t.Errorf("BitField at the last offset made %d bytes, want 1032", len(v))
	}
	if _, ok := s.Get("n"); ok == nil {
		t.Error("a failed IncrByFloat created its key")
	}

	// Writes on a read-only replica fail; reads, BitFieldRO included, work.
	setRole(s, RoleReplica)
	for what, err := range map[string]error{
		"SetRange":    second(s.SetRange("v", 0, []byte("x"))),
		"SetBit":      second(s.SetBit("v", 0, 1)),
		"BitOp":       second(s.BitOp(BitOr, "d", "v")),
		"BitField":    second(s.BitField("v", []BitFieldOp{{Bits: 8}})),
		"IncrByFloat": second(s.IncrByFloat("v", 1)),
	} {
		if !errors.Is(err, ErrReadOnly) {
			t.Errorf("%s on a replica: %v", what, err)
		}
	}
	if res, err := s.BitFieldRO("v", []BitFieldOp{{Bits: 8}}); err != nil || res[0].Value != 'a' {
		t.Errorf("BitFieldRO on a replica = %v, %v", res, err)
	}

	// AtomicKeys: only the keys it locked.
	setRole(s, RolePrimary)
	err := s.AtomicKeys([]string{"v"}, func(tx *Tx) error {
		_, err := tx.BitOp(BitOr, "v", "elsewhere-"+strings.Repeat("x", 30))
		return err
	})
	if !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("BitOp on a key outside AtomicKeys: %v", err)
	}
}

func second[T any](_ T, err error) error { return err }

// TestApplyBitsLimits: a replica applies within its own MaxBulkLen (a
// command past it fails and is counted), and a SETBIT that would change
// nothing on a replica changes nothing.
func TestApplyBitsLimits(t *testing.T) {
	r := newStore(t, Config{MaxBulkLen: 100, ActiveExpiryInterval: -1})
	setRole(r, RoleReplica)
	for _, c := range [][]string{{"SETRANGE", "k", "100", "x"}, {"SETBIT", "k", "800", "1"}, {"SETRANGE", "k", "-1", "x"},
		{"BITFIELD", "k", "SET", "u8", "800", "1"}, {"BITOP", "NOT", "d", "a", "b"}, {"INCRBYFLOAT", "k", "x"}} {
		if err := r.applyCommand(cmd(c...), toArgs(c)); err == nil {
			t.Errorf("%q applied", c)
		}
	}
	if got := r.Info().Master.FailedCommands; got != 6 {
		t.Errorf("%d failed commands counted, want 6", got)
	}
	applyStream(t, r, cmd("SETRANGE", "k", "99", "x"))
	applyStream(t, r, cmd("SETBIT", "k", "799", "0"))
	if v, _ := r.Get("k"); len(v) != 100 || v[99] != 'x' {
		t.Errorf("value of %d bytes", len(v))
	}
	if len(dump(r)) != 1 {
		t.Errorf("keys: %v", dump(r))
	}
}

func toArgs(s []string) [][]byte {
	out := make([][]byte, len(s))
	for i, a := range s {
		out[i] = []byte(a)
	}
	return out
}

// TestWatchBits: Watch reports the partial string writes as the values
// they leave, BITOP's destination included (its key is not args[1]).
func TestWatchBits(t *testing.T) {
	p := newStore(t, Config{ActiveExpiryInterval: -1})
	w, err := p.Watch(context.Background(), WatchOptions{})
	must(t, err)
	defer w.Close()
	_, err = p.SetBit("a", 1, 1)
	must(t, err)
	_, err = p.SetRange("a", 2, []byte("xy"))
	must(t, err)
	_, err = p.BitOp(BitNot, "d", "a")
	must(t, err)
	_, err = p.BitField("f", []BitFieldOp{{Op: BitFieldSet, Bits: 8, Value: 'z'}})
	must(t, err)
	_, err = p.IncrByFloat("n", 2.5)
	must(t, err)
	_, err = p.BitOp(BitAnd, "d", "missing")
	must(t, err)
	for _, want := range []Event{
		{Op: OpSet, Key: "a", Value: []byte("\x40\x00xy")}, // the value now: the SETRANGE already happened
		{Op: OpSet, Key: "a", Value: []byte("\x40\x00xy")},
		{Op: OpDelete, Key: "d"}, // deleted by the last BITOP by now
		{Op: OpSet, Key: "f", Value: []byte("z")},
		{Op: OpSet, Key: "n", Value: []byte("2.5")},
		{Op: OpDelete, Key: "d"},
	} {
		if d := cmp.Diff(want, watchNext(t, w)); d != "" {
			t.Errorf("event (-want +got):\n%s", d)
		}
	}
}

// TestBitsLargeConcurrent checks the path that builds a large value
// before locking the stream: SetBit, SetRange and BitField racing each
// other on one 64 KiB value while its deadline changes in place lose no
// write, and a replica applying the stream ends with the primary's value
// and deadline.
func TestBitsLargeConcurrent(t *testing.T) {
	clk := newFakeClock()
	p := newStore(t, Config{Now: clk.Now, ActiveExpiryInterval: -1})
	_, start := p.Position()
	rec := record(t, p, start)
	must(t, p.Set("big", make([]byte, appendCopyFirst)))
	const each = 40
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range each {
				var err error
				switch w {
				case 0: // bits 0..each-1
					_, err = p.SetBit("big", int64(j), 1)
				case 1: // bytes 1000..1000+each-1
					_, err = p.SetRange("big", int64(1000+j), []byte{'r'})
				default: // a 16-bit counter at byte 2000
					_, err = p.BitField("big", []BitFieldOp{{Op: BitFieldIncrBy, Bits: 16, Offset: 2000 * 8, Value: 1}})
				}
				if err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Add(1)
	go func() { // deadlines change in place meanwhile
		defer wg.Done()
		for i := range 50 {
			if i%2 == 0 {
				p.ExpireAt("big", time.UnixMilli(clk.ms.Load()+int64(60_000+i)))
			} else {
				p.Persist("big")
			}
		}
	}()
	wg.Wait()
	v, err := p.Get("big")
	must(t, err)
	if n, _ := p.BitCount("big", &BitRange{Start: 0, End: each - 1, Bits: true}); n != each {
		t.Errorf("%d of the %d bits set", n, each)
	}
	if got := string(v[1000 : 1000+each]); got != strings.Repeat("r", each) {
		t.Errorf("bytes written by SetRange: %q", got)
	}
	if c := int(v[2000])<<8 | int(v[2001]); c != each {
		t.Errorf("counter = %d, want %d", c, each)
	}
	_, end := p.Position()
	r := newStore(t, Config{Now: clk.Now, ActiveExpiryInterval: -1})
	setRole(r, RoleReplica)
	applyStream(t, r, rec.bytesUntil(t, end))
	if d := cmp.Diff(dump(p), dump(r)); d != "" {
		t.Errorf("replica differs from primary (-primary +replica):\n%.2000s", d)
	}
}
