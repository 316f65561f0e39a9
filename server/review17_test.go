package server

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/replikv/replikv"
)

func info17(t *testing.T, c *rawConn) string {
	s, err := strconv.Unquote(c.do("INFO", "persistence"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestReview17BgsaveSchedule: while a BGSAVE runs, SAVE answers Redis's
// "Background save already in progress", and BGSAVE SCHEDULE must either
// answer that error too (Redis 7.0 does while an RDB child runs) or, if it
// says "Background saving scheduled", really run a save after the current
// one.
func TestReview17BgsaveSchedule(t *testing.T) {
	sc := replikv.Config{Dir: t.TempDir()}
	n := startNode(t, sc, Config{})
	c := n.raw(t)
	checkEq(t, "SET", c.do("SET", "a", "1"), "+OK")
	// Hold a snapshot so that the BGSAVE waits in BeginSnapshot.
	sn, err := n.store.BeginSnapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("BGSAVE: %s", c.do("BGSAVE"))
	if got := c.do("SAVE"); !strings.Contains(got, "Background save already in progress") {
		t.Errorf("SAVE during BGSAVE: %q", got)
	}
	sched := c.do("BGSAVE", "SCHEDULE")
	t.Logf("BGSAVE SCHEDULE: %s", sched)
	sn.Close()
	eventually(t, "the BGSAVE to end", func() bool {
		return infoField(info17(t, c), "rdb_bgsave_in_progress") == "0"
	})
	if strings.Contains(sched, "already in progress") {
		return
	}
	if !strings.Contains(sched, "scheduled") {
		t.Fatalf("BGSAVE SCHEDULE: %q", sched)
	}
	deadline := time.Now().Add(3 * time.Second)
	for infoField(info17(t, c), "rdb_saves") != "2" {
		if time.Now().After(deadline) {
			t.Fatalf("BGSAVE SCHEDULE answered %q but no second save ran (rdb_saves %s)", sched,
				infoField(info17(t, c), "rdb_saves"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestReview17ParseSavePointsAsRedis: redis-server 7.0.15 refuses
// "save 0 1" (Invalid save parameters: seconds must be at least 1) and
// accepts "save 60 0".
func TestReview17ParseSavePointsAsRedis(t *testing.T) {
	if ps, err := ParseSavePoints("0 1"); err == nil {
		t.Errorf(`"0 1" accepted: %+v`, ps)
	}
	if _, err := ParseSavePoints("60 0"); err != nil {
		t.Errorf(`"60 0": %v`, err)
	}
}
