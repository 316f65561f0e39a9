package replikv

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/replikv/replikv/transport"
)

// This file runs a coordinated failover (Redis FAILOVER): pause writes,
// wait for the target to acknowledge the final offset, hand over on the
// replication link with PSYNC <replid> <offset> FAILOVER, and follow the
// new primary; or, on timeout or abort, resume as the primary. The
// decisions are in failover_decide.go.

// FailoverOptions configure Failover (Redis FAILOVER [TO host port
// [FORCE]] [TIMEOUT ms]).
type FailoverOptions struct {
	// Host and Port name the target replica as Info lists it
	// (ReplicaInfo.Addr and the port it announced, ReplicaInfo.Port). An
	// empty Host matches any address, so that Port alone can name the
	// target on transports without IP addresses. Both empty: the online
	// replica with the highest acknowledged offset, once it has the final
	// offset, takes over.
	Host string
	Port int

	// Dial returns how this store reaches the chosen replica, to follow it
	// once it has taken over (package server dials ReplicaInfo.Addr and
	// Port over TCP). Required.
	Dial func(r ReplicaInfo) transport.Dialer

	// Timeout bounds the failover: when the target has not acknowledged
	// the final offset in time, the failover is aborted and writes resume
	// (with Force, the handover is attempted anyway). 0 means none; the
	// context given to Failover bounds it too.
	Timeout time.Duration

	// Force hands over at Timeout even if the target has not caught up
	// (writes it had not acknowledged may be lost). It needs a target and
	// a Timeout, as Redis's FORCE.
	Force bool
}

// failover is a running coordinated failover.
type failover struct {
	opts      FailoverOptions
	hasTarget bool
	state     atomic.Int32 // FailoverState
	abort     chan struct{}
	abortOnce sync.Once
	dial      transport.Dialer // the target's, once chosen
	// replies carries the target's answers to PSYNC … FAILOVER from the
	// link (replica.go).
	replies chan string
	// sent is foNotSent until the link first sends PSYNC … FAILOVER
	// (foSent); a timeout that wins the race sets foTimedOut first, so
	// that it is never sent. Once sent, the target may have promoted
	// itself: the timeout no longer applies (as in Redis, it bounds
	// waiting-for-sync only), the answer or an abort ends the handover.
	sent atomic.Int32
}

const (
	foNotSent int32 = iota
	foSent
	foTimedOut
)

// claimSend reports whether the link may send PSYNC … FAILOVER (again).
func (fo *failover) claimSend() bool {
	return fo.sent.CompareAndSwap(foNotSent, foSent) || fo.sent.Load() == foSent
}

// errPaused is admitLocked's answer while a failover pauses writes:
// lockWrite waits and decides again; writes that cannot wait return it.
var errPaused = fmt.Errorf("%w (the failover ends within its timeout)", ErrWritesPaused)

// awaitPause waits until the pause ends; false when the store closed.
func (s *Store) awaitPause(pause chan struct{}) bool {
	select {
	case <-pause:
		return true
	case <-s.done:
		return false
	}
}

// awaitWritable waits while a failover pauses writes, before a write
// that takes its locks once and cannot wait under them (FlushAll, BitOp,
// Atomic).
func (s *Store) awaitWritable() {
	if s.fo.Load() == nil {
		return
	}
	s.st.mu.Lock()
	pause := s.st.pause
	s.st.mu.Unlock()
	if pause != nil {
		s.awaitPause(pause)
	}
}

// FailoverState returns the state of the coordinated failover, if any
// (Info().FailoverState).
func (s *Store) FailoverState() FailoverState {
	if fo := s.fo.Load(); fo != nil {
		return FailoverState(fo.state.Load())
	}
	return NoFailover
}

