package server

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/replikv/replikv"
)

// lines sends each line (arguments separated by spaces) to both servers
// and compares the replies.
func (d *differ) lines(lines ...string) {
	d.t.Helper()
	for _, l := range lines {
		var args []any
		for _, f := range strings.Fields(l) {
			args = append(args, f)
		}
		d.do(args...)
	}
}

func TestDiffSetGetRange(t *testing.T) {
	d := newDiffer(t)
	d.lines(
		"SET s Hello_World", "SETRANGE s 6 Redis", "GET s", "SETRANGE s 20 tail", "GET s", "STRLEN s",
		"SETRANGE fresh 5 x", "GET fresh", "STRLEN fresh", "SETRANGE fresh 0 abcdefghij", "GET fresh",
		"SETRANGE s -1 x", "SETRANGE s abc x", "SETRANGE s 1.5 x", "SETRANGE s 9223372036854775807 x",
		"SETRANGE s 9223372036854775808 x", "SETRANGE s 536870911 x1", "SETRANGE s 536870912 x",
		"SETRANGE nope 536870912 x", "SETRANGE s", "SETRANGE s 1", "SETRANGE s 1 x y",
		"SET n 12345", "SETRANGE n 1 x", "GET n", "SET t abc EX 100", "SETRANGE t 1 z", "TTL t", "GET t",
		"GETRANGE s 0 3", "GETRANGE s -3 -1", "GETRANGE s 0 -1", "GETRANGE s 10 100", "GETRANGE s 5 3",
		"GETRANGE s -1 -5", "GETRANGE s 0 -100", "GETRANGE s -100 2", "GETRANGE s 100 200", "GETRANGE nope 0 -1",
		"GETRANGE s -9223372036854775808 9223372036854775807", "GETRANGE s a 1", "GETRANGE s 1 b", "GETRANGE s 1",
		"SUBSTR s 0 4", "SUBSTR s -5 -1", "SUBSTR nope 0 1", "SUBSTR s x 1", "SUBSTR s 1",
		"STRLEN nope", "GETRANGE n 1 2",
	)
	// Empty values: nothing written, nothing created.
	d.do("SETRANGE empty 0", "")
	d.do("SETRANGE empty 100", "")
	d.do("EXISTS", "empty")
	d.do("SETRANGE s 1000", "")
	d.do("SET e", "")
	d.do("GETRANGE", "e", "0", "-1")
	d.do("SETRANGE", "e", "2", "\x00\xff")
	d.do("GET", "e")
	d.sameKeyspace()
}

