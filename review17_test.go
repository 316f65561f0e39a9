package replikv

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestReview17CorruptFileNotOverwrittenBySaveOnClose: New refuses a
// corrupt snapshot file and must leave it as it is, also with
// SaveOnClose: the Close that New calls on its failure must not save the
// empty store over the file it could not load.
func TestReview17CorruptFileNotOverwrittenBySaveOnClose(t *testing.T) {
	src := t.TempDir()
	s := newStore(t, persistConfig(src))
	fillPersist(t, s, "c", 50)
	must(t, s.Save(context.Background(), ""))
	good, err := os.ReadFile(filepath.Join(src, DefaultDBFilename))
	must(t, err)
	bad := good[:len(good)/2]

	dir := t.TempDir()
	path := filepath.Join(dir, DefaultDBFilename)
	must(t, os.WriteFile(path, bad, 0o644))
	cfg := persistConfig(dir)
	cfg.SaveOnClose = true
	s2, err := New(cfg)
	if err == nil {
		s2.Close()
		t.Fatal("New loaded a truncated file")
	}
	if !errors.Is(err, ErrCorruptSnapshot) {
		t.Fatalf("error %v: want ErrCorruptSnapshot", err)
	}
	after, err := os.ReadFile(path)
	must(t, err)
	if !bytes.Equal(after, bad) {
		t.Fatalf("the refused file was overwritten (%d bytes, was %d): SaveOnClose saved the empty store over it", len(after), len(bad))
	}
	assertNoTemp(t, dir)
}

// TestReview17TruncatedEveryByte: a small valid file truncated at every
// byte boundary is refused with ErrCorruptSnapshot naming the file, never
// a panic, the file untouched; a bit flip anywhere is caught too.
func TestReview17TruncatedEveryByte(t *testing.T) {
	src := t.TempDir()
	s := newStore(t, persistConfig(src))
	fillPersist(t, s, "t", 12)
	must(t, s.Save(context.Background(), ""))
	good, err := os.ReadFile(filepath.Join(src, DefaultDBFilename))
	must(t, err)
	dir := t.TempDir()
	path := filepath.Join(dir, DefaultDBFilename)
	try := func(what string, data []byte) {
		t.Helper()
		must(t, os.WriteFile(path, data, 0o644))
		s, err := New(persistConfig(dir))
		if err == nil {
			s.Close()
			t.Fatalf("%s: New loaded it", what)
		}
		if !errors.Is(err, ErrCorruptSnapshot) || !strings.Contains(err.Error(), path) {
			t.Fatalf("%s: error %v: want ErrCorruptSnapshot naming the file", what, err)
		}
		after, _ := os.ReadFile(path)
		if !bytes.Equal(after, data) {
			t.Fatalf("%s: file changed", what)
		}
	}
	for n := 0; n < len(good); n++ {
		try("truncated at "+itoa(int64(n)), good[:n])
	}
	for i := 9; i < len(good); i++ { // after the magic+version
		for _, bit := range []byte{0x01, 0x80} {
			b := bytes.Clone(good)
			b[i] ^= bit
			try("bit flip at "+itoa(int64(i)), b)
		}
	}
}


// TestReview17HugeLengthNoBigAlloc: a file declaring a 500 MB value and
// then ending must be refused without allocating anything near that.
func TestReview17HugeLengthNoBigAlloc(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, DefaultDBFilename)
	// REDIS0011, SELECTDB 0, string type, key "k", value length 500 MB (32-bit form), 3 bytes.
	data := []byte("REDIS0011\xfe\x00\x00\x01k\x80\x1d\xcd\x65\x00abc")
	must(t, os.WriteFile(path, data, 0o644))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s, err := New(persistConfig(dir))
	runtime.ReadMemStats(&after)
	if err == nil {
		s.Close()
		t.Fatal("New loaded a truncated file")
	}
	if d := after.TotalAlloc - before.TotalAlloc; d > 64<<20 {
		t.Fatalf("refusing a 19-byte file allocated %d MB", d>>20)
	}
}