// Failover hands this primary's role to one of its replicas without
// losing an acknowledged write (Redis FAILOVER). It pauses writes
// (writers block; see below), waits until the target has acknowledged
// the final offset, asking with REPLCONF GETACK, then becomes a replica
// of the target and sends it PSYNC <replid> <offset> FAILOVER over the
// replication link: the target promotes itself, keeping the history,
// and answers +CONTINUE. This store then follows it, and its own
// replicas continue (partially) through it.
//
// When the target does not catch up within opts.Timeout or before ctx
// ends (without Force), when AbortFailover is called, or when the target
// refuses the handover, the store resumes as the primary of the same
// history and the error wraps ErrFailover (and ctx's error, if that was
// the cause).
//
// Writers called meanwhile wait for the outcome: after an abort they
// proceed; after the handover they get ErrReadOnly. A write that
// returned success before is in the stream the target acknowledged.
// Inside Atomic and AtomicKeys a write that would have to wait returns
// ErrWritesPaused.
func (s *Store) Failover(ctx context.Context, opts FailoverOptions) error {
	res, err := s.StartFailover(opts)
	if err != nil {
		return err
	}
	select {
	case err := <-res:
		return err
	case <-ctx.Done():
		s.AbortFailover()
		if err := <-res; err != nil {
			return fmt.Errorf("%w (%w)", err, ctx.Err())
		}
		return nil // it completed before the abort
	}
}

// StartFailover checks and starts a failover, as Failover, without
// waiting for it: the channel receives its outcome (nil after a
// handover) and is then closed. The error is the reason it could not
// start (as Redis's FAILOVER replies at once).
func (s *Store) StartFailover(opts FailoverOptions) (<-chan error, error) {
	hasTarget := opts.Host != "" || opts.Port != 0
	switch {
	case opts.Dial == nil:
		return nil, fmt.Errorf("%w: FailoverOptions.Dial is required", ErrInvalidArgument)
	case opts.Timeout < 0:
		return nil, fmt.Errorf("%w: FAILOVER timeout must be greater than 0", ErrInvalidArgument)
	case opts.Force && (!hasTarget || opts.Timeout == 0):
		return nil, fmt.Errorf("%w: FAILOVER with force option requires both a timeout and target HOST and IP", ErrInvalidArgument)
	}
	s.ctl.Lock()
	defer s.ctl.Unlock()
	if s.fo.Load() != nil {
		return nil, fmt.Errorf("%w: FAILOVER already in progress", ErrFailover)
	}
	switch s.st.loadRole() {
	case RoleClosed:
		return nil, ErrClosed
	case RoleReplica:
		return nil, fmt.Errorf("%w: FAILOVER is not valid when server is a replica", ErrInvalidArgument)
	case RoleFailingOver:
		return nil, fmt.Errorf("%w: the store is shutting down", ErrFailover)
	}
	if err := checkFailoverStart(s.failoverCands(), hasTarget, opts.Host, opts.Port); err != nil {
		return nil, err
	}
	fo := &failover{opts: opts, hasTarget: hasTarget, abort: make(chan struct{}), replies: make(chan string, 4)}
	fo.state.Store(int32(FailoverWaitingForSync))
	stp := step(RolePrimary, evPause)
	s.st.mu.Lock()
	s.st.role.Store(int32(stp.next))
	s.st.pause = make(chan struct{})
	end := s.st.end
	s.st.mu.Unlock()
	s.fo.Store(fo)
	s.cfg.Logger.Info("failover started: writes paused", "target", targetName(opts), "offset", end, "timeout", opts.Timeout)
	res := make(chan error, 1)
	s.wg.Add(1) // ctl is held and the store is not closed
	go func() {
		defer s.wg.Done()
		res <- s.runFailover(fo)
		close(res)
	}()
	return res, nil
}

func targetName(o FailoverOptions) string {
	if o.Host == "" && o.Port == 0 {
		return "any replica"
	}
	return fmt.Sprintf("%s:%d", o.Host, o.Port)
}