func TestDiffBits(t *testing.T) {
	d := newDiffer(t)
	d.lines(
		"SETBIT b 7 1", "SETBIT b 7 1", "SETBIT b 7 0", "GET b", "SETBIT b 100 1", "STRLEN b", "GETBIT b 100",
		"GETBIT b 101", "GETBIT b 99999", "GETBIT nope 3", "SETBIT z 0 0", "GET z", "EXISTS z",
		"SETBIT b -1 1", "SETBIT b x 1", "SETBIT b 1 2", "SETBIT b 1 -1", "SETBIT b 1 x", "SETBIT b 4294967296 1",
		"SETBIT b 1.0 1", "SETBIT b +1 1", "GETBIT b -1", "GETBIT b 4294967296", "GETBIT b x", "GETBIT b",
		"SETBIT b 1", "SET t abc EX 100", "SETBIT t 30 1", "TTL t", "GET t",
		"SET foobar foobar", "BITCOUNT foobar", "BITCOUNT foobar 0 0", "BITCOUNT foobar 1 1", "BITCOUNT foobar 1 1 BYTE",
		"BITCOUNT foobar 5 30 BIT", "BITCOUNT foobar -1 -2", "BITCOUNT foobar -2 -1", "BITCOUNT foobar 0 -1 bit",
		"BITCOUNT foobar 1", "BITCOUNT foobar 1 2 3", "BITCOUNT foobar a 1", "BITCOUNT foobar 1 b",
		"BITCOUNT foobar 1 2 bits", "BITCOUNT foobar a b foo", "BITCOUNT foobar 0 1 byte extra",
		"BITCOUNT nope", "BITCOUNT nope a b", "BITCOUNT nope 1", "BITCOUNT nope 0 1 foo", "BITCOUNT",
		"BITCOUNT foobar -9223372036854775808 9223372036854775807", "BITCOUNT foobar -9223372036854775808 -1 BIT",
		"SET n 12345", "BITCOUNT n", "GETBIT n 2",
		"BITPOS foobar 1", "BITPOS foobar 0", "BITPOS foobar 1 2", "BITPOS foobar 0 2 -1", "BITPOS foobar 1 7 15 BIT",
		"BITPOS foobar 1 -1 -5", "BITPOS foobar 2", "BITPOS foobar x", "BITPOS foobar 1 x", "BITPOS foobar 1 0 x",
		"BITPOS foobar 1 0 1 foo", "BITPOS foobar 1 0 x foo", "BITPOS foobar 1 0 1 bit extra", "BITPOS nope 1",
		"BITPOS nope 0", "BITPOS nope 1 x", "BITPOS nope 2", "BITPOS nope 0 1 2 foo", "BITPOS foobar",
		"BITPOS foobar 0 -9223372036854775808 9223372036854775807 BIT",
	)
	for _, v := range []string{"\xff\xf0\x00", "\x00\xff\xf0", "\x00\x00\x00", "\xff\xff\xff", "", "\xff", "\x00"} {
		d.do("SET", "v", v)
		for _, a := range [][]any{{0}, {1}, {0, 0}, {1, 1}, {0, 2}, {0, 0, -1}, {1, 2, -1, "BYTE"}, {0, 7, 15, "BIT"},
			{1, 7, 15, "BIT"}, {0, 0, -1, "BIT"}, {1, -3, -1, "bit"}} {
			d.do(append([]any{"BITPOS", "v"}, a...)...)
		}
		d.do("BITCOUNT", "v")
		d.do("BITCOUNT", "v", 0, -1, "BIT")
	}
	// Random values and ranges, bytes and bits.
	rng := rand.New(rand.NewPCG(7, 12))
	for range 300 {
		v := make([]byte, rng.IntN(20))
		for i := range v {
			switch rng.IntN(3) {
			case 0:
				v[i] = 0
			case 1:
				v[i] = 0xff
			default:
				v[i] = byte(rng.Uint32())
			}
		}
		d.do("SET", "r", string(v))
		start, end := rng.IntN(200)-100, rng.IntN(200)-100
		unit := []string{"BYTE", "BIT"}[rng.IntN(2)]
		d.do("BITCOUNT", "r", start, end, unit)
		d.do("BITPOS", "r", rng.IntN(2), start, end, unit)
		d.do("BITPOS", "r", rng.IntN(2), start)
		d.do("BITPOS", "r", rng.IntN(2), start, end)
		d.do("GETRANGE", "r", start, end)
		d.do("GETBIT", "r", rng.IntN(200))
		d.do("SETBIT", "r", rng.IntN(200), rng.IntN(2))
		d.do("GET", "r")
	}
	d.sameKeyspace()
}

// TestDiffBitsHuge: SETBIT at the last bit proto-max-bulk-len allows
// (a 512 MiB value on both servers, once), and just past it. Creating
// the value takes seconds on a slow machine (Redis zeroes the 512 MiB), so
// this test waits longer for replies than the differ does.
func TestDiffBitsHuge(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 512 MiB on both servers")
	}
	d := newDiffer(t)
	slow := func(c *redis.Client) *redis.Client {
		o := *c.Options()
		o.ReadTimeout, o.WriteTimeout = 2*time.Minute, 2*time.Minute
		n := redis.NewClient(&o)
		t.Cleanup(func() { n.Close() })
		return n
	}
	r, kv := slow(d.redis), slow(d.kv)
	for _, l := range []string{"SETBIT huge 4294967295 1", "GETBIT huge 4294967295", "GETBIT huge 4294967294",
		"SETBIT huge 4294967296 1", "SETBIT other 4294967296 1", "SETRANGE other 536870912 x", "GETRANGE huge -1 -1",
		"BITFIELD huge GET u8 #536870911", "BITFIELD other GET u8 #536870912", "BITFIELD other GET u8 4294967296",
		"DEL huge", "EXISTS huge other"} {
		var args []any
		for _, f := range strings.Fields(l) {
			args = append(args, f)
		}
		c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		want, werr := r.Do(c, args...).Result()
		got, gerr := kv.Do(c, args...).Result()
		cancel()
		if fmt.Sprint(want, werr) != fmt.Sprint(got, gerr) {
			t.Errorf("%s: redis %v %v, replikv %v %v", l, want, werr, got, gerr)
		}
	}
	d.sameKeyspace()
}

