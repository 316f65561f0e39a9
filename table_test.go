package replikv

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestTableModel drives the hash table with random inserts, replacements,
// deadline changes and deletions (which shift probe runs back) and
// compares it with a Go map after every step.
func TestTableModel(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		rng := rand.New(rand.NewPCG(seed, 0))
		var tb table
		model := map[string]string{}
		ttl := map[string]int64{}
		nkeys := 1 + rng.IntN(300)
		for step := 0; step < 4000; step++ {
			key := fmt.Sprintf("k%d", rng.IntN(nkeys))
			if rng.IntN(7) == 0 {
				key = "" // the empty key is a key too
			}
			h := hashKey(key)
			i := tb.find(key, h)
			if _, ok := model[key]; ok != (i >= 0) {
				t.Fatalf("seed %d step %d: find(%q) = %d, model has it: %v", seed, step, key, i, ok)
			}
			switch op := rng.IntN(10); {
			case op < 5:
				val := fmt.Sprint(rng.IntN(1000))
				if rng.IntN(5) == 0 {
					val = ""
				}
				var dl int64
				if rng.IntN(3) == 0 {
					dl = 1 + rng.Int64N(1e12)
				}
				it := newItem(key, []byte(val), dl)
				if i >= 0 {
					tb.replace(i, it)
				} else {
					tb.insertNew(it, h, 0)
				}
				model[key] = val
				delete(ttl, key)
				if dl != 0 {
					ttl[key] = dl
				}
			case op < 8:
				if i >= 0 {
					tb.deleteAt(i)
					delete(model, key)
					delete(ttl, key)
				}
			default:
				if i >= 0 {
					dl := 1 + rng.Int64N(1e12)
					if tb.slots[i].vlen&vlenSpace == 0 {
						tb.replace(i, tb.slots[i].withDeadlineSpace())
					} else if !tb.slots[i].hasTTL() {
						tb.ttl++
					}
					tb.slots[i].setDeadline(dl)
					ttl[key] = dl
				}
			}
			if tb.n != len(model) || tb.ttl != len(ttl) {
				t.Fatalf("seed %d step %d: n=%d ttl=%d, model %d/%d", seed, step, tb.n, tb.ttl, len(model), len(ttl))
			}
		}
		got, gotTTL := map[string]string{}, map[string]int64{}
		tb.each(func(s *slot) bool {
			got[s.key()] = string(s.value())
			if s.hasTTL() {
				gotTTL[s.key()] = s.deadline()
			}
			return true
		})
		if d := cmp.Diff(model, got); d != "" {
			t.Fatalf("seed %d: table differs from model (-want +got):\n%s", seed, d)
		}
		if d := cmp.Diff(ttl, gotTTL); d != "" {
			t.Fatalf("seed %d: deadlines differ (-want +got):\n%s", seed, d)
		}
		for k := range model {
			if tb.find(k, hashKey(k)) < 0 {
				t.Fatalf("seed %d: %q not found at the end", seed, k)
			}
		}
	}
}

func TestParseInt(t *testing.T) {
	good := map[string]int64{
		"0": 0, "1": 1, "-1": -1, "9223372036854775807": 1<<63 - 1,
		"-9223372036854775808": -1 << 63, "12345": 12345,
	}
	for in, want := range good {
		if got, ok := parseInt([]byte(in)); !ok || got != want {
			t.Errorf("parseInt(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "-", "+1", "01", "-0", " 1", "1 ", "1a", "9223372036854775808",
		"-9223372036854775809", "99999999999999999999", "184467440737095516160", "1.5"} {
		if got, ok := parseInt([]byte(in)); ok {
			t.Errorf("parseInt(%q) = %d, ok; want failure", in, got)
		}
	}
}
