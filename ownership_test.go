package replikv

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/replikv/replikv/transport"
)

// TestReturnedValuesCannotCorruptTheStore: whatever the API hands out
// (Get, AppendGet, Range, Tx.Get, SetResult.Old), changing it changes
// neither the store, nor a replica synced after, nor a snapshot.
func TestReturnedValuesCannotCorruptTheStore(t *testing.T) {
	mn := memNet{transport.NewMemNetwork()}
	p := node(t, mn, "p", fastConfig())
	must(t, p.Set("k", []byte("alice")))
	scribble := func(b []byte) {
		for i := range b {
			b[i] = 'X'
		}
	}
	v, err := p.Get("k")
	must(t, err)
	scribble(v)
	_ = append(v[:0], "mallory"...)
	buf, err := p.AppendGet(make([]byte, 0, 64), "k")
	must(t, err)
	scribble(buf)
	p.Range(func(_ string, value []byte, _ time.Time) bool { scribble(value); return true })
	for v := range p.All() {
		_ = v
	}
	for _, value := range p.All() {
		scribble(value)
	}
	must(t, p.Atomic(func(tx *Tx) error {
		v, err := tx.Get("k")
		scribble(v)
		return err
	}))
	res, err := p.SetWithOptions("k", []byte("alice"), SetOptions{Get: true})
	must(t, err)
	scribble(res.Old)

	if got, _ := p.Get("k"); string(got) != "alice" {
		t.Fatalf("primary holds %q after callers scribbled on returned values", got)
	}
	r := node(t, mn, "r", fastConfig())
	must(t, r.ReplicaOf(mn.dialer("p")))
	waitSynced(t, r)
	waitConverged(t, p, r)
	sn, err := p.BeginSnapshot(context.Background())
	must(t, err)
	var rdbBuf bytes.Buffer
	_, err = sn.WriteTo(&rdbBuf)
	must(t, err)
	if got := loadedValue(t, rdbBuf.Bytes(), "k"); got != "alice" {
		t.Fatalf("snapshot holds %q", got)
	}
}

// TestViewAndAppendGet: zero-copy and buffer-reusing reads see the value,
// and report Get's errors.
func TestViewAndAppendGet(t *testing.T) {
	s := newStore(t, Config{})
	must(t, s.Set("k", []byte("value")))
	var seen string
	must(t, s.View("k", func(v []byte) error { seen = string(v); return nil }))
	if seen != "value" {
		t.Fatalf("View saw %q", seen)
	}
	boom := errors.New("boom")
	if err := s.View("k", func([]byte) error { return boom }); err != boom {
		t.Fatalf("View returned %v, want fn's error", err)
	}
	if err := s.View("missing", func([]byte) error { t.Fatal("fn called for a missing key"); return nil }); !errors.Is(err, ErrNotFound) {
		t.Fatalf("View(missing) = %v", err)
	}
	dst, err := s.AppendGet([]byte("prefix:"), "k")
	if err != nil || string(dst) != "prefix:value" {
		t.Fatalf("AppendGet = %q, %v", dst, err)
	}
	dst, err = s.AppendGet(dst, "missing")
	if !errors.Is(err, ErrNotFound) || string(dst) != "prefix:value" {
		t.Fatalf("AppendGet(missing) = %q, %v", dst, err)
	}
	if n := testing.AllocsPerRun(100, func() { dst, _ = s.AppendGet(dst[:0], "k") }); n != 0 {
		t.Errorf("AppendGet allocates %v times", n)
	}
	if n := testing.AllocsPerRun(100, func() { s.View("k", func([]byte) error { return nil }) }); n != 0 {
		t.Errorf("View allocates %v times", n)
	}
}

