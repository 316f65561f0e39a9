package typed

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/replikv/replikv"
)

// counting is a codec of ints in decimal that counts its calls.
type counting struct{ marshals, unmarshals atomic.Int64 }

func (c *counting) Marshal(v int) ([]byte, error) {
	c.marshals.Add(1)
	return strconv.AppendInt(nil, int64(v), 10), nil
}

func (c *counting) Unmarshal(b []byte) (int, error) {
	c.unmarshals.Add(1)
	n, err := strconv.Atoi(string(b))
	return n, err
}

func newStore(t testing.TB) *replikv.Store {
	t.Helper()
	s, err := replikv.New(replikv.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mustGet[T any](t *testing.T, m *Map[T], key string) T {
	t.Helper()
	v, err := m.Get(key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return v
}

func TestGetHitDoesNotDecodeAgain(t *testing.T) {
	c := &counting{}
	m := New[int](newStore(t), c, Options{})
	if err := m.Set("n", 7); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if v := mustGet(t, m, "n"); v != 7 {
			t.Fatalf("Get = %d, want 7", v)
		}
	}
	if got := c.unmarshals.Load(); got != 1 {
		t.Fatalf("%d Unmarshal calls for 5 Gets of one value, want 1", got)
	}
}

func TestWriteInvalidates(t *testing.T) {
	c := &counting{}
	s := newStore(t)
	m := New[int](s, c, Options{})
	check := func(want, decodes int) {
		t.Helper()
		if v := mustGet(t, m, "n"); v != want {
			t.Fatalf("Get = %d, want %d", v, want)
		}
		if got := c.unmarshals.Load(); got != int64(decodes) {
			t.Fatalf("%d Unmarshal calls, want %d", got, decodes)
		}
	}
	m.Set("n", 1)
	check(1, 1)
	m.Set("n", 2) // through the Map
	check(2, 2)
	check(2, 2)
	s.Set("n", []byte("3")) // behind the Map's back
	check(3, 3)
	s.Set("n", []byte("3")) // the same bytes, a new item: decoded again
	check(3, 4)
	if _, err := s.IncrBy("n", 1); err != nil {
		t.Fatal(err)
	}
	check(4, 5)
	if err := m.SetTTL("n", 5, time.Hour); err != nil {
		t.Fatal(err)
	}
	check(5, 6)
	if _, err := s.Expire("n", 2*time.Hour); err != nil { // the value is unchanged
		t.Fatal(err)
	}
	check(5, 6)
	if n, err := m.Delete("n", "absent"); n != 1 || err != nil {
		t.Fatalf("Delete = %d, %v; want 1, nil", n, err)
	}
	if _, err := m.Get("n"); !errors.Is(err, replikv.ErrNotFound) {
		t.Fatalf("Get after Delete: %v, want ErrNotFound", err)
	}
	s.Set("n", []byte("6"))
	s.Delete("n") // behind the Map's back
	if _, err := m.Get("n"); !errors.Is(err, replikv.ErrNotFound) {
		t.Fatalf("Get after Store.Delete: %v, want ErrNotFound", err)
	}
}

func TestDecodeErrorNotCached(t *testing.T) {
	c := &counting{}
	s := newStore(t)
	m := New[int](s, c, Options{})
	s.Set("n", []byte("not a number"))
	for range 2 {
		_, err := m.Get("n")
		var ne *strconv.NumError
		if !errors.As(err, &ne) {
			t.Fatalf("Get of a bad value: %v, want a *strconv.NumError", err)
		}
	}
	if got := c.unmarshals.Load(); got != 2 {
		t.Fatalf("%d Unmarshal calls, want 2 (errors are not cached)", got)
	}
}

func TestNoCache(t *testing.T) {
	c := &counting{}
	m := New[int](newStore(t), c, Options{MaxCached: -1})
	m.Set("n", 1)
	mustGet(t, m, "n")
	mustGet(t, m, "n")
	if got := c.unmarshals.Load(); got != 2 {
		t.Fatalf("%d Unmarshal calls without a cache, want 2", got)
	}
}

func TestCacheBounded(t *testing.T) {
	for _, limit := range []int{1, 3, 8, 100, 256} {
		t.Run(strconv.Itoa(limit), func(t *testing.T) {
			c := &counting{}
			m := New[int](newStore(t), c, Options{MaxCached: limit})
			for i := range 500 {
				k := strconv.Itoa(i)
				m.Set(k, i)
				if v := mustGet(t, m, k); v != i {
					t.Fatalf("Get(%q) = %d", k, v)
				}
				if n := m.cached(); n > limit {
					t.Fatalf("%d entries cached, limit %d", n, limit)
				}
			}
			// Every key still reads right after its entry was evicted.
			for i := range 500 {
				if v := mustGet(t, m, strconv.Itoa(i)); v != i {
					t.Fatalf("Get(%d) = %d after eviction", i, v)
				}
			}
		})
	}
}

// The clock keeps a key that is hit often while others stream through.
func TestClockKeepsHotKey(t *testing.T) {
	c := &counting{}
	m := New[int](newStore(t), c, Options{MaxCached: 4})
	m.Set("hot", -1)
	for i := range 200 {
		k := strconv.Itoa(i)
		m.Set(k, i)
		mustGet(t, m, k)
		mustGet(t, m, "hot")
	}
	// One decode per cold key, one for "hot".
	if got := c.unmarshals.Load(); got != 200+1 {
		t.Fatalf("%d Unmarshal calls; the hot key was evicted repeatedly", got)
	}
}

func TestDropKeepsIndexConsistent(t *testing.T) {
	m := New[int](newStore(t), &counting{}, Options{MaxCached: 1}) // one shard, one slot
	for i := range 3 {
		m.Set(strconv.Itoa(i), i)
	}
	sh := &m.shards[0]
	sh.limit = 3
	for i := range 3 {
		mustGet(t, m, strconv.Itoa(i))
	}
	m.Delete("0")
	for k, i := range sh.index {
		if sh.slots[i].key != k {
			t.Fatalf("index[%q] = %d holds %q", k, i, sh.slots[i].key)
		}
	}
	if len(sh.slots) != 2 || len(sh.index) != 2 {
		t.Fatalf("%d slots, %d indexed after a drop; want 2, 2", len(sh.slots), len(sh.index))
	}
}

func TestAll(t *testing.T) {
	s := newStore(t)
	m := New[int](s, &counting{}, Options{})
	for i := range 10 {
		m.Set("k"+strconv.Itoa(i), i)
	}
	s.Set("other", []byte("not an int"))
	sum, n := 0, 0
	for k, v := range m.All() {
		if k != "k"+strconv.Itoa(v) {
			t.Fatalf("All yielded %q, %d", k, v)
		}
		sum += v
		n++
	}
	if n != 10 || sum != 45 {
		t.Fatalf("All yielded %d values summing to %d; want 10, 45", n, sum)
	}
	for range m.All() {
		break // stopping early must not panic
	}
}

func TestCodecs(t *testing.T) {
	s := newStore(t)
	type point struct{ X, Y int }
	j := New[point](s, JSON[point]{}, Options{})
	j.Set("p", point{1, 2})
	if p := mustGet(t, j, "p"); p != (point{1, 2}) {
		t.Fatalf("JSON round trip: %+v", p)
	}
	raw, _ := s.Get("p")
	if string(raw) != `{"X":1,"Y":2}` {
		t.Fatalf("stored %s", raw)
	}
	str := New[string](s, String{}, Options{})
	str.Set("s", "hello")
	if v := mustGet(t, str, "s"); v != "hello" {
		t.Fatalf("String round trip: %q", v)
	}
	b := New[[]byte](s, Bytes{}, Options{})
	in := []byte("abc")
	b.Set("b", in)
	in[0] = 'X' // the store took a copy
	if v := mustGet(t, b, "b"); string(v) != "abc" {
		t.Fatalf("Bytes round trip: %q", v)
	}
	b.Set("empty", nil)
	if v := mustGet(t, b, "empty"); v == nil || len(v) != 0 {
		t.Fatalf("empty value read back as %#v", v)
	}
	if _, err := j.Get("s"); err == nil {
		t.Fatal("JSON Get of a non-JSON value succeeded")
	}
}

// Concurrent Gets and Sets (run with -race): every Get returns a value
// some Set wrote for that key, and after the writers stop every Get
// returns the last one.
func TestConcurrentGetSet(t *testing.T) {
	s := newStore(t)
	c := &counting{}
	m := New[int](s, c, Options{MaxCached: 8})
	const keys, writes = 16, 300
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for i := range writes {
				k := i % keys
				// Values of key k are k modulo keys; writer w owns odd or even i.
				if i%2 == w {
					if err := m.Set(strconv.Itoa(k), k+keys*i); err != nil {
						t.Error(err)
						return
					}
				}
			}
		})
	}
	for range 4 {
		wg.Go(func() {
			for i := range writes * 2 {
				k := i % keys
				v, err := m.Get(strconv.Itoa(k))
				if errors.Is(err, replikv.ErrNotFound) {
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				if v%keys != k {
					t.Errorf("Get(%d) = %d: another key's value", k, v)
					return
				}
			}
		})
	}
	wg.Wait()
	for k := range keys {
		raw, err := s.Get(strconv.Itoa(k))
		if err != nil {
			t.Fatal(err)
		}
		if v := mustGet(t, m, strconv.Itoa(k)); fmt.Sprint(v) != string(raw) {
			t.Fatalf("Get(%d) = %d, store holds %s", k, v, raw)
		}
	}
}

// cached returns the number of cache entries.
func (m *Map[T]) cached() int {
	n := 0
	for i := range m.shards {
		n += m.shards[i].len()
	}
	return n
}
