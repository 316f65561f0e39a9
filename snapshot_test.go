package replikv

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// randomKeyspace fills s with keys exercising every encoding a snapshot
// has: binary keys and values, empty values, integers at each int
// encoding boundary, large and compressible values, and deadlines.
func randomKeyspace(t testing.TB, s *Store, rng *rand.Rand, n int) {
	t.Helper()
	ints := []int64{0, 1, -1, 127, 128, -128, -129, 255, 256, 32767, 32768, -32768, -32769,
		1<<31 - 1, 1 << 31, -1 << 31, -1<<31 - 1, 1<<63 - 1, -1 << 63}
	future := time.Now().Add(time.Hour).UnixMilli()
	for i := 0; i < n; i++ {
		var key string
		switch rng.IntN(4) {
		case 0:
			b := make([]byte, rng.IntN(40))
			for j := range b {
				b[j] = byte(rng.Uint32())
			}
			key = string(b)
		case 1:
			key = strconv.FormatInt(ints[rng.IntN(len(ints))]+int64(i), 10)
		default:
			key = fmt.Sprintf("key:%d", i)
		}
		var val []byte
		switch rng.IntN(8) {
		case 0:
			val = nil
		case 1:
			val = []byte(strconv.FormatInt(ints[rng.IntN(len(ints))], 10))
		case 2:
			val = bytes.Repeat([]byte("abcdefghij"), 1+rng.IntN(300)) // compressible
		case 3:
			val = []byte{'0', '7'} // not canonical: stays text
		default:
			val = make([]byte, rng.IntN(200))
			for j := range val {
				val[j] = byte(rng.Uint32())
			}
		}
		opt := SetOptions{}
		if rng.IntN(3) == 0 {
			opt.ExpireAt = time.UnixMilli(future + rng.Int64N(1e9))
		}
		if _, err := s.SetWithOptions(key, val, opt); err != nil {
			t.Fatal(err)
		}
	}
	big := make([]byte, 1<<20)
	for j := range big {
		big[j] = byte(rng.Uint32())
	}
	must(t, s.Set("big:random", big))
	must(t, s.Set("big:zeros", make([]byte, 1<<20)))
}

func snapshotBytes(t testing.TB, s *Store) ([]byte, *Snapshot) {
	t.Helper()
	sn, err := s.BeginSnapshot(context.Background())
	must(t, err)
	var buf bytes.Buffer
	if _, err := sn.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), sn
}

func TestSnapshotRoundTrip(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		src := newStore(t, Config{ActiveExpiryInterval: -1})
		randomKeyspace(t, src, rand.New(rand.NewPCG(seed, 1)), 3000)
		b, sn := snapshotBytes(t, src)

		dst := newStore(t, Config{ActiveExpiryInterval: -1})
		must(t, dst.Set("stale", []byte("replaced by the load")))
		stats, err := dst.LoadSnapshot(context.Background(), bytes.NewReader(b), LoadOptions{})
		must(t, err)
		if d := cmp.Diff(dump(src), dump(dst)); d != "" {
			t.Fatalf("seed %d: loaded keyspace differs (-src +dst):\n%s", seed, d)
		}
		id, off := dst.Position()
		if id != sn.ReplID() || off != sn.Offset() || stats.Keys != src.Len() || stats.Bytes != int64(len(b)) {
			t.Fatalf("seed %d: adopted %s@%d stats %+v; want %s@%d, %d keys, %d bytes", seed, id, off, stats, sn.ReplID(), sn.Offset(), src.Len(), len(b))
		}
	}
}

func TestSnapshotEmptyAndNoCompression(t *testing.T) {
	s := newStore(t, Config{SnapshotNoCompression: true})
	b, _ := snapshotBytes(t, s)
	d := newStore(t, Config{})
	if _, err := d.LoadSnapshot(context.Background(), bytes.NewReader(b), LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	must(t, s.Set("a", bytes.Repeat([]byte("a"), 1000)))
	b, _ = snapshotBytes(t, s)
	if !bytes.Contains(b, bytes.Repeat([]byte("a"), 1000)) {
		t.Fatal("SnapshotNoCompression still compressed")
	}
}

// TestLoadFailureKeepsData: a corrupt or truncated snapshot changes
// nothing (invariant 5).
func TestLoadFailureKeepsData(t *testing.T) {
	src := newStore(t, Config{})
	randomKeyspace(t, src, rand.New(rand.NewPCG(9, 9)), 500)
	b, _ := snapshotBytes(t, src)

	dst := newStore(t, Config{})
	for i := 0; i < 100; i++ {
		must(t, dst.Set(fmt.Sprint("mine", i), []byte("keep")))
	}
	before := dump(dst)
	id, off := dst.Position()
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200; i++ {
		bad := bytes.Clone(b)
		if i%2 == 0 {
			p := rng.IntN(len(bad))
			bad[p] ^= 1 << rng.IntN(8)
		} else {
			bad = bad[:rng.IntN(len(bad))]
		}
		if _, err := dst.LoadSnapshot(context.Background(), bytes.NewReader(bad), LoadOptions{}); err == nil {
			t.Fatalf("case %d: corrupt snapshot loaded without error", i)
		}
	}
	if d := cmp.Diff(before, dump(dst)); d != "" {
		t.Fatalf("failed loads changed the data:\n%s", d)
	}
	if id2, off2 := dst.Position(); id2 != id || off2 != off {
		t.Fatal("failed loads changed the replication position")
	}
}

// TestSnapshotPoint proves invariant 2: with writers running during the
// snapshot, the snapshot tagged X equals the stream applied up to X, and
// the snapshot plus the stream from X equals the live keyspace.
func TestSnapshotPoint(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { snapshotPoint(t, seed) })
	}
}

