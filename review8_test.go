package replikv

// Adversarial review of issue 8 (one role state, Close-safe control calls,
// single-use snapshots). Each TestReview* test demonstrates one finding;
// a failing test is the finding's proof.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/replikv/replikv/transport"
)

// reviewRDB returns an RDB snapshot of a fresh store holding kv.
func reviewRDB(t *testing.T, kv map[string]string) []byte {
	t.Helper()
	x := newStore(t, Config{})
	for k, v := range kv {
		must(t, x.Set(k, []byte(v)))
	}
	sn, err := x.BeginSnapshot(context.Background())
	must(t, err)
	var buf bytes.Buffer
	if _, err := sn.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestReviewLoadSnapshotAfterClose: Close promises that writes return
// ErrClosed afterwards, but LoadSnapshot (the biggest write there is)
// still replaces the keyspace and the stream's history of a closed store.
func TestReviewLoadSnapshotAfterClose(t *testing.T) {
	img := reviewRDB(t, map[string]string{"foreign": "x"})
	s := newStore(t, Config{})
	must(t, s.Set("mine", []byte("1")))
	idBefore, offBefore := s.Position()
	must(t, s.Close())
	if err := s.Set("k", []byte("v")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Set after Close = %v, want ErrClosed", err)
	}
	_, err := s.LoadSnapshot(context.Background(), bytes.NewReader(img), LoadOptions{})
	idAfter, offAfter := s.Position()
	_, gerr := s.Get("foreign")
	if !errors.Is(err, ErrClosed) || gerr == nil || idAfter != idBefore || offAfter != offBefore {
		t.Fatalf("LoadSnapshot after Close = %v (want ErrClosed); Get(foreign) = %v (want ErrNotFound); history %s@%d -> %s@%d (want unchanged)",
			err, gerr, idBefore, offBefore, idAfter, offAfter)
	}
}

// TestReviewLoadSnapshotOnReplica: the role is supposed to decide every
// API write under the stream lock, yet LoadSnapshot on a read-only
// replica with a live link succeeds: the replica's keyspace and history
// are replaced while it keeps applying its primary's stream on top, so
// it holds keys its primary never had, at an offset unrelated to the
// primary's.
func TestReviewLoadSnapshotOnReplica(t *testing.T) {
	mn := memNet{transport.NewMemNetwork()}
	a := node(t, mn, "a", fastConfig())
	b := node(t, mn, "b", fastConfig())
	must(t, a.Set("k", []byte("1")))
	must(t, b.ReplicaOf(mn.dialer("a")))
	waitSynced(t, b)
	waitConverged(t, a, b)
	if err := b.Set("x", nil); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("Set on the replica = %v, want ErrReadOnly", err)
	}
	img := reviewRDB(t, map[string]string{"foreign": "x"})
	_, err := b.LoadSnapshot(context.Background(), bytes.NewReader(img), LoadOptions{})
	if err == nil {
		must(t, a.Set("k2", []byte("2"))) // still applied by b, on top of the foreign data
		aid, aoff := a.Position()
		bid, boff := b.Position()
		_, gerr := b.Get("foreign")
		t.Fatalf("LoadSnapshot on a read-only replica returned nil (want ErrReadOnly): replica holds foreign=%v, history %s@%d vs primary %s@%d",
			gerr == nil, bid, boff, aid, aoff)
	}
	if !errors.Is(err, ErrReadOnly) {
		t.Fatalf("LoadSnapshot on a read-only replica = %v, want ErrReadOnly", err)
	}
}

// TestReviewWaitSyncedAfterClose: after Close every call should return
// ErrClosed, but WaitSynced on a closed replica reports success (nil), as
// if the replica were in sync, because Close's stopLink cleared the link
// WaitSynced looks at. Info also reports the closed replica as "master".
func TestReviewWaitSyncedAfterClose(t *testing.T) {
	mn := memNet{transport.NewMemNetwork()}
	b := node(t, mn, "b", fastConfig())
	must(t, b.ReplicaOf(mn.dialer("nowhere"))) // never synced
	must(t, b.Close())
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := b.WaitSynced(ctx)
	if !errors.Is(err, ErrClosed) {
		t.Fatalf("WaitSynced on a closed, never-synced replica = %v, want ErrClosed (Info role %q, link %v)",
			err, b.Info().Role, b.LinkStatus())
	}
}

