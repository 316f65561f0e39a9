package replikv

import "fmt"

// Role is a store's place in replication. A store has exactly one role at
// a time; it changes only through ReplicaOf, Promote and Close, one call
// at a time, and every write decides whether it may run by reading the
// role under the lock that orders the stream, so a write is either in the
// stream before a role change or refused after it.
type Role int32

// Roles.
const (
	// RolePrimary accepts writes and streams them to its replicas.
	RolePrimary Role = iota
	// RoleReplica follows a primary: it applies and relays the primary's
	// stream, and refuses API writes with ErrReadOnly unless
	// Config.ReplicaWritable (then they change only this store).
	RoleReplica
	// RoleFailingOver is a primary whose writes are paused while its
	// replicas catch up: during Shutdown (writes fail with ErrReadOnly),
	// and while Failover waits for its target (writes wait), which ends
	// as a replica of the target, or back as a primary when it is aborted
	// or times out.
	RoleFailingOver
	// RoleClosed is a store after Close: no goroutine runs, writes and
	// control calls return ErrClosed; the data stays readable.
	RoleClosed
)

func (r Role) String() string {
	switch r {
	case RolePrimary:
		return "primary"
	case RoleReplica:
		return "replica"
	case RoleFailingOver:
		return "failing-over"
	case RoleClosed:
		return "closed"
	}
	return fmt.Sprintf("Role(%d)", int32(r))
}

// roleEvent is a request to change the role.
type roleEvent uint8

const (
	evReplicaOf roleEvent = iota // follow a (new) primary: ReplicaOf
	evPromote                    // stop following, continue the history: Promote
	evPause                      // a failover begins: writes stop
	evResume                     // a failover is aborted: writes resume
	evClose                      // Close
)

func (e roleEvent) String() string {
	return [...]string{"replicaof", "promote", "pause", "resume", "close"}[e]
}

// roleStep is what a role change does, as decided by step. The caller
// performs the effects in this order: stop the link, then (with the
// stream locked) set the role, shift the history and close subscribers,
// then start the new link.
type roleStep struct {
	next      Role
	stopLink  bool // end the link to the current primary and wait for it
	startLink bool // start a link to the new primary
	shiftID   bool // continue the history under a new replid (PSYNC2 promotion)
	dropSubs  bool // close subscribers, so that they reconnect and learn the new history
	close     bool // the store closes: stop its goroutines, refuse what follows
	err       error
}

// step is the role state machine: the pure transition from role cur on
// event ev. It never fails on evClose, so Close always ends in RoleClosed.
func step(cur Role, ev roleEvent) roleStep {
	if cur == RoleClosed {
		if ev == evClose {
			return roleStep{next: RoleClosed}
		}
		return roleStep{next: cur, err: ErrClosed}
	}
	switch ev {
	case evClose:
		return roleStep{next: RoleClosed, stopLink: cur == RoleReplica, close: true}
	case evReplicaOf:
		// From a primary this is a demotion; from a replica a change of
		// primary; from a failover the end of the handover.
		return roleStep{next: RoleReplica, stopLink: cur == RoleReplica, startLink: true}
	case evPromote:
		switch cur {
		case RoleReplica:
			return roleStep{next: RolePrimary, stopLink: true, shiftID: true, dropSubs: true}
		case RoleFailingOver:
			return roleStep{next: cur, err: fmt.Errorf("%w: a failover is in progress", ErrInvalidArgument)}
		}
		return roleStep{next: cur} // already a primary
	case evPause:
		if cur != RolePrimary {
			return roleStep{next: cur, err: fmt.Errorf("%w: only a primary can fail over (this store is a %v)", ErrInvalidArgument, cur)}
		}
		return roleStep{next: RoleFailingOver}
	case evResume:
		if cur != RoleFailingOver {
			return roleStep{next: cur, err: fmt.Errorf("%w: no failover in progress", ErrInvalidArgument)}
		}
		return roleStep{next: RolePrimary}
	}
	return roleStep{next: cur, err: fmt.Errorf("%w: unknown role event %d", ErrInvalidArgument, ev)}
}

// admitWrite decides an API write in role r: whether it may change the
// keyspace (err == nil) and whether its command goes to the stream.
func admitWrite(r Role, replicaWritable bool) (stream bool, err error) {
	switch r {
	case RolePrimary:
		return true, nil
	case RoleReplica:
		if replicaWritable {
			return false, nil // local only, as Redis's writable replicas
		}
		return false, ErrReadOnly
	case RoleFailingOver:
		return false, fmt.Errorf("%w: writes paused (shutdown or failover in progress)", ErrReadOnly)
	}
	return false, ErrClosed
}

// streams reports whether a store in role r originates stream commands
// (writes, expiry DELs, PINGs, GETACKs). A replica's stream is exactly its
// primary's.
func streams(r Role) bool { return r == RolePrimary || r == RoleFailingOver }

// ownsExpiry reports whether a store in role r deletes expired keys (and
// streams the DELs). A replica hides them and waits for its primary's DEL;
// a failing-over primary writes nothing.
func ownsExpiry(r Role) bool { return r == RolePrimary }
