package rdb

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// lzfString returns an LZF-encoded string (C3 clen ulen data) for s.
func lzfString(t *testing.T, s string) []byte {
	t.Helper()
	var w Writer
	w.appendString([]byte(s))
	if w.buf[0] != 0xC3 {
		t.Fatalf("%q did not compress", s)
	}
	return w.buf
}

// value builds the body of one value of each type, using a mix of string
// encodings (raw, integer, LZF) for the elements.
func skipCases(t *testing.T) []struct {
	typ  byte
	body []byte
} {
	id := strings.Repeat("\x01", streamIDLen)
	z := lzfString(t, strings.Repeat("compress me ", 10))
	str := func(s string) []byte { return (&builder{}).s(s).b }
	stream := func(typ byte) []byte {
		b := (&builder{}).n(2)
		b.s(id).raw(z...).s(id).s("listpack")
		meta := 3
		if typ >= typeStreamListpacks2 {
			meta = 8
		}
		for range meta {
			b.n(1 << 40)
		}
		b.n(1).s("group").n(5).n(6)
		if typ >= typeStreamListpacks2 {
			b.n(7)
		}
		b.n(2) // PEL
		for range 2 {
			b.raw([]byte(id)...).raw(1, 2, 3, 4, 5, 6, 7, 8).n(3)
		}
		b.n(1).s("consumer").raw(1, 2, 3, 4, 5, 6, 7, 8)
		if typ >= typeStreamListpacks3 {
			b.raw(1, 2, 3, 4, 5, 6, 7, 8)
		}
		b.n(2).raw([]byte(id + id)...)
		return b.b
	}
	return []struct {
		typ  byte
		body []byte
	}{
		{typeList, (&builder{}).n(3).s("a").raw(0xC0, 7).raw(z...).b},
		{typeSet, (&builder{}).n(1).s("m").b},
		{typeZset, (&builder{}).n(4).s("a").raw(3, '1', '.', '5').s("b").raw(zsetScoreNaN).s("c").raw(zsetScorePosInf).s("d").raw(zsetScoreNegInf).b},
		{typeHash, (&builder{}).n(2).s("f").s("v").raw(z...).raw(0xC1, 1, 2).b},
		{typeZset2, (&builder{}).n(1).s("m").raw(0, 0, 0, 0, 0, 0, 0xf0, 0x3f).b},
		{typeModule2, (&builder{}).n(1<<40).n(moduleOpcodeSint).n(5).n(moduleOpcodeUint).n(7).
			n(moduleOpcodeFloat).raw(1, 2, 3, 4).n(moduleOpcodeDouble).raw(1, 2, 3, 4, 5, 6, 7, 8).
			n(moduleOpcodeString).s("abc").n(moduleOpcodeString).raw(z...).n(moduleOpcodeEOF).b},
		{typeHashZipmap, str("zipmap")},
		{typeListZiplist, str("ziplist")},
		{typeSetIntset, z},
		{typeZsetZiplist, str("zsetziplist")},
		{typeHashZiplist, str("hashziplist")},
		{typeListQuicklist, (&builder{}).n(2).s("zl1").raw(z...).b},
		{typeStreamListpacks, stream(typeStreamListpacks)},
		{typeHashListpack, str("hashlp")},
		{typeZsetListpack, str("zsetlp")},
		{typeListQuicklist2, (&builder{}).n(2).n(quicklistNodePacked).s("lp").n(quicklistNodePlain).raw(z...).b},
		{typeStreamListpacks2, stream(typeStreamListpacks2)},
		{typeSetListpack, str("setlp")},
		{typeStreamListpacks3, stream(typeStreamListpacks3)},
	}
}

