package replikv

import (
	"errors"
	"testing"
)

// TestRoleStep is the table of the role state machine: every role on
// every event.
func TestRoleStep(t *testing.T) {
	P, R, F, C := RolePrimary, RoleReplica, RoleFailingOver, RoleClosed
	type want struct {
		next                                         Role
		stopLink, startLink, shift, drop, closeStore bool
		err                                          error
	}
	cases := []struct {
		cur  Role
		ev   roleEvent
		want want
	}{
		// A primary demoted: the link starts, the history is kept (its
		// replicas keep receiving whatever it receives).
		{P, evReplicaOf, want{next: R, startLink: true}},
		{P, evPromote, want{next: P}},
		{P, evPause, want{next: F}},
		{P, evResume, want{next: P, err: ErrInvalidArgument}},
		{P, evClose, want{next: C, closeStore: true}},

		// A replica re-pointed: the old link ends before the new starts.
		{R, evReplicaOf, want{next: R, stopLink: true, startLink: true}},
		// Promoted: the link ends first, then the history continues under
		// a new ID and sub-replicas reconnect to learn it.
		{R, evPromote, want{next: P, stopLink: true, shift: true, drop: true}},
		{R, evPause, want{next: R, err: ErrInvalidArgument}},
		{R, evResume, want{next: R, err: ErrInvalidArgument}},
		{R, evClose, want{next: C, stopLink: true, closeStore: true}},

		// A failover ends with this store following the new primary, or
		// is aborted back to a primary.
		{F, evReplicaOf, want{next: R, startLink: true}},
		{F, evPromote, want{next: F, err: ErrInvalidArgument}},
		{F, evPause, want{next: F, err: ErrInvalidArgument}},
		{F, evResume, want{next: P}},
		{F, evClose, want{next: C, closeStore: true}},

		// Closed is final; a second Close is a no-op.
		{C, evReplicaOf, want{next: C, err: ErrClosed}},
		{C, evPromote, want{next: C, err: ErrClosed}},
		{C, evPause, want{next: C, err: ErrClosed}},
		{C, evResume, want{next: C, err: ErrClosed}},
		{C, evClose, want{next: C}},
	}
	for _, c := range cases {
		got := step(c.cur, c.ev)
		g := want{got.next, got.stopLink, got.startLink, got.shiftID, got.dropSubs, got.close, nil}
		w := c.want
		w.err = nil
		if g != w {
			t.Errorf("step(%v, %v) = %+v, want %+v", c.cur, c.ev, g, w)
		}
		if (got.err == nil) != (c.want.err == nil) || (c.want.err != nil && !errors.Is(got.err, c.want.err)) {
			t.Errorf("step(%v, %v) error = %v, want %v", c.cur, c.ev, got.err, c.want.err)
		}
		if got.err != nil && got.next != c.cur {
			t.Errorf("step(%v, %v) failed but moves to %v", c.cur, c.ev, got.next)
		}
	}
}

// TestAdmitWrite is the table of which writes a role accepts and streams.
func TestAdmitWrite(t *testing.T) {
	cases := []struct {
		r        Role
		writable bool
		stream   bool
		err      error
	}{
		{RolePrimary, false, true, nil},
		{RolePrimary, true, true, nil},
		{RoleReplica, false, false, ErrReadOnly},
		{RoleReplica, true, false, nil}, // local only, as Redis's writable replicas
		{RoleFailingOver, false, false, ErrReadOnly},
		{RoleFailingOver, true, false, ErrReadOnly},
		{RoleClosed, false, false, ErrClosed},
		{RoleClosed, true, false, ErrClosed},
	}
	for _, c := range cases {
		stream, err := admitWrite(c.r, c.writable)
		if stream != c.stream || !errors.Is(err, c.err) || (err == nil) != (c.err == nil) {
			t.Errorf("admitWrite(%v, writable=%v) = %v, %v; want %v, %v", c.r, c.writable, stream, err, c.stream, c.err)
		}
		// What is streamed must be admitted; only a primary streams writes.
		if stream && (err != nil || !streams(c.r)) {
			t.Errorf("admitWrite(%v) streams a write the role does not stream", c.r)
		}
	}
	for r := RolePrimary; r <= RoleClosed; r++ {
		if ownsExpiry(r) && !streams(r) {
			t.Errorf("%v deletes expired keys but does not stream the DELs", r)
		}
	}
}