func TestDiffBitOp(t *testing.T) {
	d := newDiffer(t)
	d.lines(
		"SET a foobar", "SET b abcdef", "SET c xy", "BITOP AND dest a b", "GET dest", "BITOP OR dest a c", "GET dest",
		"BITOP XOR dest a b c", "GET dest", "BITOP NOT dest c", "GET dest", "BITOP and dest a nope", "GET dest",
		"BITOP or dest nope1 nope2", "EXISTS dest", "BITOP or dest2 nope1", "EXISTS dest2", "BITOP NOT dest a b",
		"BITOP NOT dest", "BITOP FOO dest a", "BITOP dest a", "BITOP AND dest", "BITOP DIFF dest a b",
		"SET t v EX 100", "BITOP OR t a", "TTL t", "GET t", "BITOP AND a a a", "GET a", "BITOP XOR a a", "GET a",
		"SET e ''", "BITOP OR x e", "SET e2 v", "BITOP NOT e2 nope", "EXISTS e2",
	)
	d.do("SET", "empty", "")
	d.do("BITOP", "OR", "dd", "empty")
	d.do("EXISTS", "dd")
	d.sameKeyspace()
}

func TestDiffBitField(t *testing.T) {
	d := newDiffer(t)
	d.lines(
		"BITFIELD bf SET i5 100 1 GET u4 0", "GET bf", "BITFIELD bf INCRBY u2 100 1 OVERFLOW SAT INCRBY u2 102 1",
		"BITFIELD bf OVERFLOW FAIL INCRBY u2 100 5", "BITFIELD bf OVERFLOW WRAP INCRBY u2 100 5",
		"BITFIELD bf SET i64 0 -1 GET i64 0 GET u63 0 GET u63 1", "BITFIELD bf GET u8 #2 GET i8 #3 SET u8 #1 255",
		"BITFIELD bf INCRBY i8 0 200 OVERFLOW SAT INCRBY i8 0 -300 INCRBY i8 0 1000", "GET bf",
		"BITFIELD bf SET i64 0 9223372036854775807 OVERFLOW SAT INCRBY i64 0 1 OVERFLOW WRAP INCRBY i64 0 1",
		"BITFIELD bf SET u63 0 9223372036854775807 INCRBY u63 0 1 OVERFLOW FAIL INCRBY u63 0 -9223372036854775808",
		"BITFIELD bf", "BITFIELD nope GET u8 0", "EXISTS nope", "BITFIELD nope", "EXISTS nope",
		"BITFIELD bf GET u64 0", "BITFIELD bf GET i65 0", "BITFIELD bf GET u0 0", "BITFIELD bf GET x8 0",
		"BITFIELD bf GET u8", "BITFIELD bf OVERFLOW foo", "BITFIELD bf OVERFLOW", "BITFIELD bf FOO",
		"BITFIELD bf SET u8 0 x", "BITFIELD bf SET u8 -1 1", "BITFIELD bf SET u8 #-1 1", "BITFIELD bf SET u8 0",
		"BITFIELD bf GET u8 4294967296", "BITFIELD bf GET u8 #536870912", "BITFIELD bf GET u8 #2305843009213693953",
		"BITFIELD bf GET i08 0", "BITFIELD bf GET u8 00", "BITFIELD bf get U8 0", "BITFIELD bf Get u8 0",
		"BITFIELD_RO bf GET u8 0 GET i4 3", "BITFIELD_RO bf SET u8 0 1", "BITFIELD_RO bf GET u8 0 SET u8 0 1 GET i99 0",
		"BITFIELD_RO nope GET u8 0", "BITFIELD_RO bf", "BITFIELD_RO bf INCRBY u8 0 1",
		"SET t abc EX 100", "BITFIELD t SET u8 16 65", "TTL t", "GET t", "BITFIELD t SET u8 16 65",
		"SET same ab", "BITFIELD same SET u8 0 97 INCRBY u8 8 0", "GET same",
		"BITFIELD", "BITFIELD_RO",
	)
	// Random operations.
	rng := rand.New(rand.NewPCG(3, 4))
	for range 300 {
		args := []any{"BITFIELD", "r"}
		for range 1 + rng.IntN(4) {
			if rng.IntN(4) == 0 {
				args = append(args, "OVERFLOW", []string{"WRAP", "SAT", "FAIL"}[rng.IntN(3)])
			}
			sign := "iu"[rng.IntN(2)]
			bits := 1 + rng.IntN(63)
			if sign == 'i' {
				bits = 1 + rng.IntN(64)
			}
			typ := fmt.Sprintf("%c%d", sign, bits)
			off := strconv.Itoa(rng.IntN(100))
			if rng.IntN(4) == 0 {
				off = "#" + strconv.Itoa(rng.IntN(5))
			}
			val := rng.Int64N(1<<uint(min(bits+1, 62))) - 1<<uint(min(bits, 61))
			if rng.IntN(8) == 0 {
				val = []int64{math.MaxInt64, math.MinInt64, -1, 1}[rng.IntN(4)]
			}
			switch rng.IntN(3) {
			case 0:
				args = append(args, "GET", typ, off)
			case 1:
				args = append(args, "SET", typ, off, val)
			default:
				args = append(args, "INCRBY", typ, off, val)
			}
		}
		d.do(args...)
		if rng.IntN(10) == 0 {
			d.do("GET", "r")
		}
	}
	d.do("GET", "r")
	d.sameKeyspace()
}

