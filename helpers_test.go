package replikv

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/replikv/replikv/resp"
)

// entry is a key's full state, for whole-keyspace comparisons.
type entry struct {
	Value    string
	Deadline int64
}

// dump returns every key of s, expired or not, with value and deadline.
func dump(s *Store) map[string]entry {
	m := map[string]entry{}
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.RLock()
		dumpShard(sh, m)
		sh.mu.RUnlock()
	}
	return m
}

// dumpLocked is dump for a caller holding every lock (lockAll).
func dumpLocked(s *Store) map[string]entry {
	m := map[string]entry{}
	for i := range s.shards {
		dumpShard(&s.shards[i], m)
	}
	return m
}

func dumpShard(sh *shard, m map[string]entry) {
	sh.t.each(func(sl *slot) bool {
		m[sl.key()] = entry{Value: string(sl.value()), Deadline: sl.deadline()}
		return true
	})
}

func newStore(t testing.TB, cfg Config) *Store {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// fakeClock is a settable clock for expiry tests.
type fakeClock struct{ ms atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ms.Store(1_700_000_000_000)
	return c
}

func (c *fakeClock) Now() time.Time          { return time.UnixMilli(c.ms.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ms.Add(d.Milliseconds()) }

// recorder subscribes to a store's stream and keeps every byte.
type recorder struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	from int64
	sub  *Subscription
	done chan struct{}
	err  error // what ended the recording, under mu
}

func record(t testing.TB, s *Store, from int64) *recorder {
	t.Helper()
	sub, err := s.Subscribe(from, SubscribeLimits{})
	if err != nil {
		t.Fatal(err)
	}
	return recordSub(t, sub, from)
}

func recordSub(t testing.TB, sub *Subscription, from int64) *recorder {
	r := &recorder{from: from, sub: sub, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		var b []byte
		for {
			data, _, err := sub.Next(context.Background(), b)
			if err != nil {
				r.mu.Lock()
				r.err = err
				r.mu.Unlock()
				return
			}
			r.mu.Lock()
			r.buf.Write(data)
			r.mu.Unlock()
			b = data
		}
	}()
	t.Cleanup(func() { sub.Close(); <-r.done })
	return r
}

// bytesUntil waits until the recorder holds the stream up to offset end
// and returns it.
func (r *recorder) bytesUntil(t testing.TB, end int64) []byte {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r.mu.Lock()
		n := r.from + int64(r.buf.Len())
		if n >= end {
			b := bytes.Clone(r.buf.Bytes()[:end-r.from])
			r.mu.Unlock()
			return b
		}
		err := r.err
		r.mu.Unlock()
		if err != nil {
			t.Fatalf("stream ended at offset %d, want %d: %v", n, end, err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream stuck at offset %d, want %d", n, end)
		}
		time.Sleep(time.Millisecond)
	}
}

// applyStream applies every command in b to s, as a replica would.
func applyStream(t testing.TB, s *Store, b []byte) {
	t.Helper()
	rd := resp.NewReader(bytes.NewReader(b), resp.Limits{})
	for {
		cmd, err := rd.ReadCommand()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("stream at byte %d: %v", rd.Offset(), err)
		}
		if err := s.applyCommand(cmd.Raw, cmd.Args); err != nil {
			t.Fatalf("apply %q: %v", cmd.Raw, err)
		}
	}
}

// commands splits a stream into its commands, for readable assertions.
func commands(t testing.TB, b []byte) [][]string {
	t.Helper()
	var out [][]string
	rd := resp.NewReader(bytes.NewReader(b), resp.Limits{})
	for {
		cmd, err := rd.ReadCommand()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("stream at byte %d: %v", rd.Offset(), err)
		}
		var c []string
		for _, a := range cmd.Args {
			c = append(c, string(a))
		}
		out = append(out, c)
	}
}

// setRole gives s role r without a link, as if ReplicaOf or Promote had
// run: for tests of one side of replication in isolation.
func setRole(s *Store, r Role) {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	s.st.role.Store(int32(r))
}
