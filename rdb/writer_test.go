package rdb

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestStringEncodings checks the encoding chosen for strings at every
// integer boundary and around the compression threshold, against the
// forms Redis uses (redis-wire.md 9.4).
func TestStringEncodings(t *testing.T) {
	cases := map[string]string{
		"":            "00",
		"0":           "c000",
		"-0":          "022d30",
		"007":         "03303037",
		"+5":          "022b35",
		"-":           "012d",
		"1 ":          "023120",
		"127":         "c07f",
		"-128":        "c080",
		"128":         "c18000",
		"-129":        "c17fff",
		"32767":       "c1ff7f",
		"-32768":      "c10080",
		"32768":       "c200800000",
		"-32769":      "c2ff7fffff",
		"2147483647":  "c2ffffff7f",
		"-2147483648": "c200000080",
		"2147483648":  "0a" + hex.EncodeToString([]byte("2147483648")),
		"-2147483649": "0b" + hex.EncodeToString([]byte("-2147483649")),
		"12345678901": "0b" + hex.EncodeToString([]byte("12345678901")),
		// Compression only above 20 bytes, only when it saves 4.
		strings.Repeat("a", 20): "14" + strings.Repeat("61", 20),
		strings.Repeat("a", 21): "c3061501" + "6161e00a00",
		"abcdefghijklmnopqrstu": "15" + hex.EncodeToString([]byte("abcdefghijklmnopqrstu")),
	}
	for s, want := range cases {
		var w Writer
		w.appendString([]byte(s))
		if got := hex.EncodeToString(w.buf); got != want {
			t.Errorf("%q: encoded %s, want %s", s, got, want)
		}
		// And the reader gives the string back.
		data := newRDB(9).raw(typeString).s("k").raw(w.buf...).end()
		got, _, err := readEntries(data, ReaderOptions{})
		if err != nil || len(got) != 1 || got[0].Value != s {
			t.Errorf("%q: read back %v, %v", s, got, err)
		}
	}
	var w Writer
	w.opt.NoCompression = true
	w.appendString([]byte(strings.Repeat("a", 21)))
	if w.buf[0] != 21 {
		t.Errorf("NoCompression: %x", w.buf)
	}
}

func TestLengthEncodings(t *testing.T) {
	for n, want := range map[uint64]string{
		0: "00", 63: "3f", 64: "4040", 16383: "7fff", 16384: "8000004000",
		1<<32 - 1: "80ffffffff", 1 << 32: "810000000100000000",
	} {
		b := appendLen(nil, n)
		if hex.EncodeToString(b) != want {
			t.Errorf("appendLen(%d) = %x, want %s", n, b, want)
		}
		r, err := NewReader(bytes.NewReader(append([]byte("REDIS0009"), b...)), ReaderOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := r.readLen(); got != n || err != nil {
			t.Errorf("readLen(%x) = %d, %v", b, got, err)
		}
	}
}

// roundTripEntries builds a varied data set: several databases, binary and
// empty keys and values, integers at every encoding boundary, 1 MiB values
// (compressible and not), and expiries.
func roundTripEntries() []entryOf {
	rng := rand.New(rand.NewPCG(11, 12))
	random := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return string(b)
	}
	special := []string{"", "0", "-0", "007", "+5", "-1", "-129", "-128", "127", "128", "-32769", "-32768",
		"32767", "32768", "2147483647", "2147483648", "-2147483648", "-2147483649", "9223372036854775807",
		"\x00", "\xff\xfe", strings.Repeat("a", 20), strings.Repeat("a", 21), strings.Repeat("ab", 5000)}
	var out []entryOf
	for db := range []int{0, 1, 15} {
		for i, s := range special {
			out = append(out, entryOf{DB: db, Key: s + "/" + strconv.Itoa(db), Value: s})
			out = append(out, entryOf{DB: db, Key: s, Value: strconv.Itoa(i), ExpireMs: int64(i) * 1000})
		}
		for i := range 200 {
			e := entryOf{DB: db, Key: random(1 + rng.IntN(40)), Value: random(rng.IntN(300))}
			if i%3 == 0 {
				e.ExpireMs = 1_700_000_000_000 + rng.Int64N(1e12)
			}
			if i%7 == 0 {
				e.Value = strings.Repeat(e.Value, 5)
			}
			out = append(out, e)
		}
	}
	out = append(out,
		entryOf{DB: 15, Key: "big-random", Value: random(1 << 20)},
		entryOf{DB: 15, Key: "big-text", Value: strings.Repeat("a 1 MiB value that compresses well. ", 1<<20/36+1)[:1<<20], ExpireMs: -5},
		entryOf{DB: 15, Key: "big-random-key-" + random(100000), Value: "v"},
	)
	return out
}