func snapshotPoint(t *testing.T, seed uint64) {
	live := newStore(t, Config{Shards: 64, ActiveExpiryInterval: time.Millisecond})
	whole := record(t, live, 0) // the stream from the beginning
	randomKeyspace(t, live, rand.New(rand.NewPCG(seed, 7)), 2000)

	var stop atomic.Bool
	var wg sync.WaitGroup
	var ops atomic.Int64
	for w := 0; w < 4; w++ {
		rng := rand.New(rand.NewPCG(seed, uint64(w)))
		wg.Go(func() { randomWriter(t, live, rng, &stop, &ops) })
	}
	for ops.Load() < 500 { // writers are running
		time.Sleep(100 * time.Microsecond)
	}
	lim := SubscribeLimits{}
	sn, fromX, err := live.beginSnapshot(context.Background(), &lim)
	must(t, err)
	tail := recordSub(t, fromX, sn.Offset())
	opsAtStart := ops.Load()
	var buf bytes.Buffer
	if _, err := sn.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	during := ops.Load() - opsAtStart
	time.Sleep(5 * time.Millisecond) // let writers go on after the snapshot, too
	stop.Store(true)
	wg.Wait()
	// Active expiry goes on: take the keyspace and its offset together.
	live.lockAll()
	liveAtEnd, end := dumpLocked(live), live.st.end
	live.unlockAll()
	if during == 0 {
		t.Log("no write overlapped the snapshot this time")
	}

	// Snapshot + stream from X == live.
	r := newStore(t, Config{Shards: 16})
	_, err = r.LoadSnapshot(context.Background(), bytes.NewReader(buf.Bytes()), LoadOptions{})
	must(t, err)
	setRole(r, RoleReplica)
	atX := dump(r)
	applyStream(t, r, tail.bytesUntil(t, end))
	if d := cmp.Diff(liveAtEnd, dump(r)); d != "" {
		t.Fatalf("snapshot + stream from %d differs from live (-live +replica):\n%s", sn.Offset(), d)
	}
	if _, off := r.Position(); off != end {
		t.Fatalf("replica offset %d, primary %d", off, end)
	}

	// Stream up to X == snapshot.
	z := newStore(t, Config{})
	setRole(z, RoleReplica)
	applyStream(t, z, whole.bytesUntil(t, sn.Offset()))
	if d := cmp.Diff(dump(z), atX); d != "" {
		t.Fatalf("snapshot at %d differs from the stream applied up to it (-stream +snapshot):\n%s", sn.Offset(), d)
	}
	t.Logf("offset X=%d end=%d, %d writes during the snapshot", sn.Offset(), end, during)
}

// randomWriter issues every kind of write until stop.
func randomWriter(t testing.TB, s *Store, rng *rand.Rand, stop *atomic.Bool, ops *atomic.Int64) {
	for !stop.Load() {
		k := fmt.Sprintf("key:%d", rng.IntN(3000))
		var err error
		switch op := rng.IntN(100); {
		case op < 40:
			err = s.Set(k, []byte(strconv.Itoa(rng.IntN(1e6))))
		case op < 50:
			err = s.SetTTL(k, []byte("ttl"), time.Duration(1+rng.IntN(20))*time.Millisecond)
		case op < 60:
			_, err = s.Delete(k)
		case op < 70:
			_, err = s.IncrBy(fmt.Sprintf("ctr:%d", rng.IntN(50)), int64(rng.IntN(10)))
		case op < 78:
			_, err = s.Append(k, []byte("+"))
		case op < 86:
			_, err = s.Expire(k, time.Duration(1+rng.IntN(50))*time.Millisecond)
		case op < 94:
			_, err = s.Persist(k)
		case op < 99:
			_, err = s.SetWithOptions(k, []byte("kt"), SetOptions{KeepTTL: true})
		default:
			if rng.IntN(20) == 0 {
				err = s.FlushAll()
			}
		}
		if err != nil && err != ErrNotInteger {
			t.Error(err)
			return
		}
		ops.Add(1)
	}
}
