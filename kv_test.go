package replikv

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestStreamBytesExact(t *testing.T) {
	clk := newFakeClock()
	s := newStore(t, Config{Now: clk.Now, ActiveExpiryInterval: -1})
	rec := record(t, s, 0)
	now := clk.ms.Load()

	must(t, s.Set("k", []byte("v")))
	_, err := s.SetWithOptions("t", []byte("x"), SetOptions{TTL: 1500 * time.Millisecond})
	must(t, err)
	if _, err := s.SetWithOptions("k", []byte("no"), SetOptions{NX: true}); err != nil { // no-op
		t.Fatal(err)
	}
	if _, err := s.SetWithOptions("missing", []byte("no"), SetOptions{XX: true}); err != nil { // no-op
		t.Fatal(err)
	}
	if n, _ := s.Delete("nothing"); n != 0 { // no-op
		t.Fatalf("Delete(nothing) = %d", n)
	}
	if v, err := s.IncrBy("n", 5); err != nil || v != 5 {
		t.Fatalf("IncrBy = %d, %v", v, err)
	}
	if n, err := s.Append("k", []byte("w")); err != nil || n != 2 {
		t.Fatalf("Append = %d, %v", n, err)
	}
	if ok, _ := s.ExpireAt("n", time.UnixMilli(now+60_000)); !ok {
		t.Fatal("ExpireAt on existing key reported false")
	}
	if ok, _ := s.Persist("n"); !ok {
		t.Fatal("Persist reported false")
	}
	if ok, _ := s.Persist("n"); ok { // no-op: no deadline any more
		t.Fatal("second Persist reported true")
	}
	if n, _ := s.Delete("k", "nothing"); n != 1 {
		t.Fatalf("Delete = %d", n)
	}
	must(t, s.FlushAll())

	_, end := s.Position()
	want := "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n" +
		"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n" +
		"*5\r\n$3\r\nSET\r\n$1\r\nt\r\n$1\r\nx\r\n$4\r\nPXAT\r\n$13\r\n" + strconv.FormatInt(now+1500, 10) + "\r\n" +
		"*3\r\n$3\r\nSET\r\n$1\r\nn\r\n$1\r\n5\r\n" +
		"*3\r\n$6\r\nAPPEND\r\n$1\r\nk\r\n$1\r\nw\r\n" +
		"*3\r\n$9\r\nPEXPIREAT\r\n$1\r\nn\r\n$13\r\n" + strconv.FormatInt(now+60_000, 10) + "\r\n" +
		"*2\r\n$7\r\nPERSIST\r\n$1\r\nn\r\n" +
		"*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n" +
		"*1\r\n$8\r\nFLUSHALL\r\n"
	if end != int64(len(want)) {
		t.Errorf("offset %d, want %d", end, len(want))
	}
	if got := rec.bytesUntil(t, int64(len(want))); string(got) != want {
		t.Errorf("stream:\n%q\nwant\n%q", got, want)
	}
}

func TestSetOptions(t *testing.T) {
	clk := newFakeClock()
	s := newStore(t, Config{Now: clk.Now, ActiveExpiryInterval: -1})
	now := clk.ms.Load()

	must(t, s.Set("a", []byte("1")))
	res, err := s.SetWithOptions("a", []byte("2"), SetOptions{NX: true, Get: true})
	if err != nil || res.Written || string(res.Old) != "1" || !res.OldExists {
		t.Fatalf("NX on existing: %+v, %v", res, err)
	}
	res, err = s.SetWithOptions("b", []byte("2"), SetOptions{XX: true, Get: true})
	if err != nil || res.Written || res.OldExists {
		t.Fatalf("XX on missing: %+v, %v", res, err)
	}
	_, err = s.SetWithOptions("a", []byte("3"), SetOptions{ExpireAt: time.UnixMilli(now + 5000)})
	must(t, err)
	_, err = s.SetWithOptions("a", []byte("4"), SetOptions{KeepTTL: true})
	must(t, err)
	if dl, ok := s.ExpireTime("a"); !ok || dl.UnixMilli() != now+5000 {
		t.Fatalf("KEEPTTL lost the deadline: %v %v", dl, ok)
	}
	must(t, s.Set("a", []byte("5")))
	if dl, _ := s.ExpireTime("a"); !dl.IsZero() {
		t.Fatalf("plain Set kept deadline %v", dl)
	}
	for _, bad := range []SetOptions{{NX: true, XX: true}, {KeepTTL: true, TTL: time.Second}, {TTL: -1}, {TTL: time.Second, ExpireAt: time.UnixMilli(now)}} {
		if _, err := s.SetWithOptions("a", nil, bad); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%+v: err %v, want ErrInvalidArgument", bad, err)
		}
	}
	// A deadline in the past deletes.
	_, err = s.SetWithOptions("a", []byte("6"), SetOptions{ExpireAt: time.UnixMilli(now - 1)})
	must(t, err)
	if _, err := s.Get("a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after past PXAT: %v", err)
	}
	// Empty key and empty value are fine.
	must(t, s.Set("", nil))
	if v, err := s.Get(""); err != nil || len(v) != 0 || v == nil {
		t.Fatalf("Get(\"\") = %q, %v", v, err)
	}
}