// writeEntries encodes entries (grouped by database, in order). hints
// gives the RESIZEDB counts for a database; nil means 10 keys, 1 expiry.
func writeEntries(t *testing.T, w io.Writer, opt WriterOptions, entries []entryOf, hints func(db int) (keys, expires uint64)) *Writer {
	t.Helper()
	wr, err := NewWriter(w, opt)
	if err != nil {
		t.Fatal(err)
	}
	db := -1
	for _, e := range entries {
		if e.DB != db {
			db = e.DB
			keys, expires := uint64(10), uint64(1)
			if hints != nil {
				keys, expires = hints(db)
			}
			if err := wr.SelectDB(db, keys, expires); err != nil {
				t.Fatal(err)
			}
		}
		if err := wr.WriteString(e.Key, []byte(e.Value), e.ExpireMs); err != nil {
			t.Fatal(err)
		}
	}
	if err := wr.Close(); err != nil {
		t.Fatal(err)
	}
	return wr
}

func TestRoundTrip(t *testing.T) {
	entries := roundTripEntries()
	ctime := time.Unix(1_795_237_221, 0)
	for _, opt := range []WriterOptions{
		{ReplID: strings.Repeat("ab", 20), ReplOffset: 1 << 40, ReplStreamDB: 3, CTime: ctime, UsedMem: 12345},
		{Version: 10, NoCompression: true, CTime: ctime},
		{NoReplInfo: true, RedisVer: "6.2.0", CTime: ctime},
	} {
		t.Run(fmt.Sprintf("v%d,nocomp=%v,norepl=%v", opt.Version, opt.NoCompression, opt.NoReplInfo), func(t *testing.T) {
			var buf bytes.Buffer
			wr := writeEntries(t, &buf, opt, entries, nil)
			if wr.Written() != int64(buf.Len()) {
				t.Errorf("Written() = %d, wrote %d", wr.Written(), buf.Len())
			}
			got, r, err := readEntries(buf.Bytes(), ReaderOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(entries, got); diff != "" {
				t.Fatalf("round trip (-want +got):\n%s", diff)
			}
			wantAux := map[string]string{"redis-ver": "7.0.0", "redis-bits": "64", "ctime": "1795237221",
				"used-mem": strconv.FormatInt(opt.UsedMem, 10), "aof-base": "0",
				"repl-stream-db": strconv.Itoa(opt.ReplStreamDB), "repl-id": opt.ReplID, "repl-offset": strconv.FormatInt(opt.ReplOffset, 10)}
			if opt.NoReplInfo {
				delete(wantAux, "repl-stream-db")
				delete(wantAux, "repl-id")
				delete(wantAux, "repl-offset")
			}
			if opt.RedisVer != "" {
				wantAux["redis-ver"] = opt.RedisVer
			}
			if diff := cmp.Diff(wantAux, r.Aux()); diff != "" {
				t.Errorf("aux (-want +got):\n%s", diff)
			}
			wantVersion := max(opt.Version, 9)
			if r.Version() != wantVersion {
				t.Errorf("version %d, want %d", r.Version(), wantVersion)
			}
		})
	}
}

// TestWriterHeader checks the exact bytes of the header and aux fields.
func TestWriterHeader(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, WriterOptions{ReplID: "2ed4d4fe8d6b7cda6779d0be19a68698eccbe1e3", ReplOffset: 173668, CTime: time.Unix(1795237221, 0), UsedMem: 989032})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := "REDIS0009" +
		"\xfa\x09redis-ver\x057.0.0" +
		"\xfa\x0aredis-bits\xc0\x40" +
		"\xfa\x05ctime\xc2\x65\x25\x01\x6b" +
		"\xfa\x08used-mem\xc2\x68\x17\x0f\x00" +
		"\xfa\x0erepl-stream-db\xc0\x00" +
		"\xfa\x07repl-id\x282ed4d4fe8d6b7cda6779d0be19a68698eccbe1e3" +
		"\xfa\x0brepl-offset\xc2\x64\xa6\x02\x00" +
		"\xfa\x08aof-base\xc0\x00" +
		"\xff"
	want = string(binary.LittleEndian.AppendUint64([]byte(want), CRC64(0, []byte(want))))
	if got := buf.String(); got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
}

