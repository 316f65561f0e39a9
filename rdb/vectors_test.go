package rdb

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The vectors in testdata/ are copies of /work/shared/testdata/redis7: RDB
// payloads captured from a real redis-server 7.0.15, each with a JSON
// sidecar describing its content (see testdata/README.md).

type sidecar struct {
	Name           string `json:"name"`
	FullresyncLine string `json:"fullresync_line"`
	PayloadLen     int    `json:"payload_len"`
	BgsaveFile     string `json:"bgsave_file"`
	DisklessFile   string `json:"diskless_file"`
	Expected       struct {
		Databases map[string]map[string]struct {
			Type      string            `json:"type"`
			Encoding  string            `json:"object_encoding"`
			Value     map[string]string `json:"value"`
			ValueRule string            `json:"value_rule"`
			Len       *int              `json:"len"`
			SHA256    string            `json:"sha256"`
			ExpireMs  int64             `json:"expire_ms"`
		} `json:"databases"`
		Functions []string `json:"functions"`
	} `json:"expected"`
}

// kv is a decoded string key as the tests compare it.
type kv struct {
	Value    string
	ExpireMs int64
}

// vector is one captured payload and what it must decode to.
type vector struct {
	name    string
	files   []string // the payload files holding this dataset
	side    sidecar
	strings map[int]map[string]kv // db → key → value
	skipped map[string]int        // RDB type name → count of non-string keys
	replID  string
	replOff string
}

// ruleValue produces the big values the sidecars describe by rule.
func ruleValue(t *testing.T, rule string) string {
	switch {
	case strings.HasPrefix(rule, "'abcdefghij' repeated 10240 times"):
		return strings.Repeat("abcdefghij", 10240)
	case strings.HasPrefix(rule, "concatenation of SHA-256(b'rw-%d'"):
		var b []byte
		for i := 0; len(b) < 70000; i++ {
			s := sha256.Sum256([]byte("rw-" + strconv.Itoa(i)))
			b = append(b, s[:]...)
		}
		return string(b[:70000])
	}
	t.Fatalf("unknown value rule %q", rule)
	return ""
}

// rdbTypeName maps a sidecar's type and OBJECT ENCODING to the RDB type
// Redis 7.0 writes for it (redis-wire.md 9.5).
func rdbTypeName(typ, enc string) string {
	switch typ + "/" + enc {
	case "hash/listpack":
		return "hash-listpack"
	case "hash/hashtable":
		return "hash"
	case "set/intset":
		return "set-intset"
	case "set/hashtable":
		return "set"
	case "zset/listpack":
		return "zset-listpack"
	case "zset/skiplist":
		return "zset-v2"
	}
	switch typ {
	case "list":
		return "list-quicklist-v2"
	case "stream":
		return "stream-v2"
	}
	return "unknown " + typ + "/" + enc
}

func loadVectors(t *testing.T) []vector {
	t.Helper()
	jsons, err := filepath.Glob("testdata/*.json")
	if err != nil || len(jsons) != 8 {
		t.Fatalf("want 8 sidecars in testdata, got %d (%v)", len(jsons), err)
	}
	var vs []vector
	for _, j := range jsons {
		raw, err := os.ReadFile(j)
		if err != nil {
			t.Fatal(err)
		}
		v := vector{strings: map[int]map[string]kv{}, skipped: map[string]int{}}
		if err := json.Unmarshal(raw, &v.side); err != nil {
			t.Fatalf("%s: %v", j, err)
		}
		v.name = v.side.Name
		v.files = []string{"testdata/" + v.name + ".rdb", "testdata/" + v.side.BgsaveFile}
		if v.side.DisklessFile != "" {
			v.files = append(v.files, "testdata/"+v.side.DisklessFile)
		}
		f := strings.Fields(v.side.FullresyncLine)
		v.replID, v.replOff = f[1], f[2]
		for dbs, keys := range v.side.Expected.Databases {
			db, _ := strconv.Atoi(dbs)
			for k, e := range keys {
				if e.Type != "string" {
					v.skipped[rdbTypeName(e.Type, e.Encoding)]++
					continue
				}
				var val string
				switch {
				case e.ValueRule != "":
					val = ruleValue(t, e.ValueRule)
				case e.Value["hex"] != "":
					b, _ := hex.DecodeString(e.Value["hex"])
					val = string(b)
				default:
					val = e.Value["str"]
				}
				if e.Len != nil && *e.Len != len(val) {
					t.Fatalf("%s/%s: sidecar len %d, value has %d", v.name, k, *e.Len, len(val))
				}
				if e.SHA256 != "" {
					if s := sha256.Sum256([]byte(val)); hex.EncodeToString(s[:]) != e.SHA256 {
						t.Fatalf("%s/%s: sha256 of the expected value does not match the sidecar", v.name, k)
					}
				}
				if v.strings[db] == nil {
					v.strings[db] = map[string]kv{}
				}
				v.strings[db][k] = kv{val, e.ExpireMs}
			}
		}
		vs = append(vs, v)
	}
	return vs
}

// decodeAll reads every entry of data and returns the string keys by
// database, the reader (for Aux and Skipped) and the final error (nil for
// a clean EOF).
func decodeAll(data []byte, opt ReaderOptions) (map[int]map[string]kv, *Reader, error) {
	entries, r, err := readEntries(data, opt)
	got := map[int]map[string]kv{}
	for _, e := range entries {
		if got[e.DB] == nil {
			got[e.DB] = map[string]kv{}
		}
		got[e.DB][e.Key] = kv{e.Value, e.ExpireMs}
	}
	return got, r, err
}

