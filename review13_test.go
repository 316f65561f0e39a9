package replikv

// Adversarial review of issue 13 (one shared stream buffer, blocks reused
// once no reader can touch them). Each test here failed on the commit
// under review.

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/replikv/replikv/resp"
	"github.com/replikv/replikv/transport"
)

// review13Fill appends n bytes of SET commands to s's stream as a
// replica's link would (the stream is exactly what the primary sent), and
// returns them.
func review13Fill(s *Store, tag string, n int) []byte {
	var all []byte
	val := bytes.Repeat([]byte{'v'}, 1000)
	for i := 0; len(all) < n; i++ {
		raw := resp.AppendCommandString(nil, "SET", fmt.Sprintf("%s:%d", tag, i), string(val))
		s.appendRaw(raw)
		all = append(all, raw...)
	}
	return all
}

func concatParts(parts [][]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// A subscription closed by a role change while its owner still uses the
// shared slices it took (a feeder's vectored write to a replica, or
// Next's copy) must keep those blocks from being reused until its owner
// lets go: Promote (and a +CONTINUE with a new ID) closed the subscribers
// with closeSubsLocked, which forgot them all at once without a Reset, so
// the next writes reused the blocks under the owner's feet.
func TestReview13PromoteKeepsLentSlices(t *testing.T) {
	for _, zeroCopy := range []bool{false, true} {
		t.Run(fmt.Sprintf("zeroCopy=%v", zeroCopy), func(t *testing.T) {
			s := newStore(t, Config{BacklogSize: 16 << 10})
			setRole(s, RoleReplica)
			sub, err := s.Subscribe(0, SubscribeLimits{Hard: 1 << 30, Soft: 1 << 30})
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Close()
			stream := review13Fill(s, "a", 400<<10) // far beyond the window: the lagging bytes sit in freed blocks
			// What Next does before its copy, or what a feeder takes for
			// its vectored write.
			parts, off, err := sub.nextParts(context.Background(), nil, 0, zeroCopy)
			if err != nil || off != 0 {
				t.Fatalf("nextParts: off %d, err %v", off, err)
			}
			if got := concatParts(parts); !bytes.Equal(got, stream[:len(got)]) {
				t.Fatal("slices differ from the stream before the promotion")
			}
			if err := s.Promote(); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 400; i++ { // the promoted primary's writes
				if err := s.Set(fmt.Sprintf("b:%d", i), bytes.Repeat([]byte{'X'}, 1000)); err != nil {
					t.Fatal(err)
				}
			}
			got := concatParts(parts)
			if !bytes.Equal(got, stream[:len(got)]) {
				i := 0
				for i < len(got) && got[i] == stream[i] {
					i++
				}
				t.Fatalf("the slices still in use were overwritten by later writes after Promote: first difference at offset %d of %d", i, len(got))
			}
		})
	}
}

// SubscribeLimits.Soft closes a subscription when more than Soft bytes
// "stay pending for longer than SoftFor". A subscriber that went over the
// soft limit once, then read everything, was closed by the first later
// write that put it over again, however long it had been caught up: the
// soft timer was reset only by a write that found the lag under the
// limit, never by the reader catching up (the per-subscriber buffer it
// replaced reset it in Next).
func TestReview13SoftLimitRestartsOnceCaughtUp(t *testing.T) {
	s := newStore(t, Config{BacklogSize: 16 << 10})
	sub, err := s.Subscribe(0, SubscribeLimits{Hard: 1 << 20, Soft: 1000, SoftFor: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	sub.now = func() time.Time { return time.Unix(0, now.Load()) }
	big := bytes.Repeat([]byte{'x'}, 1500)
	must(t, s.Set("a", big)) // over the soft limit: the timer starts
	ctx := context.Background()
	if _, _, err := sub.Next(ctx, nil); err != nil { // caught up: nothing pending
		t.Fatal(err)
	}
	if p := sub.Pending(); p != 0 {
		t.Fatalf("Pending = %d after Next", p)
	}
	now.Add(int64(time.Minute)) // caught up for a minute
	must(t, s.Set("b", big))    // over the limit again, for no time at all
	if err := sub.Err(); err != nil {
		t.Fatalf("closed although caught up for a minute and over the soft limit for no time: %v", err)
	}
}

// Replicas fed from a small shared buffer whose blocks are reused at the
// stream's rate receive exactly the primary's stream: each replica's own
// stream (what it applied, byte for byte) equals the primary's over the
// same offsets, with concurrent writers of values of every size and
// public subscribers reading in place beside the feeders.
func TestReview13ReplicasReceiveExactStreamUnderReuse(t *testing.T) {
	mn := memNet{transport.NewMemNetwork()}
	cfg := fastConfig()
	cfg.BacklogSize = 16 << 10
	cfg.ActiveExpiryInterval = -1
	cfg.ReplicaOutputLimits = SubscribeLimits{Hard: 1 << 30, Soft: 1 << 30}
	p := node(t, mn, "p", cfg)
	r1 := node(t, mn, "r1", cfg)
	r2 := node(t, mn, "r2", cfg)
	must(t, r1.ReplicaOf(mn.dialer("p")))
	must(t, r2.ReplicaOf(mn.dialer("r1"))) // chained: r1 feeds from its own reused blocks
	waitSynced(t, r1)
	waitSynced(t, r2)
	_, start := p.Position()
	waitOffset := func(s *Store, off int64) {
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(time.Millisecond) {
			if _, o := s.Position(); o >= off {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("stuck before offset %d", off)
			}
		}
	}
	waitOffset(r1, start)
	waitOffset(r2, start)
	recP := record(t, p, start)
	recR1 := record(t, r1, start)
	recR2 := record(t, r2, start)
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(13, uint64(w)))
			for i := range 1500 {
				n := rng.IntN(64)
				if rng.IntN(10) == 0 {
					n = rng.IntN(40 << 10)
				}
				v := bytes.Repeat([]byte{byte('a' + (i+w)%26)}, n)
				if err := p.Set(fmt.Sprintf("k%d:%d", w, rng.IntN(500)), v); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	_, end := p.Position()
	want := recP.bytesUntil(t, end)
	waitOffset(r1, end)
	waitOffset(r2, end)
	if got := recR1.bytesUntil(t, end); !bytes.Equal(got, want) {
		t.Fatalf("r1's stream differs from the primary's over [%d, %d)", start, end)
	}
	if got := recR2.bytesUntil(t, end); !bytes.Equal(got, want) {
		t.Fatalf("r2's stream differs from the primary's over [%d, %d)", start, end)
	}
	waitConverged(t, p, r1, r2)
}

// Info.ReplBufferBytes counts the stream "from the oldest byte any of
// them still needs": a subscriber whose Next copied its pending bytes out
// needs none of them any more, yet it was counted from the start of that
// copy until its next call to Next (while its owner processed the batch),
// so a subscriber that had lagged by megabytes showed megabytes kept
// although the blocks were free.
func TestReview13ReplBufferBytesAfterNextCopied(t *testing.T) {
	s := newStore(t, Config{BacklogSize: 64 << 10, ActiveExpiryInterval: -1})
	sub, err := s.Subscribe(0, SubscribeLimits{Hard: 1 << 30, Soft: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	val := bytes.Repeat([]byte{'v'}, 1000)
	for i := range 4000 {
		must(t, s.Set(fmt.Sprint("k", i%100), val))
	}
	if got := s.Info().ReplBufferBytes; got < 4e6 {
		t.Fatalf("ReplBufferBytes = %d while the subscriber lags by 4 MB", got)
	}
	data, _, err := sub.Next(context.Background(), nil)
	if err != nil || len(data) < 4e6 {
		t.Fatalf("Next: %d bytes, %v", len(data), err)
	}
	// The owner now processes its copy; the stream keeps only its backlog.
	in := s.Info()
	if in.ReplBufferBytes > in.BacklogHistLen+backlogBlock {
		t.Fatalf("ReplBufferBytes = %d after the subscriber copied everything out (backlog %d)", in.ReplBufferBytes, in.BacklogHistLen)
	}
}

const backlogBlock = 16 << 10
