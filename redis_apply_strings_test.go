package replikv

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
	"github.com/replikv/replikv/transport"
)

// bitsKeys are the keys the partial string workloads write.
var bitsKeys = []string{"s:a", "s:b", "s:c", "s:ttl", "s:float", "s:bf", "s:new1", "s:new2", "s:dest", "s:lcs"}

// bitsCommands is a fixed set of partial string commands, with their
// edge cases (zero padding, no-op writes, BITOP deleting, BITFIELD's
// typed offsets and overflows), for a Redis master.
func bitsCommands() [][]any {
	return [][]any{
		{"SET", "s:a", "Hello World"}, {"SET", "s:ttl", "abc", "EX", "3600"}, {"SET", "s:float", "1.5", "EX", "3600"},
		{"SETRANGE", "s:a", "6", "Redis"}, {"SETRANGE", "s:b", "10", "padded"}, {"SETRANGE", "s:c", "0", ""},
		{"SETRANGE", "s:a", "0", ""}, {"SETRANGE", "s:ttl", "1", "Z"}, {"setrange", "s:a", "-1", "x"},
		{"SETBIT", "s:c", "100", "1"}, {"SETBIT", "s:c", "100", "1"}, {"SETBIT", "s:c", "3", "0"}, {"SETBIT", "s:ttl", "60", "1"},
		{"SETBIT", "s:new1", "7", "0"}, {"setbit", "s:a", "0", "1"},
		{"BITOP", "AND", "s:dest", "s:a", "s:b"}, {"BITOP", "OR", "s:dest", "s:a", "s:c", "s:missing"},
		{"bitop", "xor", "s:dest", "s:a", "s:b", "s:c"}, {"BITOP", "NOT", "s:new2", "s:a"},
		{"BITOP", "OR", "s:new2", "s:missing"}, {"BITOP", "AND", "s:gone", "s:missing", "s:missing2"},
		{"BITOP", "NOT", "s:ttl2", "s:ttl"},
		{"BITFIELD", "s:bf", "SET", "i5", "100", "1", "GET", "u4", "0"},
		{"BITFIELD", "s:bf", "INCRBY", "u2", "100", "1", "OVERFLOW", "SAT", "INCRBY", "u2", "102", "1"},
		{"BITFIELD", "s:bf", "OVERFLOW", "FAIL", "INCRBY", "u2", "100", "5"},
		{"bitfield", "s:bf", "set", "i64", "#3", "-1", "get", "i8", "#1", "overflow", "wrap", "incrby", "u63", "#1", "9223372036854775807"},
		{"BITFIELD", "s:bf", "SET", "u8", "0", "0"}, {"BITFIELD", "s:bf", "SET", "u8", "0", "0"},
		{"BITFIELD", "s:ttl", "SET", "u8", "40", "65"}, {"BITFIELD", "s:bf", "GET", "u8", "0"}, {"BITFIELD_RO", "s:bf", "GET", "u8", "0"},
		{"BITFIELD", "s:bf", "SET", "u8", "#2305843009213693953", "7"},
		{"INCRBYFLOAT", "s:float", "0.1"}, {"INCRBYFLOAT", "s:float", "5.0e3"}, {"INCRBYFLOAT", "s:new3", "1e308"},
		{"INCRBYFLOAT", "s:new3", "1e308"}, {"INCRBYFLOAT", "s:float", "abc"}, {"INCRBYFLOAT", "s:float", "inf"},
		{"SET", "s:lcs", "ohmytext"}, {"LCS", "s:lcs", "s:a", "IDX"},
	}
}

// randomBitsCommand is a random partial string write on bitsKeys.
func randomBitsCommand(rng *rand.Rand) []any {
	key := func() string { return bitsKeys[rng.IntN(len(bitsKeys))] }
	switch rng.IntN(6) {
	case 0:
		return []any{"SETRANGE", key(), rng.IntN(40), fmt.Sprintf("v%d", rng.IntN(1000))}
	case 1:
		return []any{"SETBIT", key(), rng.IntN(300), rng.IntN(2)}
	case 2:
		op := []string{"AND", "OR", "XOR", "NOT"}[rng.IntN(4)]
		if op == "NOT" {
			return []any{"BITOP", op, key(), key()}
		}
		return []any{"BITOP", op, key(), key(), key(), key()}
	case 3:
		args := []any{"BITFIELD", key()}
		for range 1 + rng.IntN(3) {
			if rng.IntN(3) == 0 {
				// Not FAIL: Redis 7.0 does not propagate a BITFIELD whose
				// writes all fail, even when it grew the value, so its
				// replicas (replikv's as Redis's) would miss the growth.
				args = append(args, "OVERFLOW", []string{"WRAP", "SAT"}[rng.IntN(2)])
			}
			bits := 1 + rng.IntN(63)
			typ := "u" + strconv.Itoa(bits)
			if rng.IntN(2) == 0 {
				typ = "i" + strconv.Itoa(bits+1)
			}
			args = append(args, []string{"SET", "INCRBY"}[rng.IntN(2)], typ, rng.IntN(200), rng.Int64N(1<<20)-1<<19)
		}
		return args
	case 4:
		return []any{"INCRBYFLOAT", "s:float", fmt.Sprintf("%.6f", rng.NormFloat64()*100)}
	default:
		return []any{"SET", key(), fmt.Sprintf("x%d", rng.IntN(100)), "EX", 3600 + rng.IntN(100)}
	}
}