// TestDiffBitFieldFailGrows: OVERFLOW FAIL on a missing key, or past the
// end of a value, still grows it (Redis creates the key), on both.
func TestDiffBitFieldFailGrows(t *testing.T) {
	d := newDiffer(t)
	d.lines("BITFIELD g OVERFLOW FAIL INCRBY u2 0 10", "EXISTS g", "GET g", "SET h ab",
		"BITFIELD h OVERFLOW FAIL INCRBY u2 100 10", "STRLEN h")
	d.sameKeyspace()
}

func TestDiffLCS(t *testing.T) {
	d := newDiffer(t)
	d.lines(
		"MSET key1 ohmytext key2 mynewtext", "LCS key1 key2", "LCS key1 key2 LEN", "LCS key1 key2 IDX",
		"LCS key1 key2 IDX MINMATCHLEN 4", "LCS key1 key2 IDX MINMATCHLEN 4 WITHMATCHLEN", "LCS key1 key2 idx withmatchlen",
		"LCS key1 key2 IDX MINMATCHLEN -5", "LCS key1 key2 MINMATCHLEN 2", "LCS key1 key2 LEN IDX", "LCS key1 key2 IDX LEN",
		"LCS key1 key2 MINMATCHLEN", "LCS key1 key2 MINMATCHLEN x", "LCS key1 key2 FOO", "LCS key1 key2 LEN LEN",
		"LCS key1 nope", "LCS nope nope2", "LCS nope key2 IDX", "LCS key1", "LCS key1 key1 IDX WITHMATCHLEN",
		"SET n 12345", "LCS n key1", "LCS n n LEN",
	)
	rng := rand.New(rand.NewPCG(5, 6))
	for range 100 {
		a, b := randWord(rng, 30), randWord(rng, 30)
		d.do("MSET", "a", a, "b", b)
		d.do("LCS", "a", "b")
		d.do("LCS", "a", "b", "IDX", "WITHMATCHLEN", "MINMATCHLEN", rng.IntN(3))
		d.do("LCS", "b", "a", "LEN")
	}
	// The table limit: 12,000-byte values need 576 MB of table.
	d.do("SET", "la", strings.Repeat("a", 12000))
	d.do("SET", "lb", strings.Repeat("b", 12000))
	d.do("LCS", "la", "lb", "LEN")
	d.do("LCS", "la", "lb")
	d.do("DEL", "la", "lb")
	d.sameKeyspace()
}

