package lzf

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
)

// redisSamples are LZF strings copied from b_strings.rdb, which a real
// redis-server 7.0.15 wrote (see testdata/README in the rdb package).
var redisSamples = []struct {
	name  string
	plain string
	comp  string // hex
}{
	{"lzf_short_21", strings.Repeat("a", 21), "016161e00a00"},
	{"len63", strings.Repeat("x", 63), "017878e03200017878"},
	{"len64", strings.Repeat("y", 64), "017979e03300017979"},
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// redis100k returns the compressed bytes Redis stored for "abcdefghij"
// repeated 10240 times (see testdata/README.md).
func redis100k(t testing.TB) (plain, comp []byte) {
	t.Helper()
	comp, err := os.ReadFile("testdata/redis_lzf_100k.bin")
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Repeat([]byte("abcdefghij"), 10240), comp
}

func TestDecompressRedisSamples(t *testing.T) {
	for _, s := range redisSamples {
		got, err := Decompress(nil, mustHex(t, s.comp), len(s.plain))
		if err != nil || string(got) != s.plain {
			t.Errorf("%s: got %q, %v", s.name, got, err)
		}
	}
	plain, comp := redis100k(t)
	got, err := Decompress([]byte("prefix"), comp, len(plain))
	if err != nil || !bytes.Equal(got[6:], plain) || string(got[:6]) != "prefix" {
		t.Fatalf("100k: err %v, len %d", err, len(got))
	}
}

func TestCompressMatchesRedis(t *testing.T) {
	var c Compressor
	for _, s := range redisSamples {
		got := c.Compress(nil, []byte(s.plain), len(s.plain)-4)
		if hex.EncodeToString(got) != s.comp {
			t.Errorf("%s: got %x, Redis wrote %s", s.name, got, s.comp)
		}
	}
	plain, comp := redis100k(t)
	got := c.Compress(nil, plain, len(plain)-4)
	if !bytes.Equal(got, comp) {
		t.Fatalf("100k: got %d bytes, Redis wrote %d; first difference at %d", len(got), len(comp), firstDiff(got, comp))
	}
	// The same result from a Compressor that has compressed other data.
	for range 3 {
		c.Compress(nil, bytes.Repeat([]byte("zzabcdefghijzz"), 100), 1<<20)
		if got := c.Compress(nil, plain, len(plain)-4); !bytes.Equal(got, comp) {
			t.Fatal("reused Compressor gave a different result")
		}
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// testInputs gives a spread of inputs: runs, text, random, mixed, and
// lengths around the literal-run and match-length boundaries.
func testInputs() [][]byte {
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	var in [][]byte
	for _, n := range []int{1, 2, 3, 4, 5, 8, 9, 16, 17, 18, 19, 20, 21, 31, 32, 33, 63, 64, 65, 263, 264, 265, 266, 267, 8191, 8192, 8193, 9000} {
		in = append(in, bytes.Repeat([]byte{'a'}, n), random(n))
		in = append(in, bytes.Repeat([]byte("abc"), n)[:n])
	}
	text := []byte(strings.Repeat("the quick brown fox jumps over the lazy dog; ", 400))
	in = append(in, text, append(random(500), text...), append(text[:1000:1000], random(20000)...))
	// Repeats farther apart than the 8 KiB window, and just inside it.
	r := random(9000)
	in = append(in, append(append([]byte{}, r...), r...), append(append([]byte{}, r[:8000]...), r[:8000]...))
	// Small alphabets give many short matches.
	for _, k := range []int{2, 4, 16} {
		b := make([]byte, 5000)
		for i := range b {
			b[i] = byte(rng.IntN(k))
		}
		in = append(in, b)
	}
	return in
}

func TestRoundTrip(t *testing.T) {
	var c Compressor
	for i, src := range testInputs() {
		worst := len(src) + (len(src)+31)/32
		comp := c.Compress([]byte{0xEE}, src, worst)
		if comp == nil {
			t.Fatalf("input %d (len %d): nil with a limit of the worst case %d", i, len(src), worst)
		}
		if comp[0] != 0xEE {
			t.Fatalf("input %d: dst prefix overwritten", i)
		}
		comp = comp[1:]
		if len(comp) > worst {
			t.Fatalf("input %d: %d bytes exceeds the worst case %d", i, len(comp), worst)
		}
		got, err := Decompress(nil, comp, len(src))
		if err != nil || !bytes.Equal(got, src) {
			t.Fatalf("input %d (len %d): round trip failed: %v", i, len(src), err)
		}
		// Every limit below the compressed size refuses, every limit at or
		// above it gives the same bytes.
		for _, lim := range []int{len(comp) - 2, len(comp) - 1, len(comp), len(comp) + 1} {
			out := c.Compress(nil, src, lim)
			switch {
			case lim < len(comp) && out != nil:
				t.Fatalf("input %d: limit %d < %d gave %d bytes", i, lim, len(comp), len(out))
			case lim >= len(comp) && !bytes.Equal(out, comp):
				t.Fatalf("input %d: limit %d gave a different result (%d bytes)", i, lim, len(out))
			}
		}
	}
}

func TestCompressEdgeCases(t *testing.T) {
	if Compress(nil, nil, 10) != nil {
		t.Error("empty input should give nil")
	}
	if Compress(nil, []byte("abc"), 0) != nil {
		t.Error("zero limit should give nil")
	}
	// Incompressible input never fits in len-4.
	src := make([]byte, 64)
	for i := range src {
		src[i] = byte(i * 37)
	}
	if out := Compress(nil, src, len(src)-4); out != nil {
		t.Errorf("incompressible input compressed to %d bytes", len(out))
	}
	// dst with spare capacity is used in place.
	dst := make([]byte, 2, 1000)
	out := Compress(dst, bytes.Repeat([]byte("ab"), 100), 100)
	if &out[0] != &dst[0] {
		t.Error("Compress reallocated although dst had room")
	}
}

func TestCompressorBaseWraps(t *testing.T) {
	var c Compressor
	c.base = 1<<32 - 50 // force the generation counter to wrap
	src := bytes.Repeat([]byte("hello world "), 10)
	for range 3 {
		out := c.Compress(nil, src, len(src))
		got, err := Decompress(nil, out, len(src))
		if err != nil || !bytes.Equal(got, src) {
			t.Fatalf("after wrap: %v", err)
		}
	}
}

func TestDecompressErrors(t *testing.T) {
	cases := []struct {
		name   string
		src    string // hex
		outLen int
		want   string
	}{
		{"truncated literal", "0461", 5, "truncated"},
		{"literal overflows", "0161616161", 1, "overflows"},
		{"truncated long ref length", "0061e0", 5, "truncated"},
		{"truncated ref offset", "006120", 5, "truncated"},
		{"ref before start", "00612001", 4, "before the start"},
		{"ref at empty output", "2000", 3, "before the start"},
		{"ref overflows", "00612000", 2, "overflows"},
		{"short output", "0061", 2, "produced 1 bytes"},
		{"empty input, nonzero length", "", 1, "produced 0 bytes"},
		{"negative length", "0061", -1, "negative"},
	}
	for _, c := range cases {
		got, err := Decompress(nil, mustHex(t, c.src), c.outLen)
		if err == nil || !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), c.want) || got != nil {
			t.Errorf("%s: got %q, %v; want error containing %q", c.name, got, err, c.want)
		}
	}
	if got, err := Decompress(nil, nil, 0); err != nil || len(got) != 0 {
		t.Errorf("empty: %q, %v", got, err)
	}
}

func TestDecompressAllocatesOnlyOutLen(t *testing.T) {
	comp := Compress(nil, bytes.Repeat([]byte("x"), 1000), 1000)
	allocs := testing.AllocsPerRun(20, func() {
		out, err := Decompress(nil, comp, 1000)
		if err != nil || cap(out) != 1000 {
			t.Fatalf("cap %d, %v", cap(out), err)
		}
	})
	if allocs != 1 {
		t.Errorf("%v allocations, want 1", allocs)
	}
	buf := make([]byte, 0, 1000)
	if a := testing.AllocsPerRun(20, func() { Decompress(buf, comp, 1000) }); a != 0 {
		t.Errorf("%v allocations with room in dst, want 0", a)
	}
}