// AbortFailover aborts the running failover (Redis FAILOVER ABORT): the
// store resumes as the primary and paused writers proceed. It reports
// false when no failover is running.
func (s *Store) AbortFailover() bool {
	fo := s.fo.Load()
	if fo == nil {
		return false
	}
	fo.abortOnce.Do(func() { close(fo.abort) })
	return true
}

// failoverCands lists the replicas for the failover decisions.
func (s *Store) failoverCands() []failoverCand {
	p := &s.prim
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]failoverCand, 0, len(p.replicas))
	for _, rc := range p.replicas {
		rc.mu.Lock()
		out = append(out, failoverCand{ID: rc.id, Addr: rc.addr, Port: rc.port, Online: rc.state == "online", AckOff: rc.ackOff})
		rc.mu.Unlock()
	}
	return out
}

// runFailover carries the failover through and returns its outcome.
func (s *Store) runFailover(fo *failover) error {
	var deadline <-chan time.Time
	if fo.opts.Timeout > 0 {
		t := time.NewTimer(fo.opts.Timeout)
		defer t.Stop()
		deadline = t.C
	}
	log := s.cfg.Logger.With("failover_to", targetName(fo.opts))
	target, err := s.waitFailoverSync(fo, deadline)
	if err != nil {
		log.Warn("failover aborted", "err", err)
		s.endFailover(fo, false)
		return err
	}
	log.Info("failover target is synced, handing over", "target", fmt.Sprintf("%s:%d", target.Addr, target.Port), "acked", target.AckOff)
	err = s.handOver(fo, target, deadline)
	if err != nil {
		if s.endFailover(fo, false) {
			return nil
		}
		log.Warn("failover aborted", "err", err)
		return err
	}
	log.Info("failover done: following the new primary", "target", fmt.Sprintf("%s:%d", target.Addr, target.Port))
	s.endFailover(fo, true)
	return nil
}

// waitFailoverSync waits until a replica qualifies to take over (see
// pickFailoverTarget), hurrying the ACKs with GETACK.
func (s *Store) waitFailoverSync(fo *failover, deadline <-chan time.Time) (failoverCand, error) {
	p := &s.prim
	asked := false
	for {
		p.mu.Lock()
		acked := p.acked
		p.mu.Unlock()
		_, end := s.Position()
		best, ready := pickFailoverTarget(s.failoverCands(), end, fo.hasTarget, fo.opts.Host, fo.opts.Port)
		if ready {
			return best, nil
		}
		if !asked {
			// The ACK to GETACK is the offset before it; the replica's next
			// periodic ACK covers the GETACK too.
			asked = true
			s.askAcks()
		}
		select {
		case <-acked:
		case <-time.After(50 * time.Millisecond): // replicas come and go without an ACK
		case <-deadline:
			if fo.opts.Force {
				for _, c := range s.failoverCands() {
					if c.matches(fo.opts.Host, fo.opts.Port) {
						return c, nil
					}
				}
			}
			return best, fmt.Errorf("%w: replica never caught up before timeout (offset %d)", ErrFailover, end)
		case <-fo.abort:
			return best, fmt.Errorf("%w: failover manually aborted", ErrFailover)
		case <-s.done:
			return best, ErrClosed
		}
	}
}

// handOver makes this store a replica of target and waits for the
// target's answer to PSYNC … FAILOVER, sent by the link's handshake.
func (s *Store) handOver(fo *failover, target failoverCand, deadline <-chan time.Time) error {
	ri := ReplicaInfo{ID: target.ID, Addr: target.Addr, Port: target.Port, State: "online", Offset: target.AckOff}
	d := fo.opts.Dial(ri)
	if d == nil {
		return fmt.Errorf("%w: no dialer for %s:%d", ErrFailover, target.Addr, target.Port)
	}
	fo.dial = d
	fo.state.Store(int32(FailoverInProgress))
	if err := s.changeRoleBy(evReplicaOf, d, true); err != nil {
		return err
	}
	for {
		select {
		case reply := <-fo.replies:
			done, refused := handoverOutcome(reply)
			if done {
				return nil
			}
			if refused {
				return fmt.Errorf("%w: failover target rejected psync request: %s", ErrFailover, reply)
			}
		case <-deadline:
			if !fo.sent.CompareAndSwap(foNotSent, foTimedOut) {
				// The target may have taken over already: wait for its
				// answer (or an abort), never resume beside it.
				deadline = nil
				continue
			}
			return fmt.Errorf("%w: failover target did not take over before timeout", ErrFailover)
		case <-fo.abort:
			return fmt.Errorf("%w: failover manually aborted", ErrFailover)
		case <-s.done:
			return ErrClosed
		}
	}
}