// TestWriterReproducesRedis re-encodes the string-only vectors from their
// decoded content and compares the result with Redis's bytes, checksum
// included.
func TestWriterReproducesRedis(t *testing.T) {
	files, _ := filepath.Glob("testdata/[abc]_*.rdb")
	if len(files) != 7 {
		t.Fatalf("found %d files", len(files))
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		hints := map[int][2]uint64{}
		entries, r, err := readEntries(data, ReaderOptions{OnResizeDB: func(db int, keys, expires uint64) {
			hints[db] = [2]uint64{keys, expires}
		}})
		if err != nil {
			t.Fatal(err)
		}
		aux := r.Aux()
		num := func(k string) int64 {
			n, err := strconv.ParseInt(aux[k], 10, 64)
			if err != nil {
				t.Fatalf("%s: aux %s = %q", f, k, aux[k])
			}
			return n
		}
		var buf bytes.Buffer
		opt := WriterOptions{Version: 10, RedisVer: aux["redis-ver"], ReplID: aux["repl-id"],
			ReplOffset: num("repl-offset"), ReplStreamDB: int(num("repl-stream-db")),
			CTime: time.Unix(num("ctime"), 0), UsedMem: num("used-mem")}
		writeEntries(t, &buf, opt, entries, func(db int) (uint64, uint64) { return hints[db][0], hints[db][1] })
		if !bytes.Equal(buf.Bytes(), data) {
			i := 0
			for i < min(buf.Len(), len(data)) && buf.Bytes()[i] == data[i] {
				i++
			}
			t.Errorf("%s: re-encoding differs from Redis's at byte %d of %d", f, i, len(data))
		}
	}
}

type failWriter struct{ after int }

func (f *failWriter) Write(p []byte) (int, error) {
	if len(p) > f.after {
		n := f.after
		f.after = 0
		return n, errBoom
	}
	f.after -= len(p)
	return len(p), nil
}

func TestWriterErrors(t *testing.T) {
	if _, err := NewWriter(io.Discard, WriterOptions{Version: 8}); !errors.Is(err, ErrVersion) {
		t.Errorf("version 8: %v", err)
	}
	if _, err := NewWriter(io.Discard, WriterOptions{Version: 11}); !errors.Is(err, ErrVersion) {
		t.Errorf("version 11: %v", err)
	}
	w, _ := NewWriter(io.Discard, WriterOptions{})
	if err := w.SelectDB(-1, 0, 0); err == nil {
		t.Error("negative db accepted")
	}

	// A failing destination: the error comes back, wrapped, and sticks.
	w, _ = NewWriter(&failWriter{after: 100}, WriterOptions{})
	var err error
	for i := 0; err == nil && i < 10000; i++ {
		err = w.WriteString("key"+strconv.Itoa(i), []byte("some value"), 0)
	}
	if !errors.Is(err, errBoom) {
		t.Fatalf("got %v", err)
	}
	if err2 := w.WriteString("k", nil, 0); err2 != err {
		t.Errorf("not sticky: %v", err2)
	}
	if err2 := w.Close(); err2 != err {
		t.Errorf("Close: %v", err2)
	}
	// A large value goes straight to the destination, and its error too.
	w, _ = NewWriter(&failWriter{after: 1000}, WriterOptions{NoCompression: true})
	if err := w.WriteString("big", make([]byte, 100000), 0); !errors.Is(err, errBoom) {
		t.Errorf("big value: %v", err)
	}

	// Use after Close.
	var buf bytes.Buffer
	w, _ = NewWriter(&buf, WriterOptions{})
	if err := w.Flush(); err != nil || int64(buf.Len()) != w.Written() {
		t.Errorf("Flush: %v, %d buffered vs %d", err, buf.Len(), w.Written())
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := w.WriteString("k", nil, 0); !errors.Is(err, ErrClosed) {
		t.Errorf("WriteString after Close: %v", err)
	}
	if err := w.SelectDB(1, 0, 0); !errors.Is(err, ErrClosed) {
		t.Errorf("SelectDB after Close: %v", err)
	}
	if err := w.Flush(); !errors.Is(err, ErrClosed) {
		t.Errorf("Flush after Close: %v", err)
	}
}

// TestWriterNoAllocs checks that writing strings does not allocate once
// the Writer's buffers have grown.
func TestWriterNoAllocs(t *testing.T) {
	w, _ := NewWriter(io.Discard, WriterOptions{})
	val := []byte(strings.Repeat("compressible ", 10))
	rnd := []byte("\x8f\x12\x9a\xcc\x01\x77\x3e\xd0\x55\xab\x10\xfe\x42\x99\x07\xe1\x6c\x2b\xb8\x3d\x91\xf4")
	neg := []byte("-42")
	w.WriteString("warm-up", val, 0)
	w.WriteString("warm-up", rnd, 0)
	if n := testing.AllocsPerRun(1000, func() {
		w.WriteString("key:0000000001", val, 1)
		w.WriteString("key:0000000002", rnd, 0)
		w.WriteString("12345", neg, 0)
	}); n != 0 {
		t.Errorf("%v allocations per run", n)
	}
}