// TestRedisApplyStrings: a replikv replica following a redis-server
// master ends with exactly the master's values after the partial string
// commands, plain and in transactions.
func TestRedisApplyStrings(t *testing.T) {
	m := startRedis(t)
	ctx := context.Background()
	// Some of the keys exist before the sync, so the replica starts from
	// the master's values.
	for i, k := range bitsKeys[:5] {
		must(t, m.client.Set(ctx, k, fmt.Sprintf("seed-%d", i), 0).Err())
	}
	r := newStore(t, interopConfig())
	must(t, r.ReplicaOf(transport.TCP(m.addr())))
	waitSyncedFor(t, r, 60*time.Second)
	do := func(args ...any) {
		if err := m.client.Do(ctx, args...).Err(); err != nil && !errors.Is(err, redis.Nil) {
			t.Logf("%v: %v", args, err) // refused commands are part of the test
		}
	}
	for _, c := range bitsCommands() {
		do(c...)
	}
	compareWithRedis(t, m, r, "master_repl_offset")
	rng := rand.New(rand.NewPCG(11, 12))
	for range 400 {
		do(randomBitsCommand(rng)...)
	}
	for range 20 {
		_, err := m.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
			for range 3 {
				p.Do(ctx, randomBitsCommand(rng)...)
			}
			return nil
		})
		_ = err // a refused command inside does not stop the others
	}
	compareWithRedis(t, m, r, "master_repl_offset")
	if mi := r.Info().Master; mi.FailedCommands != 0 || mi.UnsupportedCommands != 0 {
		t.Errorf("%d commands failed, %d unsupported on the replica", mi.FailedCommands, mi.UnsupportedCommands)
	}
}

// storeBitsOp runs a random partial string write through the Store API.
func storeBitsOp(s *Store, rng *rand.Rand) error {
	key := func() string { return bitsKeys[rng.IntN(len(bitsKeys))] }
	var err error
	switch rng.IntN(6) {
	case 0:
		_, err = s.SetRange(key(), int64(rng.IntN(40)), fmt.Appendf(nil, "v%d", rng.IntN(1000)))
	case 1:
		_, err = s.SetBit(key(), int64(rng.IntN(300)), rng.IntN(2))
	case 2:
		op := BitOp(rng.IntN(4))
		if op == BitNot {
			_, err = s.BitOp(op, key(), key())
		} else {
			_, err = s.BitOp(op, key(), key(), key(), key())
		}
	case 3:
		var ops []BitFieldOp
		for range 1 + rng.IntN(3) {
			op := BitFieldOp{Op: BitFieldOpKind(rng.IntN(3)), Bits: 1 + rng.IntN(63), Offset: int64(rng.IntN(200)),
				Value: rng.Int64N(1<<20) - 1<<19, Overflow: BitFieldOverflow(rng.IntN(3))}
			if rng.IntN(2) == 0 {
				op.Signed, op.Bits = true, op.Bits+1
			}
			ops = append(ops, op)
		}
		_, err = s.BitField(key(), ops)
	case 4:
		_, err = s.IncrByFloat("s:float", rng.NormFloat64()*100)
	default:
		_, err = s.SetWithOptions(key(), fmt.Appendf(nil, "x%d", rng.IntN(100)), SetOptions{TTL: time.Hour})
	}
	if errors.Is(err, ErrNotFloat) {
		err = nil // s:float held something else
	}
	return err
}