// TestReviewInfoTornAcrossPromote: Info reads the history (replid,
// replid2, offset) under the stream lock but the role afterwards without
// it, so a Promote in between yields a report no state ever had: role
// "master" with the old primary's replid and no replid2 (a promoted
// store always has replid2 = the old id and a new replid).
func TestReviewInfoTornAcrossPromote(t *testing.T) {
	mn := memNet{transport.NewMemNetwork()}
	a := node(t, mn, "a", fastConfig())
	b := node(t, mn, "b", fastConfig())
	must(t, a.Set("k", []byte("1")))
	must(t, b.ReplicaOf(mn.dialer("a")))
	waitSynced(t, b)
	waitConverged(t, a, b)
	oldID, _ := a.Position()

	b.prim.mu.Lock() // Info takes it after its stream-locked section
	locked := true
	defer func() { // a failure below must not leave the store's Close hanging on it
		if locked {
			b.prim.mu.Unlock()
		}
	}()
	res := make(chan Info, 1)
	go func() { res <- b.Info() }()
	waitBlocked(t, "(*Store).Info", "(*Mutex).Lock", fmt.Sprintf("info.go:%d", lineOf(t, "info.go", "\tp.mu.Lock()"))) // parked on prim.mu, past the stream lock
	must(t, b.Promote())
	b.prim.mu.Unlock()
	locked = false
	in := <-res
	if in.Role == "master" && (in.ReplID == oldID || in.ReplID2 != oldID) {
		t.Fatalf("Info during Promote: role %q with replid %s (old primary's: %v) and replid2 %s; a master after Promote has replid2 = %s",
			in.Role, in.ReplID, in.ReplID == oldID, in.ReplID2, oldID)
	}
	if in.Role == "slave" && in.ReplID != oldID {
		t.Fatalf("Info during Promote: role slave with the promoted history %s", in.ReplID)
	}
}

// lineOf returns the number of the first line of file that is text.
func lineOf(t *testing.T, file, text string) int {
	t.Helper()
	b, err := os.ReadFile(file)
	must(t, err)
	for i, line := range strings.Split(string(b), "\n") {
		if line == text {
			return i + 1
		}
	}
	t.Fatalf("%s has no line %q", file, text)
	return 0
}

// TestReviewScanCutShortLooksComplete: the new stale-read rule makes Scan
// return (nil, 0) on a replica whose link is down. Cursor 0 is also how
// Scan says "iteration complete", so a caller scanning while the link
// drops ends with a silently partial key set and no way to tell (Redis
// answers -MASTERDOWN; ExpireTime/TTL likewise answer "no such key").
func TestReviewScanCutShortLooksComplete(t *testing.T) {
	s := newStore(t, Config{Shards: 4, RefuseStaleReads: true})
	const n = 100
	for i := range n {
		must(t, s.Set(fmt.Sprint("k", i), []byte("v")))
	}
	setRole(s, RoleReplica)
	s.rep.state.Store(int32(LinkUp))
	seen := map[string]bool{}
	keys, cur, err := s.Scan(0, 10)
	must(t, err)
	for _, k := range keys {
		seen[k] = true
	}
	if cur == 0 {
		t.Fatal("first Scan page ended the iteration")
	}
	s.rep.state.Store(int32(LinkDown)) // the link drops mid-iteration
	for cur != 0 {
		keys, cur, err = s.Scan(cur, 10)
		if err != nil {
			if !errors.Is(err, ErrSyncing) {
				t.Fatalf("Scan on a stale replica: %v", err)
			}
			return // refused, visibly
		}
		for _, k := range keys {
			seen[k] = true
		}
	}
	if len(seen) != n {
		t.Fatalf("Scan iteration completed (cursor 0, no error) with %d of %d keys: a refused read looks like the end of the keyspace", len(seen), n)
	}
}

// TestReviewKeepTTLAtDeadline: the change moved the expiry boundary to
// Redis's (a key exists during the millisecond of its deadline: expired
// only when now > deadline), but SET KEEPTTL still deletes the key when
// its kept deadline is <= now. At the deadline's millisecond the key is
// readable, and SET k v2 KEEPTTL (Redis: k=v2, same deadline) instead
// deletes it and streams DEL.
func TestReviewKeepTTLAtDeadline(t *testing.T) {
	clk := newFakeClock()
	s := newStore(t, Config{Now: clk.Now})
	dl := clk.Now().UnixMilli() + 10
	must(t, setOpt(s, "k", "v1", SetOptions{ExpireAt: time.UnixMilli(dl)}))
	clk.Advance(10 * time.Millisecond) // now == deadline
	if v, err := s.Get("k"); err != nil || string(v) != "v1" {
		t.Fatalf("Get at the deadline's millisecond = %q, %v; want v1 (now > deadline rule)", v, err)
	}
	must(t, setOpt(s, "k", "v2", SetOptions{KeepTTL: true}))
	v, err := s.Get("k")
	if err != nil || string(v) != "v2" {
		t.Fatalf("after SET KEEPTTL at the deadline's millisecond: Get = %q, %v; want v2 with deadline %d (as Redis)", v, err, dl)
	}
}

