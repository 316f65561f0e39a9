package replikv

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/replikv/replikv/transport"
)

// logBuffer is an io.Writer safe for a slog handler used by goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A primary cut off from its replica keeps writing; the replica is
// promoted; the old primary made its replica must resync in full, and
// say in Info and the log how many bytes of its history it dropped.
func TestDemotedPrimaryDropsHistoryLoudly(t *testing.T) {
	mn := memNet{transport.NewMemNetwork()}
	f := transport.NewFaults(1)
	var logs logBuffer
	acfg := fastConfig()
	acfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	a := node(t, mn, "a", acfg)
	b := node(t, mn, "b", fastConfig())
	must(t, b.ReplicaOf(f.Dialer("b", "a", mn.dialer("a"))))
	waitSynced(t, b)
	for i := range 50 {
		must(t, a.Set(fmt.Sprintf("both%d", i), []byte("v")))
	}
	poll(t, 10*time.Second, "b caught up", func() bool {
		_, ao := a.Position()
		_, bo := b.Position()
		return ao == bo
	})

	f.Partition("b", "a")
	poll(t, 10*time.Second, "b's link down", func() bool { return b.LinkStatus() != LinkUp })
	for i := range 30 {
		must(t, a.Set(fmt.Sprintf("onlyA%d", i), []byte("lost")))
	}
	oldID, aEnd := a.Position()

	must(t, b.Promote())
	bi := b.Info()
	if bi.ReplID2 != oldID {
		t.Fatalf("b continued %q, want a's history %q", bi.ReplID2, oldID)
	}
	kept := bi.SecondOffset - 1
	if kept >= aEnd {
		t.Fatalf("b kept %d of a's %d bytes: the partition did not hold back any", kept, aEnd)
	}
	must(t, b.Set("onlyB", []byte("new")))

	must(t, a.ReplicaOf(mn.dialer("b")))
	waitSynced(t, a)

	ai := a.Info()
	if ai.Master.FullSyncs != 1 {
		t.Errorf("a's full syncs = %d, want 1", ai.Master.FullSyncs)
	}
	want := aEnd - kept
	if ai.DroppedHistoryBytes != want {
		t.Errorf("DroppedHistoryBytes = %d, want %d (a's end %d - b's kept %d)", ai.DroppedHistoryBytes, want, aEnd, kept)
	}
	d := ai.LastDroppedHistory
	if d == nil {
		t.Fatal("LastDroppedHistory is nil")
	}
	if d.ReplID != oldID || d.End != aEnd || d.Kept != kept || d.Bytes != want || d.NewReplID != bi.ReplID {
		t.Errorf("LastDroppedHistory = %+v, want replid %s end %d kept %d bytes %d new replid %s", *d, oldID, aEnd, kept, want, bi.ReplID)
	}
	line := ""
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "dropped history") {
			line = l
		}
	}
	if !strings.Contains(line, "level=WARN") || !strings.Contains(line, fmt.Sprintf("dropped_bytes=%d", want)) {
		t.Errorf("no Warn line with dropped_bytes=%d; log:\n%s", want, logs.String())
	}

	poll(t, 10*time.Second, "a caught up with b", func() bool {
		_, ao := a.Position()
		_, bo := b.Position()
		return ao == bo
	})
	if diff := cmp.Diff(dump(b), dump(a)); diff != "" {
		t.Errorf("a's keyspace differs from b's (-b +a):\n%s", diff)
	}
	if _, err := a.Get("onlyA0"); err == nil {
		t.Error("a still holds a write b never had")
	}
}