func TestIncrBy(t *testing.T) {
	s := newStore(t, Config{ActiveExpiryInterval: -1})
	for _, tc := range []struct {
		start string
		delta int64
		want  int64
		err   error
	}{
		{"", 1, 1, nil},
		{"10", -11, -1, nil},
		{"9223372036854775806", 1, 1<<63 - 1, nil},
		{"9223372036854775807", 1, 0, ErrOverflow},
		{"-9223372036854775808", -1, 0, ErrOverflow},
		{"abc", 1, 0, ErrNotInteger},
		{"01", 1, 0, ErrNotInteger},
		{" 1", 1, 0, ErrNotInteger},
		{"1.5", 1, 0, ErrNotInteger},
	} {
		s.Delete("n")
		if tc.start != "" {
			must(t, s.Set("n", []byte(tc.start)))
		}
		got, err := s.IncrBy("n", tc.delta)
		if !errors.Is(err, tc.err) || (err == nil && got != tc.want) {
			t.Errorf("IncrBy(%q, %d) = %d, %v; want %d, %v", tc.start, tc.delta, got, err, tc.want, tc.err)
		}
	}
}

func TestExpiry(t *testing.T) {
	clk := newFakeClock()
	s := newStore(t, Config{Now: clk.Now, ActiveExpiryInterval: -1})
	rec := record(t, s, 0)
	must(t, s.SetTTL("a", []byte("1"), time.Second))
	if ttl, ok := s.TTL("a"); !ok || ttl != time.Second {
		t.Fatalf("TTL = %v %v", ttl, ok)
	}
	if ttl, ok := s.TTL("nope"); ok {
		t.Fatalf("TTL(missing) = %v, true", ttl)
	}
	must(t, s.Set("b", []byte("2")))
	if ttl, ok := s.TTL("b"); !ok || ttl != NoExpiry {
		t.Fatalf("TTL(no deadline) = %v %v", ttl, ok)
	}
	clk.Advance(time.Second)
	// As in Redis, a key lives through the millisecond of its deadline.
	if _, err := s.Get("a"); err != nil {
		t.Fatalf("Get at the deadline's millisecond: %v", err)
	}
	clk.Advance(time.Millisecond)
	// Lazy: the read hides it and the primary deletes it with a DEL.
	if _, err := s.Get("a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get(expired) err = %v", err)
	}
	if s.Len() != 1 {
		t.Fatalf("Len = %d after lazy expiry", s.Len())
	}
	_, end := s.Position()
	cmds := commands(t, rec.bytesUntil(t, end))
	if d := cmp.Diff([]string{"DEL", "a"}, cmds[len(cmds)-1]); d != "" {
		t.Fatalf("last command (-want +got):\n%s", d)
	}
	// Active: a cycle deletes every expired key.
	for i := 0; i < 100; i++ {
		must(t, s.SetTTL(fmt.Sprint("t", i), []byte("x"), time.Duration(1+i%3)*time.Second))
	}
	clk.Advance(2*time.Second + time.Millisecond)
	s.expireCycle(0, time.Now().Add(time.Hour))
	if got := s.Len(); got != 1+33 {
		t.Fatalf("Len after active expiry = %d, want 34", got)
	}
	// A replica hides but never deletes.
	setRole(s, RoleReplica)
	clk.Advance(time.Hour)
	s.expireCycle(0, time.Now().Add(time.Hour))
	if _, err := s.Get("t2"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("replica Get(expired) = %v", err)
	}
	if got := s.Len(); got != 34 {
		t.Fatalf("replica deleted keys on its own clock: Len %d", got)
	}
}