func randWord(rng *rand.Rand, n int) string {
	b := make([]byte, rng.IntN(n))
	for i := range b {
		b[i] = "abcd"[rng.IntN(4)]
	}
	return string(b)
}

func TestDiffIncrByFloat(t *testing.T) {
	d := newDiffer(t)
	d.lines(
		"INCRBYFLOAT f 10.5", "INCRBYFLOAT f 0.1", "INCRBYFLOAT f -5.0e3", "INCRBYFLOAT f 5.0e3", "GET f",
		"SET f 5.0e3", "INCRBYFLOAT f 2.0e2", "INCRBYFLOAT f abc", "INCRBYFLOAT f inf", "INCRBYFLOAT f -inf",
		"INCRBYFLOAT f nan", "INCRBYFLOAT f 1e4933", "INCRBYFLOAT f 1e-5000", "INCRBYFLOAT f", "INCRBYFLOAT f 1 2",
		"SET g abc", "INCRBYFLOAT g 1", "SET g inf", "INCRBYFLOAT g 1", "SET g 1e308", "INCRBYFLOAT g 1e308",
		"INCRBYFLOAT g 1e308", "GET g", "SET g 1e4932", "INCRBYFLOAT g 1e4932", "INCRBYFLOAT g -1e4932",
		"SET t 1 EX 100", "INCRBYFLOAT t 1.5", "TTL t", "GET t",
		"SET h 0x10", "INCRBYFLOAT h 0x1p-3", "INCRBYFLOAT h 1e-20", "INCRBYFLOAT h -16.125",
	)
	// 1e308 ten times: past float64, well within the long double.
	for range 10 {
		d.do("INCRBYFLOAT", "big", "1e308")
	}
	d.do("INCRBYFLOAT", "big", "-1e308")
	values := []string{"0.1", "0.2", "0.3", "1e-17", "5e-18", "1.5e-17", "2.5e-17", "0.000003814697265625", "-0",
		"+0.0e-5", "3.0e3", "1.7976931348623157e308", "1e4931", "-1e4931", "1.18973149535723176502e+4932",
		"1.18973149535723176508e+4932", "3.6e-4951", "3e-4951", "1.9e-4951", "1.8e-4951", "0x1p-16445", "0x1p-16446",
		"0x1.8p-16446", "0x1.0000000000000001p0", "0x1.00000000000000008p0", "0x1.00000000000000018p0",
		"123456789012345678901234567890", "9007199254740993", "18446744073709551615", "36893488147419103233",
		" 1", "1 ", "+1", ".5", "5.", ".", "1e", "1e+", "0x", "0x.p1", "INFINITY", "-Infinity", "infin", "--1",
		"1.2e4932", "99999999999999999999999999999999.99999999999999999999"}
	for _, v := range values {
		d.do("DEL", "x")
		d.do("INCRBYFLOAT", "x", v)
		d.do("SET", "y", v)
		d.do("INCRBYFLOAT", "y", "1.25")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 300 {
		var a, b string
		switch rng.IntN(4) {
		case 0:
			a = strconv.FormatFloat(rng.NormFloat64()*1e6, 'g', -1, 64)
			b = strconv.FormatFloat(rng.NormFloat64(), 'g', -1, 64)
		case 1:
			a = fmt.Sprintf("%.25e", rng.Float64()*10)
			b = fmt.Sprintf("%de%d", rng.Int64N(1e18), rng.IntN(600)-300)
		case 2:
			a = fmt.Sprintf("%de%d", rng.Int64N(1e9), rng.IntN(9000)-4500)
			b = fmt.Sprintf("%de%d", rng.Int64N(1e9), rng.IntN(9000)-4500)
		default:
			a = fmt.Sprintf("0.%d", rng.Int64N(1e18))
			b = fmt.Sprintf("-0.%d", rng.Int64N(1e18))
		}
		d.do("SET", "r", a)
		d.do("INCRBYFLOAT", "r", b)
	}
	d.sameKeyspace()
}

// TestDiffBinaryArgs: NUL bytes in options and numbers, as Redis reads
// them (strcasecmp stops at a NUL; numbers must be whole).
func TestDiffBinaryArgs(t *testing.T) {
	d := newDiffer(t)
	d.do("SET", "k", "foobar")
	for _, args := range [][]any{
		{"BITCOUNT", "k", "0", "-1", "BIT\x00x"}, {"BITPOS", "k", "1", "0", "-1", "byte\x00"}, {"BITOP", "and\x00", "d", "k"},
		{"BITFIELD", "k", "GET\x00", "u8", "0"}, {"BITFIELD", "k", "GET", "u8\x00", "0"}, {"BITFIELD", "k", "GET", "u\x008", "0"},
		{"BITFIELD", "k", "OVERFLOW", "sat\x00x", "INCRBY", "u8", "0", "1"}, {"LCS", "k", "k", "LEN\x00"},
		{"SETBIT", "k", "1\x00", "1"}, {"GETBIT", "k", "\x001"}, {"SETRANGE", "k", "1\x00", "x"}, {"INCRBYFLOAT", "n", "1\x00"},
		{"INCRBYFLOAT", "n", "\x00"}, {"GETRANGE", "k", "0\x00", "1"}, {"BITFIELD", "k", "GET", "u8", "#\x001"},
	} {
		d.do(args...)
	}
	d.sameKeyspace()
}

// TestDiffBitsInMulti: the same commands inside MULTI/EXEC, where they
// run on the transaction.
func TestDiffBitsInMulti(t *testing.T) {
	d := newDiffer(t)
	d.lines("MULTI", "SETRANGE m 3 abc", "SETBIT m 0 1", "BITFIELD m INCRBY u8 8 7 GET u8 8", "BITFIELD_RO m GET i8 0",
		"GETRANGE m 0 -1", "GETBIT m 0", "BITCOUNT m", "BITPOS m 1 1", "BITOP NOT n m", "LCS m n IDX", "INCRBYFLOAT f 1.5",
		"SETBIT m -1 1", "EXEC", "GET m", "GET n")
	d.sameKeyspace()
}

// TestBitsCommandInfo: arity, flags and key positions as Redis 7.0 lists
// them (COMMAND INFO; Redis's ACL categories and key specs aside).
func TestBitsCommandInfo(t *testing.T) {
	c := startNode(t, replikv.Config{}, Config{}).raw(t)
	for name, want := range map[string]string{
		"setrange":    `[["setrange", :4, [+write, +denyoom], :1, :1, :1, [], [], [], []]]`,
		"getrange":    `[["getrange", :4, [+readonly], :1, :1, :1, [], [], [], []]]`,
		"substr":      `[["substr", :4, [+readonly], :1, :1, :1, [], [], [], []]]`,
		"setbit":      `[["setbit", :4, [+write, +denyoom], :1, :1, :1, [], [], [], []]]`,
		"getbit":      `[["getbit", :3, [+readonly, +fast], :1, :1, :1, [], [], [], []]]`,
		"bitcount":    `[["bitcount", :-2, [+readonly], :1, :1, :1, [], [], [], []]]`,
		"bitpos":      `[["bitpos", :-3, [+readonly], :1, :1, :1, [], [], [], []]]`,
		"bitop":       `[["bitop", :-4, [+write, +denyoom], :2, :-1, :1, [], [], [], []]]`,
		"bitfield":    `[["bitfield", :-2, [+write, +denyoom], :1, :1, :1, [], [], [], []]]`,
		"bitfield_ro": `[["bitfield_ro", :-2, [+readonly, +fast], :1, :1, :1, [], [], [], []]]`,
		"lcs":         `[["lcs", :-3, [+readonly], :1, :2, :1, [], [], [], []]]`,
		"incrbyfloat": `[["incrbyfloat", :3, [+write, +denyoom, +fast], :1, :1, :1, [], [], [], []]]`,
	} {
		if got := c.do("COMMAND", "INFO", name); got != want {
			t.Errorf("COMMAND INFO %s = %s, want %s", name, got, want)
		}
	}
}
