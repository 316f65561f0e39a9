package replikv

import (
	"errors"
	"strings"
	"testing"
)

// TestPickFailoverTarget is the table of the target decision.
func TestPickFailoverTarget(t *testing.T) {
	a := failoverCand{ID: 1, Addr: "10.0.0.1", Port: 6380, Online: true, AckOff: 90}
	b := failoverCand{ID: 2, Addr: "10.0.0.2", Port: 6380, Online: true, AckOff: 100}
	c := failoverCand{ID: 3, Addr: "10.0.0.3", Port: 6381, Online: false, AckOff: 100}
	d := failoverCand{ID: 4, Addr: "10.0.0.4", Port: 6380, Online: true, AckOff: 100}
	for _, tc := range []struct {
		name      string
		cands     []failoverCand
		end       int64
		hasTarget bool
		host      string
		port      int
		wantID    int64
		ready     bool
	}{
		{"highest ack, caught up", []failoverCand{a, b}, 100, false, "", 0, 2, true},
		{"highest ack, behind", []failoverCand{a, b}, 120, false, "", 0, 2, false},
		{"ties: lowest ID", []failoverCand{d, b}, 100, false, "", 0, 2, true},
		{"offline never", []failoverCand{a, c}, 100, false, "", 0, 1, false},
		{"named target waits for itself", []failoverCand{a, b}, 100, true, "10.0.0.1", 6380, 1, false},
		{"named target caught up", []failoverCand{a, b}, 90, true, "10.0.0.1", 6380, 1, true},
		{"port alone names it", []failoverCand{a, c}, 100, true, "", 6381, 0, false},
	} {
		got, ready := pickFailoverTarget(tc.cands, tc.end, tc.hasTarget, tc.host, tc.port)
		if ready != tc.ready || (tc.wantID != 0 && got.ID != tc.wantID) {
			t.Errorf("%s: picked %d ready %v, want %d %v", tc.name, got.ID, ready, tc.wantID, tc.ready)
		}
	}
}

// TestCheckFailoverStart is the table of the start decision, with
// Redis's reasons.
func TestCheckFailoverStart(t *testing.T) {
	on := failoverCand{ID: 1, Addr: "h", Port: 1, Online: true}
	off := failoverCand{ID: 2, Addr: "h", Port: 2}
	for _, tc := range []struct {
		cands     []failoverCand
		hasTarget bool
		port      int
		want      string
	}{
		{nil, false, 0, "FAILOVER requires connected replicas"},
		{[]failoverCand{off}, false, 0, ""},
		{[]failoverCand{on}, false, 0, ""},
		{[]failoverCand{on, off}, true, 2, "FAILOVER target replica is not online"},
		{[]failoverCand{on}, true, 3, "FAILOVER target HOST and PORT is not a replica"},
		{[]failoverCand{on}, true, 1, ""},
	} {
		err := checkFailoverStart(tc.cands, tc.hasTarget, "h", tc.port)
		if (tc.want == "") != (err == nil) || (err != nil && (!strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrFailover))) {
			t.Errorf("checkFailoverStart(%v, %v, %d) = %v, want %q", tc.cands, tc.hasTarget, tc.port, err, tc.want)
		}
	}
}

// TestHandoverOutcome classifies the target's replies.
func TestHandoverOutcome(t *testing.T) {
	for reply, want := range map[string][2]bool{
		"+CONTINUE 0123456789012345678901234567890123456789": {true, false},
		"+CONTINUE": {true, false},
		"+FULLRESYNC 0123456789012345678901234567890123456789 10": {true, false},
		"-ERR PSYNC FAILOVER replid must match my replid.":        {false, true},
		"-NOMASTERLINK Can't SYNC while failing over":             {false, true},
		"+OK": {false, false},
		"":    {false, false},
	} {
		done, refused := handoverOutcome(reply)
		if done != want[0] || refused != want[1] {
			t.Errorf("handoverOutcome(%q) = %v, %v", reply, done, refused)
		}
	}
}