// TestRedisFollowsOurBits: a redis-server replica of a replikv primary
// applies what the primary propagates for the partial string writes
// (BITFIELD and BITOP re-encoded, INCRBYFLOAT as SET … KEEPTTL) to the
// primary's values.
func TestRedisFollowsOurBits(t *testing.T) {
	p := newStore(t, interopConfig())
	for i, k := range bitsKeys {
		must(t, p.Set(k, fmt.Appendf(nil, "seed-%d", i)))
	}
	port := servePrimary(t, p, "127.0.0.1:0")
	s := startRedis(t, "--replicaof", "127.0.0.1", strconv.Itoa(port))
	poll(t, 60*time.Second, "the redis replica's link to be up", func() bool {
		return s.info(t, "replication")["master_link_status"] == "up"
	})
	rng := rand.New(rand.NewPCG(21, 22))
	for range 400 {
		must(t, storeBitsOp(p, rng))
	}
	// OVERFLOW FAIL growing a value: propagated here (Redis does not).
	_, err := p.BitField("s:grow", []BitFieldOp{{Op: BitFieldIncrBy, Bits: 2, Offset: 100, Value: 9, Overflow: OverflowFail}})
	must(t, err)
	compareWithRedis(t, s, p, "master_repl_offset")
}

// TestReplikvApplyStrings: replikv primary to replikv replica, through a
// full sync (a value BITFIELD made 8 bytes past MaxBulkLen included) and
// the stream.
func TestReplikvApplyStrings(t *testing.T) {
	tn := memNet{transport.NewMemNetwork()}
	cfg := fastConfig()
	cfg.MaxBulkLen = 4096
	p := node(t, tn, "p", cfg)
	rng := rand.New(rand.NewPCG(31, 32))
	for range 200 {
		must(t, storeBitsOp(p, rng))
	}
	_, err := p.BitField("s:edge", []BitFieldOp{{Op: BitFieldSet, Signed: true, Bits: 64, Offset: 4096*8 - 1, Value: -1}})
	must(t, err)
	r := node(t, tn, "r", cfg)
	must(t, r.ReplicaOf(tn.dialer("p")))
	waitSynced(t, r)
	for range 400 {
		must(t, storeBitsOp(p, rng))
	}
	must(t, p.Atomic(func(tx *Tx) error {
		if _, err := tx.SetBit("s:a", 5, 1); err != nil {
			return err
		}
		if _, err := tx.BitOp(BitXor, "s:dest", "s:a", "s:b"); err != nil {
			return err
		}
		_, err := tx.IncrByFloatText("s:txfloat", "0x1p-3")
		return err
	}))
	waitConverged(t, p, r)
	if v, _ := r.Get("s:edge"); len(v) != 4104 {
		t.Errorf("s:edge has %d bytes on the replica, want 4104", len(v))
	}
}

