package replikv

// Adversarial review of issue 13 (one shared stream buffer, blocks reused
// once no reader can touch them). Each test here failed on the commit
// under review.

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/replikv/replikv/resp"
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