// TestLifecycleAfterClose: every method after Close returns ErrClosed,
// every time (BeginSnapshot used to succeed about half the time); Stats
// still reports the final state.
func TestLifecycleAfterClose(t *testing.T) {
	s := newStore(t, Config{})
	must(t, s.Set("k", []byte("v")))
	must(t, s.Close())
	for range 50 {
		if err := s.Set("k", []byte("w")); !errors.Is(err, ErrClosed) {
			t.Fatalf("Set after Close = %v", err)
		}
		if _, err := s.IncrBy("n", 1); !errors.Is(err, ErrClosed) {
			t.Fatalf("IncrBy after Close = %v", err)
		}
		if _, err := s.BeginSnapshot(context.Background()); !errors.Is(err, ErrClosed) {
			t.Fatalf("BeginSnapshot after Close = %v", err)
		}
		if _, err := s.Subscribe(0, SubscribeLimits{}); !errors.Is(err, ErrClosed) {
			t.Fatalf("Subscribe after Close = %v", err)
		}
	}
	if v, err := s.Get("k"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Get after Close = %q, %v; want ErrClosed", v, err)
	}
	if err := s.View("k", func([]byte) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Fatalf("View after Close = %v", err)
	}
	if _, _, err := s.Scan(0, 10); !errors.Is(err, ErrClosed) {
		t.Fatalf("Scan after Close = %v", err)
	}
	if _, err := s.Watch(context.Background(), WatchOptions{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Watch after Close = %v", err)
	}
	if err := s.Reconfigure(func(*Config) {}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Reconfigure after Close = %v", err)
	}
	if got := s.Stats().Keys; got != 1 {
		t.Fatalf("Stats after Close: %d keys, want the final 1", got)
	}
}

// TestExpireSubMillisecond: Expire and SetTTL agree on a TTL under a
// millisecond: the key lives 1 ms.
func TestExpireSubMillisecond(t *testing.T) {
	clk := newFakeClock()
	s := newStore(t, Config{Now: clk.Now, ActiveExpiryInterval: -1})
	must(t, s.SetTTL("a", []byte("1"), 500*time.Microsecond))
	must(t, s.Set("b", []byte("1")))
	if ok, err := s.Expire("b", 500*time.Microsecond); !ok || err != nil {
		t.Fatalf("Expire = %v, %v", ok, err)
	}
	da, _ := s.ExpireTime("a")
	db, _ := s.ExpireTime("b")
	if !da.Equal(db) || da.UnixMilli() != clk.Now().UnixMilli()+1 {
		t.Fatalf("deadlines %v (SetTTL) and %v (Expire), want both now+1ms", da, db)
	}
}

// TestInfoIsACopy: a caller changing Info's maps changes nothing inside.
func TestInfoIsACopy(t *testing.T) {
	s := newStore(t, Config{})
	setRole(s, RoleReplica)
	st := LoadStats{}
	st.Skipped.ByType = map[string]int{"list": 2}
	s.logLoad(st)
	in := s.Info()
	in.Master.SnapshotSkipped["list"] = 99
	in.Master.SnapshotSkipped["hash"] = 1
	if d := cmp.Diff(map[string]int{"list": 2}, s.Info().Master.SnapshotSkipped); d != "" {
		t.Fatalf("Info shares its map (-want +got):\n%s", d)
	}
}

// TestConfigCoupledDefaults: Redis's defaults for the zero Config, one
// backoff bound set alone moves the other, and periods that would make a
// quiet link look dead are refused.
func TestConfigCoupledDefaults(t *testing.T) {
	c, err := Config{}.withDefaults()
	must(t, err)
	if c.RefuseStaleReads || c.PingPeriod != DefaultPingPeriod || c.AckPeriod != DefaultAckPeriod {
		t.Fatalf("zero Config: %+v", c)
	}
	c, err = Config{ReconnectMax: 50 * time.Millisecond}.withDefaults()
	if err != nil || c.ReconnectMin != 50*time.Millisecond {
		t.Fatalf("ReconnectMax alone: min %v, %v", c.ReconnectMin, err)
	}
	c, err = Config{ReconnectMin: 5 * time.Second}.withDefaults()
	if err != nil || c.ReconnectMax != 5*time.Second {
		t.Fatalf("ReconnectMin alone: max %v, %v", c.ReconnectMax, err)
	}
	c, err = Config{ReplTimeout: 2 * time.Second}.withDefaults()
	if err != nil || c.PingPeriod != 500*time.Millisecond || c.AckPeriod != 500*time.Millisecond {
		t.Fatalf("short ReplTimeout: ping %v ack %v, %v", c.PingPeriod, c.AckPeriod, err)
	}
	for _, bad := range []Config{
		{ReplTimeout: time.Second, PingPeriod: time.Second},
		{ReplTimeout: time.Second, AckPeriod: 2 * time.Second},
	} {
		if _, err := bad.withDefaults(); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%+v accepted: %v", bad, err)
		}
	}
}

// TestIterators: All and Keys see every live key once, and stop early.
func TestIterators(t *testing.T) {
	clk := newFakeClock()
	s := newStore(t, Config{Now: clk.Now, ActiveExpiryInterval: -1})
	want := map[string]string{}
	for i := range 300 {
		k := "user:" + string(rune('a'+i%26)) + string(rune('0'+i/26))
		want[k] = k + "!"
		must(t, s.Set(k, []byte(k+"!")))
	}
	must(t, s.Set("other", []byte("x")))
	must(t, s.SetTTL("user:gone", []byte("x"), time.Millisecond))
	clk.Advance(2 * time.Millisecond)
	got := map[string]string{}
	for k, v := range s.All() {
		if _, dup := got[k]; dup {
			t.Fatalf("All yielded %q twice", k)
		}
		got[k] = string(v)
	}
	want["other"] = "x"
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("All (-want +got):\n%s", d)
	}
	delete(want, "other")
	n := 0
	for k := range s.Keys("user:") {
		if _, ok := want[k]; !ok {
			t.Fatalf("Keys(user:) yielded %q", k)
		}
		n++
	}
	if n != len(want) {
		t.Fatalf("Keys(user:) yielded %d keys, want %d", n, len(want))
	}
	n = 0
	for range s.Keys("") {
		n++
		if n == 3 {
			break
		}
	}
	if n != 3 {
		t.Fatalf("break after 3 keys: %d", n)
	}
}
