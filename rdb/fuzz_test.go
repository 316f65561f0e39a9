package rdb

import (
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// fuzzLimit is the MaxStringLen used while fuzzing.
const fuzzLimit = 1 << 12

// FuzzReader decodes arbitrary bytes in both modes. It must never panic,
// never hold a buffer much larger than the string limit, and report io.EOF
// only for a stream whose checksum is right.
func FuzzReader(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.rdb")
	for _, file := range files {
		if data, err := os.ReadFile(file); err == nil && len(data) < 2048 {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, skip := range []bool{false, true} {
			_, r, err := readEntries(data, ReaderOptions{MaxStringLen: fuzzLimit, SkipNonString: skip})
			if r == nil {
				continue
			}
			for _, b := range [][]byte{r.key, r.val, r.lzfBuf} {
				if cap(b) > 2*fuzzLimit+64 {
					t.Fatalf("buffer of %d bytes with a limit of %d", cap(b), fuzzLimit)
				}
			}
			if err != nil {
				if _, ok := err.(*Error); !ok {
					t.Fatalf("error %T is not an *Error: %v", err, err)
				}
				continue
			}
			// A clean end means a correct (or disabled) checksum.
			end := r.Offset()
			if end > int64(len(data)) {
				t.Fatalf("offset %d beyond the %d-byte input", end, len(data))
			}
			if r.Version() >= 5 {
				stored := binary.LittleEndian.Uint64(data[end-8 : end])
				if stored != 0 && stored != CRC64(0, data[:end-8]) {
					t.Fatalf("io.EOF with a wrong checksum")
				}
			}
		}
	})
}

// TestReaderNoAllocs checks that Next does not allocate per entry.
func TestReaderNoAllocs(t *testing.T) {
	b := newRDB(10)
	for range 2000 {
		b.key("some-key-0000001", "a value of some length, not compressed")
		b.raw(typeString).s("lzf").raw(0xC3, 6, 21, 1, 'a', 'a', 0xe0, 0x0a, 0)
		b.raw(typeString).raw(0xc2, 1, 2, 3, 4).s("int key")
	}
	data := b.end()
	r, err := NewReader(newBufioReader(&byteReader{data}, 4096), ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r.Next()
	if n := testing.AllocsPerRun(1000, func() {
		if _, err := r.Next(); err != nil && err != io.EOF {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("%v allocations per Next", n)
	}
}

type byteReader struct{ b []byte }

func (r *byteReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}