// endFailover ends the pause: after a handover the store stays a replica
// (paused writers get ErrReadOnly); otherwise it resumes as the primary
// of its history (they proceed). It reports whether the target took
// over, which an abort may learn only here.
func (s *Store) endFailover(fo *failover, handedOver bool) bool {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	role := s.st.loadRole()
	if !handedOver && role == RoleReplica {
		// The link may have had the target's yes just now: stop it (no
		// answer comes after that), then look.
		s.stopLink()
		for len(fo.replies) > 0 {
			if done, _ := handoverOutcome(<-fo.replies); done {
				handedOver = true
			}
		}
		if handedOver {
			s.cfg.Logger.Info("failover done after all: the target took over as it was aborted")
			fo.state.Store(int32(NoFailover)) // the new link sends no FAILOVER
			s.startLink(fo.dial)
		} else {
			s.setLink(LinkNone)
		}
	}
	fo.state.Store(int32(NoFailover))
	s.st.mu.Lock()
	if !handedOver && role != RoleClosed {
		// Back to the primary of the same history: nothing was written
		// meanwhile, and the target did not take over.
		s.st.role.Store(int32(step(RoleFailingOver, evResume).next))
	}
	if s.st.pause != nil {
		close(s.st.pause)
		s.st.pause = nil
	}
	s.st.mu.Unlock()
	s.fo.Store(nil)
	if !handedOver && role != RoleClosed {
		s.cfg.Logger.Info("role changed", "from", role, "to", RolePrimary, "reason", "failover aborted")
	}
	return handedOver
}

// reportHandover passes the target's reply to PSYNC … FAILOVER to the
// running failover.
func (fo *failover) reportHandover(reply string) {
	select {
	case fo.replies <- reply:
	default:
	}
}

// isFailoverErr reports whether err ended a failover without a handover.
func isFailoverErr(err error) bool { return errors.Is(err, ErrFailover) }

// takeOver is the target's side of a failover: its primary, in
// PSYNC <replid> <offset> FAILOVER, asks it to take over. A replica
// whose history is that replid promotes itself, keeping the history, and
// the PSYNC then continues as any (+CONTINUE with its new ID). It returns
// Redis's error reply when it refuses, else "".
//
// A primary that was promoted from replid's history at or after offset
// has taken over already: the request is a retry after the link broke
// before the answer arrived, and the PSYNC continues (refusing it would
// make the old primary resume beside this one).
func (s *Store) takeOver(replid string, offset int64, peer string) string {
	s.cfg.Logger.Warn("failover request received", "replid", replid, "peer", peer)
	if s.Role() != RoleReplica {
		s.st.mu.Lock()
		again := s.st.replid2 != "" && s.st.replid2 == replid && offset >= 0 && offset <= s.st.off2
		s.st.mu.Unlock()
		if again && s.Role() == RolePrimary {
			s.cfg.Logger.Info("failover request repeated: already took over", "peer", peer)
			return ""
		}
		return "-ERR PSYNC FAILOVER can't be sent to a master."
	}
	if id, _ := s.Position(); id != replid {
		return "-ERR PSYNC FAILOVER replid must match my replid."
	}
	if err := s.Promote(); err != nil {
		return "-ERR " + err.Error()
	}
	s.cfg.Logger.Info("primary mode enabled (failover request)", "peer", peer)
	return ""
}
