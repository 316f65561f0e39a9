package replikv

import "fmt"

// This file holds the pure decisions of a coordinated failover (Redis
// FAILOVER): which replica takes over and when, and how a handover reply
// ends it. failover.go does the waiting and the role changes around them.

// FailoverState is where a coordinated failover stands (Redis INFO
// replication master_failover_state).
type FailoverState int32

// Failover states.
const (
	// NoFailover: none is running.
	NoFailover FailoverState = iota
	// FailoverWaitingForSync: writes are paused and the primary waits for
	// the target (or any replica) to acknowledge its final offset.
	FailoverWaitingForSync
	// FailoverInProgress: the primary has made itself a replica of the
	// target and asks it, with PSYNC … FAILOVER, to take over.
	FailoverInProgress
)

// String returns Redis's name of the state.
func (f FailoverState) String() string {
	switch f {
	case FailoverWaitingForSync:
		return "waiting-for-sync"
	case FailoverInProgress:
		return "failover-in-progress"
	}
	return "no-failover"
}

// failoverCand is a replica as the failover decision sees it.
type failoverCand struct {
	ID     int64
	Addr   string
	Port   int
	Online bool
	AckOff int64
}

// matches reports whether c is the replica named by host and port (Redis
// FAILOVER TO host port); an empty host matches any address.
func (c failoverCand) matches(host string, port int) bool {
	return c.Port == port && (host == "" || c.Addr == host)
}

// checkFailoverStart decides whether a failover may start on a primary
// with these replicas, toward host:port when hasTarget, and returns Redis's
// reason when it may not. Without a target, replicas still syncing count:
// the failover waits for one to be online and caught up.
func checkFailoverStart(cands []failoverCand, hasTarget bool, host string, port int) error {
	if len(cands) == 0 { // as Redis: any replica, online or still syncing
		return fmt.Errorf("%w: FAILOVER requires connected replicas", ErrFailover)
	}
	if !hasTarget {
		return nil
	}
	for _, c := range cands {
		if c.matches(host, port) {
			if !c.Online {
				return fmt.Errorf("%w: FAILOVER target replica is not online", ErrFailover)
			}
			return nil
		}
	}
	return fmt.Errorf("%w: FAILOVER target HOST and PORT is not a replica", ErrFailover)
}

// pickFailoverTarget decides, while writes are paused at stream offset
// end, which replica takes over: the target when named (once it has
// acknowledged end), else the online replica with the highest
// acknowledged offset, once that is end (the lowest ID among equals, so
// the choice is stable). ready is false while none qualifies.
func pickFailoverTarget(cands []failoverCand, end int64, hasTarget bool, host string, port int) (best failoverCand, ready bool) {
	found := false
	for _, c := range cands {
		if !c.Online || (hasTarget && !c.matches(host, port)) {
			continue
		}
		if !found || c.AckOff > best.AckOff || (c.AckOff == best.AckOff && c.ID < best.ID) {
			best, found = c, true
		}
	}
	return best, found && best.AckOff >= end
}

// handoverOutcome classifies the target's reply to PSYNC … FAILOVER:
// done when it took over (+CONTINUE, or +FULLRESYNC, which Redis accepts
// too), refused on an error reply, and neither for anything else (the
// link retries until the failover's deadline).
func handoverOutcome(reply string) (done, refused bool) {
	switch {
	case len(reply) >= 9 && reply[:9] == "+CONTINUE", len(reply) >= 11 && reply[:11] == "+FULLRESYNC":
		return true, false
	case len(reply) > 0 && reply[0] == '-':
		return false, true
	}
	return false, false
}
