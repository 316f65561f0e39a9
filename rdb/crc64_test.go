package rdb

import (
	"encoding/binary"
	"hash/crc64"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

func TestCRC64CheckValue(t *testing.T) {
	if got := CRC64(0, []byte("123456789")); got != 0xe9c6d914c4b8d9ca {
		t.Fatalf("CRC64(123456789) = %#x, want 0xe9c6d914c4b8d9ca", got)
	}
	if got := CRC64(0, nil); got != 0 {
		t.Fatalf("CRC64 of nothing = %#x", got)
	}
}

// TestCRC64MatchesReference compares the slicing implementation with the
// standard library (with its inversions undone) at every length up to 300
// and at every split point, so both the 16-byte loop and the tail are covered.
func TestCRC64MatchesReference(t *testing.T) {
	tab := crc64.MakeTable(crcPoly)
	ref := func(p []byte) uint64 { return ^crc64.Update(^uint64(0), tab, p) }
	rng := rand.New(rand.NewPCG(3, 4))
	buf := make([]byte, 300)
	for i := range buf {
		buf[i] = byte(rng.Uint32())
	}
	for n := range len(buf) + 1 {
		want := ref(buf[:n])
		if got := CRC64(0, buf[:n]); got != want {
			t.Fatalf("len %d: %#x, want %#x", n, got, want)
		}
		if n%7 == 0 {
			for split := 0; split <= n; split++ {
				if got := CRC64(CRC64(0, buf[:split]), buf[split:n]); got != want {
					t.Fatalf("len %d split %d: %#x, want %#x", n, split, got, want)
				}
			}
		}
	}
}

// TestCRC64Vectors checks the trailer of every captured Redis payload.
func TestCRC64Vectors(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.rdb")
	if len(files) < 17 {
		t.Fatalf("found %d vectors, want 17", len(files))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		body, sum := b[:len(b)-8], binary.LittleEndian.Uint64(b[len(b)-8:])
		if got := CRC64(0, body); got != sum {
			t.Errorf("%s: CRC64 %#x, file says %#x", f, got, sum)
		}
	}
}