func TestActiveExpiryLoop(t *testing.T) {
	s := newStore(t, Config{ActiveExpiryInterval: time.Millisecond})
	for i := 0; i < 50; i++ {
		must(t, s.SetTTL(fmt.Sprint(i), []byte("x"), time.Millisecond))
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.Len() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("active expiry left %d keys", s.Len())
		}
		time.Sleep(time.Millisecond)
	}
}

func TestReadOnlyReplica(t *testing.T) {
	s := newStore(t, Config{})
	must(t, s.Set("a", []byte("1")))
	setRole(s, RoleReplica)
	_, before := s.Position()
	checks := []error{
		s.Set("a", []byte("2")),
		func() error { _, err := s.Delete("a"); return err }(),
		func() error { _, err := s.IncrBy("a", 1); return err }(),
		func() error { _, err := s.Append("a", []byte("x")); return err }(),
		func() error { _, err := s.Expire("a", time.Second); return err }(),
		func() error { _, err := s.Persist("a"); return err }(),
		s.FlushAll(),
	}
	for i, err := range checks {
		if !errors.Is(err, ErrReadOnly) {
			t.Errorf("write %d on replica: %v, want ErrReadOnly", i, err)
		}
	}
	if v, _ := s.Get("a"); string(v) != "1" {
		t.Fatalf("value changed to %q", v)
	}
	if _, after := s.Position(); after != before {
		t.Fatalf("refused writes moved the offset %d -> %d", before, after)
	}
}

func TestScanVisitsEveryKeyOnce(t *testing.T) {
	s := newStore(t, Config{Shards: 64})
	want := map[string]bool{}
	for i := 0; i < 1000; i++ {
		k := fmt.Sprint("key", i)
		must(t, s.Set(k, []byte("v")))
		want[k] = true
	}
	got := map[string]bool{}
	var cursor uint64
	calls := 0
	for {
		keys, next, err := s.Scan(cursor, 50)
		must(t, err)
		calls++
		for _, k := range keys {
			if got[k] {
				t.Fatalf("key %q returned twice", k)
			}
			got[k] = true
		}
		if next == 0 {
			break
		}
		cursor = next
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("scan (-want +got):\n%s", d)
	}
	if calls < 2 {
		t.Fatalf("scan finished in %d call(s); want it incremental", calls)
	}
}

// TestConcurrentReadersWriters exercises the locks under the race detector
// and checks the result against what the writers did.
func TestConcurrentReadersWriters(t *testing.T) {
	s := newStore(t, Config{Shards: 8})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Go(func() {
			for i := 0; i < 2000; i++ {
				k := fmt.Sprintf("w%d-%d", w, i%100)
				must(t, s.Set(k, []byte(strconv.Itoa(i))))
				if i%7 == 0 {
					s.Delete(k)
				}
			}
		})
		wg.Go(func() {
			for i := 0; i < 4000; i++ {
				s.Get(fmt.Sprintf("w%d-%d", w, i%100))
			}
		})
	}
	wg.Wait()
	for w := 0; w < 4; w++ {
		for k := 0; k < 100; k++ {
			last := 1900 + k // the last i with i%100 == k
			v, err := s.Get(fmt.Sprintf("w%d-%d", w, k))
			if last%7 == 0 {
				if err == nil {
					t.Fatalf("w%d-%d: deleted key present", w, k)
				}
				continue
			}
			if string(v) != strconv.Itoa(last) {
				t.Fatalf("w%d-%d = %q, want %d", w, k, v, last)
			}
		}
	}
}

func TestConfigValidation(t *testing.T) {
	for _, c := range []Config{{Shards: 3}, {Shards: -1}, {DB: 16}, {BacklogSize: 100}, {MaxBulkLen: -5},
		{MaxHandshakes: -1}, {SpoolDir: "/nonexistent/replikv-spool"}} {
		if _, err := New(c); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("New(%+v) err = %v, want ErrInvalidArgument", c, err)
		}
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
