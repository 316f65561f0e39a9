package rdb

import (
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/replikv/replikv/internal/allocs"
)

// flipPositions returns the bit positions to flip in a payload of n bytes:
// all of them for small payloads; for big ones one bit of each of the
// first and last 64 bytes and a deterministic sample of samples positions
// in between.
func flipPositions(n, samples int) []int {
	if n <= 1024 {
		all := make([]int, 8*n)
		for i := range all {
			all[i] = i
		}
		return all
	}
	var pos []int
	for i := range 64 {
		pos = append(pos, 8*i+i%8, 8*(n-64+i)+i%8)
	}
	rng := rand.New(rand.NewPCG(uint64(n), 9))
	for range samples {
		pos = append(pos, 8*64+rng.IntN(8*(n-128)))
	}
	return pos
}

// TestBitFlips flips one bit at a time in every captured payload and checks
// that the result is always an error, never a clean io.EOF.
func TestBitFlips(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.rdb")
	for _, f := range files {
		// A few thousand positions in all for the two big datasets, most
		// of them in the replication payloads; the BGSAVE copies have the
		// same layout.
		samples := 800
		if strings.HasSuffix(f, ".bgsave.rdb") {
			samples = 100
		}
		if testing.Short() {
			samples /= 8
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, len(data))
		readEntries := reusedReader()
		for _, bit := range flipPositions(len(data), samples) {
			copy(buf, data)
			buf[bit/8] ^= 1 << (bit % 8)
			if _, _, err := readEntries(buf, ReaderOptions{SkipNonString: true}); err == nil {
				t.Errorf("%s: flipping bit %d of byte %d went unnoticed", f, bit%8, bit/8)
			}
		}
	}
}

// TestTruncation cuts every payload at every length (sampled for the big
// ones) and checks for an error wrapping io.ErrUnexpectedEOF.
func TestTruncation(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.rdb")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		step := 1
		if len(data) > 1024 {
			step = len(data)/300 + 1 // about 300 cuts for the big ones
		}
		readEntries := reusedReader()
		for n := 0; n < len(data); n += step {
			_, _, err := readEntries(data[:n], ReaderOptions{SkipNonString: true})
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("%s cut to %d bytes: got %v", f, n, err)
			}
		}
	}
}

// TestDeclaredLengthDoesNotAllocate checks that a short input declaring a
// huge string fails without allocating anything near that size.
func TestDeclaredLengthDoesNotAllocate(t *testing.T) {
	const huge = 400 << 20
	cases := map[string][]byte{
		"raw value":  newRDB(10).raw(typeString).s("k").raw(0x80).raw(byte(huge>>24), 0, 0, 0).raw(make([]byte, 80)...).b,
		"raw key":    newRDB(10).raw(typeString, 0x80, byte(huge>>24), 0, 0, 0).raw(make([]byte, 80)...).b,
		"aux value":  newRDB(10).raw(opAux).s("k").raw(0x80, byte(huge>>24), 0, 0, 0).raw(make([]byte, 80)...).b,
		"LZF data":   newRDB(10).raw(typeString).s("k").raw(0xC3, 0x80, byte(huge>>24), 0, 0, 0, 0x80, byte(huge>>24), 0, 0, 0).raw(make([]byte, 80)...).b,
		"LZF output": newRDB(10).raw(typeString).s("k").raw(0xC3, 0x50, 0, 0x80, byte(huge>>24), 0, 0, 0).raw(make([]byte, 80)...).b,
	}
	for name, data := range cases {
		var err error
		n := allocs.During(func() { _, _, err = readEntries(data, ReaderOptions{}) })
		if err == nil {
			t.Errorf("%s: no error", name)
		}
		if n > 1<<20 {
			t.Errorf("%s: allocated %d bytes for a %d-byte input (%v)", name, n, len(data), err)
		}
	}
}