// A replica that merely fell behind (a fresh one, or one whose primary
// held its whole history) drops nothing and says nothing.
func TestJudgeDropped(t *testing.T) {
	const my, other, third = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "cccccccccccccccccccccccccccccccccccccccc"
	for _, tc := range []struct {
		name      string
		end       int64
		replyID   string
		replyOff  int64
		peer      *peerHistory
		wantNil   bool
		wantKept  int64
		wantBytes int64
	}{
		{name: "same history, primary behind", end: 100, replyID: my, replyOff: 60, wantKept: 60, wantBytes: 40},
		{name: "same history, out of backlog", end: 100, replyID: my, replyOff: 500, wantNil: true},
		{name: "promoted from ours", end: 100, replyID: other, replyOff: 90, peer: &peerHistory{ReplID: other, ReplID2: my, Offset: 90, Off2: 71}, wantKept: 70, wantBytes: 30},
		{name: "promoted past our end", end: 100, replyID: other, replyOff: 900, peer: &peerHistory{ReplID: other, ReplID2: my, Offset: 900, Off2: 101}, wantNil: true},
		{name: "INFO before a failover promotion", end: 100, replyID: other, replyOff: 80, peer: &peerHistory{ReplID: my, Offset: 80, Off2: -1}, wantKept: 80, wantBytes: 20},
		{name: "unknown history", end: 100, replyID: other, replyOff: 5, peer: &peerHistory{ReplID: other, ReplID2: third, Offset: 5, Off2: 3}, wantKept: -1, wantBytes: 100},
		{name: "no INFO", end: 100, replyID: other, replyOff: 5, wantKept: -1, wantBytes: 100},
		{name: "empty history", end: 0, replyID: other, replyOff: 5, wantNil: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := judgeDropped(my, tc.end, tc.replyID, tc.replyOff, tc.peer)
			if tc.wantNil {
				if d != nil {
					t.Fatalf("got %+v, want nil", *d)
				}
				return
			}
			if d == nil || d.Kept != tc.wantKept || d.Bytes != tc.wantBytes {
				t.Fatalf("got %+v, want kept %d bytes %d", d, tc.wantKept, tc.wantBytes)
			}
		})
	}
}

func TestParsePeerHistory(t *testing.T) {
	p, ok := parsePeerHistory("# Replication\r\nrole:master\r\nmaster_replid:x\r\nmaster_replid2:y\r\nmaster_repl_offset:42\r\nsecond_repl_offset:7\r\n")
	if !ok || p != (peerHistory{ReplID: "x", ReplID2: "y", Offset: 42, Off2: 7}) {
		t.Fatalf("got %+v %v", p, ok)
	}
	if _, ok := parsePeerHistory("-ERR nope"); ok {
		t.Fatal("parsed an error")
	}
}

// A FORCE failover to a replica that never received the last writes: the
// old primary resyncs in full from it and counts exactly those bytes (the
// target's INFO, asked before PSYNC … FAILOVER, gave its offset).
func TestForcedFailoverDropsHistoryLoudly(t *testing.T) {
	c := newFOCluster(t, 0)
	r := c.reps[1001]
	must(t, c.p.Set("both", []byte("1")))
	waitConverged(t, c.p, r)
	// Nothing more reaches the replica but what a read already under way
	// takes (at most its buffer): 160 KiB more cannot all get through.
	c.f.Stall("p", c.names[1001])
	big := bytes.Repeat([]byte("x"), 8<<10)
	for i := range 20 {
		must(t, c.p.Set(fmt.Sprintf("onlyP%d", i), big))
	}
	oldID, end := c.p.Position()
	err := c.p.Failover(context.Background(), FailoverOptions{Port: 1001, Dial: c.dial, Timeout: 200 * time.Millisecond, Force: true})
	if err != nil {
		t.Fatalf("forced failover: %v", err)
	}
	if r.Role() != RolePrimary {
		t.Fatalf("target role %v after a forced failover", r.Role())
	}
	waitSynced(t, c.p)
	kept := r.Info().SecondOffset - 1 // where the target took the history over
	if kept >= end {
		t.Fatalf("the target held %d of the %d bytes: the stall held nothing back", kept, end)
	}
	in := c.p.Info()
	d := in.LastDroppedHistory
	if d == nil || d.ReplID != oldID || d.Kept != kept || d.End < end || d.Bytes != d.End-kept {
		t.Fatalf("LastDroppedHistory = %+v, want replid %s, kept %d, end at least %d", d, oldID, kept, end)
	}
	if in.DroppedHistoryBytes != d.Bytes {
		t.Errorf("DroppedHistoryBytes = %d, want %d", in.DroppedHistoryBytes, d.Bytes)
	}
	must(t, r.Set("after", []byte("x")))
	waitConverged(t, r, c.p)
}
