package replikv

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/replikv/replikv/transport"
)

func TestAtomicPropagatesMultiExec(t *testing.T) {
	s := newStore(t, Config{ActiveExpiryInterval: -1})
	rec := record(t, s, 0)
	must(t, s.Atomic(func(tx *Tx) error {
		must(t, tx.Set("a", []byte("1")))
		if _, err := tx.IncrBy("a", 2); err != nil {
			return err
		}
		if v, err := tx.Get("a"); err != nil || string(v) != "3" {
			t.Errorf("Get inside the transaction = %q, %v", v, err)
		}
		return nil
	}))
	must(t, s.Atomic(func(tx *Tx) error { // one write: no MULTI
		_, err := tx.Delete("a")
		return err
	}))
	must(t, s.Atomic(func(tx *Tx) error { return nil })) // no write: nothing
	wantErr := errors.New("stop")
	if err := s.Atomic(func(tx *Tx) error {
		tx.Set("b", []byte("kept"))
		return wantErr
	}); err != wantErr {
		t.Fatalf("Atomic returned %v", err)
	}
	_, end := s.Position()
	got := commands(t, rec.bytesUntil(t, end))
	// SELECT goes before the first transaction's MULTI, as in Redis.
	want := [][]string{{"SELECT", "0"}, {"MULTI"}, {"SET", "a", "1"}, {"SET", "a", "3"}, {"EXEC"}, {"DEL", "a"}, {"SET", "b", "kept"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("stream (-want +got):\n%s", d)
	}
	if v, _ := s.Get("b"); string(v) != "kept" {
		t.Fatal("writes before an error are kept (no rollback, like Redis)")
	}
}

func TestWaitReplicasAndDisconnect(t *testing.T) {
	mn := memNet{transport.NewMemNetwork()}
	cfg := fastConfig()
	cfg.AckPeriod = time.Hour // only GETACK makes them ACK
	cfg.ReplTimeout = 2 * time.Hour
	p := node(t, mn, "p", cfg)
	r1, r2 := newStore(t, cfg), newStore(t, cfg)
	must(t, r1.ReplicaOf(mn.dialer("p")))
	must(t, r2.ReplicaOf(mn.dialer("p")))
	waitSynced(t, r1)
	waitSynced(t, r2)
	must(t, p.Set("k", []byte("v")))
	_, off := p.Position()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if n := p.WaitReplicas(ctx, 2, off); n != 2 {
		t.Fatalf("WaitReplicas = %d, want 2", n)
	}
	short, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	if n := p.WaitReplicas(short, 3, off); n != 2 {
		t.Fatalf("WaitReplicas(3) = %d after its timeout, want 2", n)
	}

	before := p.Info()
	if n := p.DisconnectReplicas(); n != 2 {
		t.Fatalf("DisconnectReplicas = %d", n)
	}
	waitPartial := func(want int64) {
		deadline := time.Now().Add(5 * time.Second)
		for p.Info().SyncPartialOK < want {
			if time.Now().After(deadline) {
				t.Fatalf("partial resyncs %d -> %d, want %d", before.SyncPartialOK, p.Info().SyncPartialOK, want)
			}
			time.Sleep(time.Millisecond)
		}
	}
	waitPartial(before.SyncPartialOK + 2)
	waitSynced(t, r1)
	if !r1.DisconnectPrimary() {
		t.Fatal("DisconnectPrimary found no link")
	}
	waitPartial(before.SyncPartialOK + 3)
	if p.Info().SyncFull != before.SyncFull {
		t.Fatal("a disconnect cost a full resync")
	}
	waitConverged(t, p, r1, r2)
}

func TestReconfigure(t *testing.T) {
	s := newStore(t, Config{})
	for i := 0; i < 5000; i++ {
		must(t, s.Set("k", make([]byte, 100)))
	}
	_, end := s.Position()
	must(t, s.Reconfigure(func(c *Config) { c.BacklogSize = 32 << 10; c.Password = "pw" }))
	first, end2 := s.BacklogRange()
	if end2 != end || end-first != 32<<10 || s.Config().Password != "pw" {
		t.Fatalf("after resize: backlog [%d, %d), end %d, password %q", first, end2, end, s.Config().Password)
	}
	if err := s.Reconfigure(func(c *Config) { c.Shards = 2 }); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("changing Shards: %v", err)
	}
	if err := s.Reconfigure(func(c *Config) { c.BacklogSize = 10 }); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("invalid size: %v", err)
	}
	setRole(s, RoleReplica)
	if err := s.Set("x", nil); !errors.Is(err, ErrReadOnly) {
		t.Fatal(err)
	}
	must(t, s.Reconfigure(func(c *Config) { c.ReplicaWritable = true }))
	must(t, s.Set("x", nil))
}