// TestRedisPropagatesLikeUs: the same partial string writes, sent to a
// redis-server master and made through the Store API, give the same
// stream commands — no-op writes included, which neither propagates —
// as read by a replikv replica of the master, whose stream is the
// master's bytes.
func TestRedisPropagatesLikeUs(t *testing.T) {
	m := startRedis(t)
	r := newStore(t, interopConfig())
	must(t, r.ReplicaOf(transport.TCP(m.addr())))
	waitSyncedFor(t, r, 60*time.Second)
	_, rstart := r.Position()
	rrec := record(t, r, rstart)
	p := newStore(t, Config{ActiveExpiryInterval: -1})
	_, pstart := p.Position()
	prec := record(t, p, pstart)

	ctx := context.Background()
	type step struct {
		redis []any
		api   func() error
	}
	bf := func(key string, ops ...BitFieldOp) func() error {
		return func() error { _, err := p.BitField(key, ops); return err }
	}
	steps := []step{
		{[]any{"SET", "a", "abc"}, func() error { return p.Set("a", []byte("abc")) }},
		{[]any{"SETRANGE", "none", "5", ""}, func() error { _, err := p.SetRange("none", 5, nil); return err }},
		{[]any{"SETRANGE", "a", "9", ""}, func() error { _, err := p.SetRange("a", 9, nil); return err }},
		{[]any{"SETRANGE", "a", "0", "a"}, func() error { _, err := p.SetRange("a", 0, []byte("a")); return err }},
		{[]any{"SETRANGE", "a", "5", "xy"}, func() error { _, err := p.SetRange("a", 5, []byte("xy")); return err }},
		{[]any{"SETBIT", "b", "7", "0"}, func() error { _, err := p.SetBit("b", 7, 0); return err }},
		{[]any{"SETBIT", "b", "7", "0"}, func() error { _, err := p.SetBit("b", 7, 0); return err }},
		{[]any{"SETBIT", "b", "7", "1"}, func() error { _, err := p.SetBit("b", 7, 1); return err }},
		{[]any{"SETBIT", "b", "7", "1"}, func() error { _, err := p.SetBit("b", 7, 1); return err }},
		{[]any{"SETBIT", "b", "20", "0"}, func() error { _, err := p.SetBit("b", 20, 0); return err }},
		{[]any{"BITOP", "AND", "d", "m1", "m2"}, func() error { _, err := p.BitOp(BitAnd, "d", "m1", "m2"); return err }},
		{[]any{"BITOP", "OR", "d", "a", "b"}, func() error { _, err := p.BitOp(BitOr, "d", "a", "b"); return err }},
		{[]any{"BITOP", "XOR", "d", "m1"}, func() error { _, err := p.BitOp(BitXor, "d", "m1"); return err }},
		{[]any{"BITOP", "NOT", "d", "m1"}, func() error { _, err := p.BitOp(BitNot, "d", "m1"); return err }},
		{[]any{"BITOP", "NOT", "d", "a"}, func() error { _, err := p.BitOp(BitNot, "d", "a"); return err }},
		{[]any{"BITFIELD", "f", "GET", "u8", "0"}, bf("f", BitFieldOp{Op: BitFieldGet, Bits: 8})},
		{[]any{"BITFIELD", "f", "SET", "u8", "0", "200", "GET", "i4", "4"},
			bf("f", BitFieldOp{Op: BitFieldSet, Bits: 8, Value: 200}, BitFieldOp{Op: BitFieldGet, Signed: true, Bits: 4, Offset: 4})},
		{[]any{"BITFIELD", "f", "SET", "u8", "0", "200"}, bf("f", BitFieldOp{Op: BitFieldSet, Bits: 8, Value: 200})},
		{[]any{"BITFIELD", "f", "INCRBY", "u8", "0", "0"}, bf("f", BitFieldOp{Op: BitFieldIncrBy, Bits: 8})},
		{[]any{"BITFIELD", "f", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "100"},
			bf("f", BitFieldOp{Op: BitFieldIncrBy, Bits: 8, Value: 100, Overflow: OverflowFail})},
		{[]any{"BITFIELD", "f", "OVERFLOW", "SAT", "INCRBY", "u8", "0", "100", "INCRBY", "i5", "30", "-100"},
			bf("f", BitFieldOp{Op: BitFieldIncrBy, Bits: 8, Value: 100, Overflow: OverflowSat},
				BitFieldOp{Op: BitFieldIncrBy, Signed: true, Bits: 5, Offset: 30, Value: -100, Overflow: OverflowSat})},
		{[]any{"INCRBYFLOAT", "n", "1.5"}, func() error { _, err := p.IncrByFloatText("n", "1.5"); return err }},
		{[]any{"INCRBYFLOAT", "n", "0.1"}, func() error { _, err := p.IncrByFloatText("n", "0.1"); return err }},
		{[]any{"INCRBYFLOAT", "n", "inf"}, func() error { p.IncrByFloatText("n", "inf"); return nil }},
		{[]any{"SET", "done", "1"}, func() error { return p.Set("done", []byte("1")) }},
	}
	for _, s := range steps {
		if err := m.client.Do(ctx, s.redis...).Err(); err != nil && !errors.Is(err, redis.Nil) && s.redis[1] != "n" {
			t.Fatalf("%v: %v", s.redis, err)
		}
		must(t, s.api())
	}
	poll(t, 30*time.Second, "the replica to reach the master's offset", func() bool {
		_, off := r.Position()
		return off == m.infoInt(t, "replication", "master_repl_offset")
	})
	strip := func(cmds [][]string) [][]string {
		var out [][]string
		for _, c := range cmds {
			if c[0] != "PING" && c[0] != "SELECT" {
				out = append(out, c)
			}
		}
		return out
	}
	_, rend := r.Position()
	_, pend := p.Position()
	want := strip(commands(t, rrec.bytesUntil(t, rend)))
	got := strip(commands(t, prec.bytesUntil(t, pend)))
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("stream commands (-redis +replikv):\n%s", d)
	}
	if len(want) != 14 {
		t.Errorf("Redis propagated %d commands, want 14: %q", len(want), want)
	}
	if d := cmp.Diff(m.dump(t), liveDump(r, time.Now().UnixMilli())); d != "" {
		t.Errorf("replica (-redis +replica):\n%s", d)
	}
	if d := cmp.Diff(dump(r), dump(p)); d != "" {
		t.Errorf("keyspaces (-redis +replikv):\n%s", d)
	}
}