// TestSkipEveryType writes one key of every non-string type, each followed
// by a string key, with the other opcodes a file may hold mixed in, and
// checks that skipping keeps the stream in step.
func TestSkipEveryType(t *testing.T) {
	b := newRDB(11).raw(opAux).s("redis-ver").s("7.2.4").
		raw(opFunction2).s("#!lua name=lib\n").
		raw(opModuleAux).n(1 << 40).n(moduleOpcodeUint).n(2).n(moduleOpcodeString).s("aux").n(moduleOpcodeEOF).
		raw(opSelectDB).n(5).raw(opResizeDB).n(40).n(1).
		raw(opSlotInfo).n(100).n(40).n(1)
	var want []entryOf
	wantTypes := map[string]int{}
	for _, c := range skipCases(t) {
		b.raw(opExpireMs, 1, 0, 0, 0, 0, 0, 0, 0).raw(opIdle).n(3).raw(opFreq, 9).raw(c.typ).s("k" + TypeName(c.typ)).raw(c.body...)
		b.key("after-"+TypeName(c.typ), "ok")
		want = append(want, entryOf{DB: 5, Key: "after-" + TypeName(c.typ), Value: "ok"})
		wantTypes[TypeName(c.typ)]++
	}
	data := b.end()
	var resized [][3]uint64
	got, r, err := readEntries(data, ReaderOptions{SkipNonString: true, OnResizeDB: func(db int, k, e uint64) {
		resized = append(resized, [3]uint64{uint64(db), k, e})
	}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
	wantSkip := SkipStats{Keys: len(wantTypes), ByType: wantTypes, Functions: 1, ModuleAux: 1}
	if diff := cmp.Diff(wantSkip, r.Skipped()); diff != "" {
		t.Errorf("skip stats (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([][3]uint64{{5, 40, 1}}, resized); diff != "" {
		t.Errorf("OnResizeDB calls (-want +got):\n%s", diff)
	}
	if r.Version() != 11 || r.Aux()["redis-ver"] != "7.2.4" {
		t.Errorf("version %d aux %v", r.Version(), r.Aux())
	}
	// Every truncation of this stream fails cleanly.
	for n := range len(data) {
		if _, _, err := readEntries(data[:n], ReaderOptions{SkipNonString: true}); err == nil {
			t.Fatalf("truncated to %d bytes: no error", n)
		}
	}
}

// TestTypeErrorEveryType checks the default mode on every non-string type.
func TestTypeErrorEveryType(t *testing.T) {
	for _, c := range skipCases(t) {
		data := newRDB(10).raw(opSelectDB).n(2).key("first", "1").raw(c.typ).s("bad\x00key").raw(c.body...).end()
		got, _, err := readEntries(data, ReaderOptions{})
		var te *TypeError
		if !errors.As(err, &te) || !errors.Is(err, ErrUnsupportedType) {
			t.Fatalf("type %d: got %v", c.typ, err)
		}
		want := TypeError{Key: []byte("bad\x00key"), Type: c.typ, TypeName: TypeName(c.typ), DB: 2}
		if diff := cmp.Diff(want, *te); diff != "" {
			t.Errorf("type %d (-want +got):\n%s", c.typ, diff)
		}
		if len(got) != 1 || got[0].Value != "1" {
			t.Errorf("type %d: entries before the error: %v", c.typ, got)
		}
		if !strings.Contains(err.Error(), `"bad\x00key"`) || !strings.Contains(err.Error(), TypeName(c.typ)) {
			t.Errorf("message %q", err)
		}
	}
}

func TestTypeName(t *testing.T) {
	for typ, want := range map[byte]string{0: "string", 5: "zset-v2", 8: "unknown-8", 18: "list-quicklist-v2", 21: "stream-v3", 22: "unknown-22", 255: "unknown-255"} {
		if got := TypeName(typ); got != want {
			t.Errorf("TypeName(%d) = %q, want %q", typ, got, want)
		}
	}
	// Every name of a known type is distinct.
	seen := map[string]bool{}
	for typ := range byte(maxKnownType + 1) {
		if knownType(typ) {
			n := TypeName(typ)
			if seen[n] || strings.HasPrefix(n, "unknown") {
				t.Errorf("type %d: name %q", typ, n)
			}
			seen[n] = true
		}
	}
}