func TestVectorsDecode(t *testing.T) {
	for _, v := range loadVectors(t) {
		for _, file := range v.files {
			t.Run(filepath.Base(file), func(t *testing.T) {
				data, err := os.ReadFile(file)
				if err != nil {
					t.Fatal(err)
				}
				if strings.HasSuffix(file, v.name+".rdb") && len(data) != v.side.PayloadLen {
					t.Fatalf("payload is %d bytes, sidecar says %d", len(data), v.side.PayloadLen)
				}
				got, r, err := decodeAll(data, ReaderOptions{SkipNonString: true})
				if err != nil {
					t.Fatalf("decode: %v", err)
				}
				if diff := cmp.Diff(v.strings, got); diff != "" {
					t.Errorf("string keys differ (-want +got):\n%s", diff)
				}
				wantSkip := SkipStats{Keys: 0, ByType: v.skipped, Functions: len(v.side.Expected.Functions)}
				for _, n := range v.skipped {
					wantSkip.Keys += n
				}
				if diff := cmp.Diff(wantSkip, r.Skipped()); diff != "" {
					t.Errorf("skip counts differ (-want +got):\n%s", diff)
				}
				aux := r.Aux()
				if aux["repl-id"] != v.replID || aux["repl-offset"] != v.replOff {
					t.Errorf("aux repl-id %q repl-offset %q, FULLRESYNC said %s %s", aux["repl-id"], aux["repl-offset"], v.replID, v.replOff)
				}
				if aux["redis-ver"] != "7.0.15" || aux["redis-bits"] != "64" || aux["aof-base"] != "0" {
					t.Errorf("aux fields: %v", aux)
				}
				if r.Version() != 10 || r.Offset() != int64(len(data)) {
					t.Errorf("version %d, offset %d of %d", r.Version(), r.Offset(), len(data))
				}
			})
		}
	}
}

// TestVectorsTypeError checks the default mode: the first non-string key
// stops decoding with a *TypeError naming it.
func TestVectorsTypeError(t *testing.T) {
	for _, v := range loadVectors(t) {
		data, err := os.ReadFile(v.files[0])
		if err != nil {
			t.Fatal(err)
		}
		got, r, err := decodeAll(data, ReaderOptions{})
		if len(v.skipped) == 0 {
			if err != nil {
				t.Errorf("%s: %v", v.name, err)
			}
			continue
		}
		var te *TypeError
		if !errors.Is(err, ErrUnsupportedType) || !errors.As(err, &te) {
			t.Fatalf("%s: got %v, want a *TypeError", v.name, err)
		}
		keys := v.side.Expected.Databases[strconv.Itoa(te.DB)]
		want, ok := keys[string(te.Key)]
		if !ok || rdbTypeName(want.Type, want.Encoding) != te.TypeName || TypeName(te.Type) != te.TypeName {
			t.Errorf("%s: TypeError %+v does not match the sidecar entry %+v", v.name, te, want)
		}
		if !strings.Contains(err.Error(), strconv.Quote(string(te.Key))) {
			t.Errorf("%s: message %q does not name the key", v.name, err)
		}
		// Every string key decoded before the error is correct.
		for db, keys := range got {
			for k, val := range keys {
				if v.strings[db][k] != val {
					t.Errorf("%s: db %d key %q = %+v, want %+v", v.name, db, k, val, v.strings[db][k])
				}
			}
		}
		if _, err2 := r.Next(); err2 != err {
			t.Errorf("%s: error is not sticky: %v then %v", v.name, err, err2)
		}
	}
}

// TestReaderStopsAtEnd checks that, reading from a *bufio.Reader, nothing
// after the checksum is consumed.
func TestReaderStopsAtEnd(t *testing.T) {
	data, err := os.ReadFile("testdata/b_strings.rdb")
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{16, 100, 4096, 1 << 16} {
		trailer := "*1\r\n$4\r\nPING\r\n"
		br := newBufioReader(io.MultiReader(bytes.NewReader(data), strings.NewReader(trailer)), size)
		r, err := NewReader(br, ReaderOptions{})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for {
			_, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("size %d: %v", size, err)
			}
			n++
		}
		rest, _ := io.ReadAll(br)
		if string(rest) != trailer || n != 19 {
			t.Errorf("size %d: %d keys, left %q in the reader, want %q", size, n, rest, trailer)
		}
	}
}

func ExampleReader() {
	f, err := os.Open("testdata/c_multidb.rdb")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	r, err := NewReader(f, ReaderOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	n := 0
	for {
		e, err := r.Next()
		if err == io.EOF {
			break // the checksum has been verified
		}
		if err != nil {
			fmt.Println("load failed:", err)
			return
		}
		n++
		if string(e.Key) == "e3" {
			fmt.Printf("db %d: %s = %s, expires at %d\n", e.DB, e.Key, e.Value, e.ExpireMs)
		}
	}
	fmt.Println(n, "keys, replication offset", r.Aux()["repl-offset"])
	// Output:
	// db 3: e3 = x, expires at 4102444800000
	// 5 keys, replication offset 173668
}