// setOpt is SetWithOptions returning only the error.
func setOpt(s *Store, key, value string, opt SetOptions) error {
	_, err := s.SetWithOptions(key, []byte(value), opt)
	return err
}

// TestReviewWaitSyncedOrphanedByReplicaOf: WaitSynced waits on the
// channel r.synced of the moment; ReplicaOf (startLink) replaces that
// channel without closing the old one, so a caller already waiting is
// never woken, even once the store is synced with its new primary: it
// waits for its whole ctx (forever with context.Background()).
func TestReviewWaitSyncedOrphanedByReplicaOf(t *testing.T) {
	mn := memNet{transport.NewMemNetwork()}
	a := node(t, mn, "a", fastConfig())
	b := node(t, mn, "b", fastConfig())
	must(t, a.Set("k", []byte("v")))
	must(t, b.ReplicaOf(mn.dialer("nowhere"))) // a primary that never answers
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res := make(chan error, 1)
	go func() { res <- b.WaitSynced(ctx) }()
	waitBlocked(t, "(*Store).WaitSynced", "select")
	must(t, b.ReplicaOf(mn.dialer("a"))) // re-pointed at a live primary
	waitSynced(t, b)                     // a new call sees the sync at once
	waitConverged(t, a, b)
	select {
	case err := <-res:
		if err != nil {
			t.Fatalf("WaitSynced = %v after the store synced, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("WaitSynced started before ReplicaOf still blocked 5s after the store synced (link %v)", b.LinkStatus())
	}
}

// TestReviewWaitSyncedOrphanedByPromote: the same with Promote: a caller
// waiting for the first sync when the store is promoted stays blocked,
// although WaitSynced on a primary returns nil at once.
func TestReviewWaitSyncedOrphanedByPromote(t *testing.T) {
	mn := memNet{transport.NewMemNetwork()}
	b := node(t, mn, "b", fastConfig())
	must(t, b.ReplicaOf(mn.dialer("nowhere")))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res := make(chan error, 1)
	go func() { res <- b.WaitSynced(ctx) }()
	waitBlocked(t, "(*Store).WaitSynced", "select")
	must(t, b.Promote())
	if err := b.WaitSynced(context.Background()); err != nil {
		t.Fatalf("WaitSynced on the promoted store = %v", err)
	}
	select {
	case <-res:
	case <-time.After(5 * time.Second):
		t.Fatalf("WaitSynced started before Promote still blocked 5s after it (role %v)", b.Role())
	}
}

// TestReviewInfoListsReplicaWaitingForSnapshot: issue 8 asks that replicas
// in wait_bgsave/send_bulk appear in Info (they appeared only once
// streaming). They still do not: p.replicas is filled by feed, after the
// snapshot was sent, so a replica waiting for the snapshot right is
// invisible to Info although rc.state says "wait_bgsave".
func TestReviewInfoListsReplicaWaitingForSnapshot(t *testing.T) {
	mn := memNet{transport.NewMemNetwork()}
	a := node(t, mn, "a", fastConfig())
	b := node(t, mn, "b", fastConfig())
	must(t, a.Set("k", []byte("v")))
	hold, err := a.BeginSnapshot(context.Background()) // the full sync must wait for it
	must(t, err)
	must(t, b.ReplicaOf(mn.dialer("a")))
	// The full sync cannot start while hold runs: the replica must be
	// listed meanwhile, waiting.
	deadline := time.Now().Add(10 * time.Second)
	var in Info
	for {
		in = a.Info()
		if len(in.Replicas) > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	must(t, hold.Close())
	waitSynced(t, b)
	if len(in.Replicas) != 1 || in.Replicas[0].State != "wait_bgsave" {
		t.Fatalf("Info().Replicas while a replica waits for its full sync = %+v, want one in wait_bgsave", in.Replicas)
	}
}
