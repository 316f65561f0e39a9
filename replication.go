package replikv

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/replikv/replikv/transport"
)

// This file is the replication control plane: the store's role (role.go
// holds its pure state machine), the calls that change it (ReplicaOf,
// Promote, Close) and the lifecycle of the link to a primary. primary.go
// serves replicas; replica.go speaks the replica's side of the protocol.
//
// Role changes are serialised by Store.ctl. The role itself lives in the
// stream (stream.role) and is written only with both ctl and the stream
// lock held, so a write, which checks it with the stream locked, lands in
// the stream before the change or is refused after it. Lock order: ctl,
// then the link's goroutine is stopped (it takes shard and stream locks
// itself), then the shards, then the stream.

// Role returns the store's current role.
func (s *Store) Role() Role { return s.st.loadRole() }

// changeRole applies event ev: it asks step for the transition and carries
// out its effects. For evReplicaOf, d is the new primary's dialer.
func (s *Store) changeRole(ev roleEvent, d transport.Dialer) error {
	return s.changeRoleBy(ev, d, false)
}

// changeRoleBy is changeRole; only the failover itself (byFailover) may
// change the role while a failover runs (Redis: "REPLICAOF not allowed
// while failing over"), but Close always may.
func (s *Store) changeRoleBy(ev roleEvent, d transport.Dialer, byFailover bool) error {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	if !byFailover && ev != evClose && s.fo.Load() != nil {
		return fmt.Errorf("%w: %v not allowed while failing over", ErrFailover, ev)
	}
	cur := s.st.loadRole() // stable: changed only under ctl
	stp := step(cur, ev)
	if stp.err != nil {
		return stp.err
	}
	if stp.stopLink {
		s.stopLink() // the link applies under the stream lock: stop it first
	}
	st := s.st
	st.mu.Lock()
	st.role.Store(int32(stp.next))
	if stp.startLink {
		s.resumeRestoredLocked() // persist_load.go
	}
	if stp.shiftID {
		st.shiftLocked(newReplID())
		st.db = -1 // our first write selects its database
	}
	if stp.dropSubs {
		st.closeSubsLocked(ErrHistoryChanged) // they reconnect and learn the new ID
	}
	if stp.close {
		st.closeSubsLocked(ErrClosed)
		close(s.done)
	}
	replid, replid2, off := st.replid, st.replid2, st.end
	st.mu.Unlock()

	switch {
	case stp.startLink:
		if cur != RoleReplica && (off > 0 || replid2 != "" || s.prim.syncFull.Load()+s.prim.syncPartialOK.Load() > 0) {
			// A demoted primary that has written or served replicas
			// continues its own history, even at offset 0 (as Redis's
			// cached master of itself): its replicas share it, and the new
			// primary may hold it as replid2. A fresh store asks "PSYNC ? -1".
			s.rep.hasHistory.Store(true)
			s.rep.dropped.demoted.Store(true)
		}
		s.startLink(d)
	case stp.next != RoleReplica:
		s.setLink(LinkNone)
	}
	if cur != stp.next && !stp.close {
		s.cfg.Logger.Info("role changed", "from", cur, "to", stp.next, "replid", replid, "replid2", replid2, "offset", off)
	}
	return nil
}

// ReplicaOf makes the store a replica of the primary reached through d
// (Redis REPLICAOF). It returns at once: the link connects, syncs and
// reconnects after failures in the background until Promote, another
// ReplicaOf, or Close. From the moment it returns, API writes are refused
// with ErrReadOnly (unless Config.ReplicaWritable); a write that returned
// nil before is in the stream. Use WaitSynced to wait for the first sync.
func (s *Store) ReplicaOf(d transport.Dialer) error {
	if d == nil {
		return fmt.Errorf("%w: nil dialer", ErrInvalidArgument)
	}
	return s.changeRole(evReplicaOf, d)
}

// Promote stops following the primary and makes the store a primary that
// continues the same history (Redis REPLICAOF NO ONE, with PSYNC2): the data
// and the backlog are kept, the current replication ID becomes the
// secondary one (valid up to the current offset), and a new ID starts.
// Replicas of this store, and siblings that re-point to it, continue with
// a partial resync. Promote on a primary does nothing.
func (s *Store) Promote() error {
	return s.changeRole(evPromote, nil)
}

// link is one ReplicaOf session: a goroutine that connects and reconnects.
type link struct {
	d      transport.Dialer
	host   string
	port   int
	fo     *failover // the failover this link hands over, if any
	cancel context.CancelFunc
	done   chan struct{}
}

// startLink starts following the primary reached through d; the caller
// holds ctl and has made the store a replica.
func (s *Store) startLink(d transport.Dialer) {
	ctx, cancel := context.WithCancel(context.Background())
	l := &link{d: d, cancel: cancel, done: make(chan struct{})}
	if fo := s.fo.Load(); fo != nil && FailoverState(fo.state.Load()) == FailoverInProgress {
		l.fo = fo // its handshake asks the new primary to take over
	}
	l.host, l.port = transport.HostPort(d)
	r := &s.rep
	r.mu.Lock()
	r.link = l
	if LinkStatus(r.state.Load()) == LinkNone {
		r.downSince.Store(time.Now().UnixNano())
	}
	r.mu.Unlock()
	r.lastErr.Store(nil)      // a new primary: the old one's failure is no longer news
	s.setLink(LinkConnecting) // through setLink: counted, and told to OnLinkChange
	s.wg.Add(1)               // ctl is held and the store is not closed: Close has not reached Wait
	go func() {
		defer s.wg.Done()
		defer close(l.done)
		s.runLink(ctx, l)
	}()
}

// stopLink ends the current link, if any, and waits for its goroutine; the
// caller holds ctl.
func (s *Store) stopLink() {
	r := &s.rep
	r.mu.Lock()
	l := r.link
	r.link = nil
	r.broadcastLocked()
	r.mu.Unlock()
	if l != nil {
		l.cancel()
		<-l.done
	}
}

// WaitSynced waits until the store is a replica whose link is up with its
// initial sync loaded, or until ctx is done. On a primary it returns nil
// at once, also when the store is promoted while it waits; after Close it
// returns ErrClosed. When ctx ends first, the error wraps both ctx's error and the
// link's last error, if any (errors.Is(err, ErrNoAuth) tells a refused
// password).
func (s *Store) WaitSynced(ctx context.Context) error {
	r := &s.rep
	for {
		if s.isClosed() {
			return ErrClosed
		}
		r.mu.Lock()
		following := r.link != nil
		up := LinkStatus(r.state.Load()) == LinkUp
		changed := r.changedLocked()
		r.mu.Unlock()
		if !following || up {
			return nil
		}
		// Woken by any change of the link or the role (ReplicaOf, Promote),
		// then looks again.
		select {
		case <-changed:
		case <-ctx.Done():
			if err := s.linkErr(); err != nil {
				return fmt.Errorf("%w (the link last failed: %w)", ctx.Err(), err)
			}
			return ctx.Err()
		case <-s.done:
			return ErrClosed
		}
	}
}

// changedLocked returns a channel closed at the next change of the link
// (see broadcastLocked); r.mu is held.
func (r *replicaState) changedLocked() <-chan struct{} {
	if r.changed == nil {
		r.changed = make(chan struct{})
	}
	return r.changed
}

// broadcastLocked wakes every WaitSynced; r.mu is held.
func (r *replicaState) broadcastLocked() {
	if r.changed != nil {
		close(r.changed)
		r.changed = nil
	}
}

// LinkStatus returns the state of the link to the primary (LinkNone on a
// primary).
func (s *Store) LinkStatus() LinkStatus { return LinkStatus(s.rep.state.Load()) }

// setLink records a link state change, waking WaitSynced on LinkUp and
// calling Config.OnLinkChange.
func (s *Store) setLink(st LinkStatus) {
	r := &s.rep
	r.mu.Lock()
	prev := LinkStatus(r.state.Swap(int32(st)))
	switch {
	case st == LinkUp && prev != LinkUp:
		r.downSince.Store(0)
		r.ups.Add(1)
	case st != LinkUp && prev == LinkUp:
		r.downSince.Store(time.Now().UnixNano())
		r.downs.Add(1)
	}
	if st != prev {
		r.broadcastLocked()
	}
	r.mu.Unlock()
	if fn := s.cfg.OnLinkChange; fn != nil && prev != st {
		var err error
		if st == LinkDown {
			err = s.linkErr()
		}
		fn(prev, st, err)
	}
}

// linkErr returns why the link to the primary last failed, or nil.
func (s *Store) linkErr() error {
	if e := s.rep.lastErr.Load(); e != nil {
		return *e
	}
	return nil
}

// runLink connects to the primary again and again until ctx ends. After
// a link that was up it reconnects at once: every millisecond of waiting
// is stream the backlog must hold for a partial resync. Failed attempts
// back off, exponentially from ReconnectMin to ReconnectMax, and so do
// links that synced but carried no stream once they come too often (see
// retries.next).
func (s *Store) runLink(ctx context.Context, l *link) {
	var b retries
	log := s.cfg.Logger.With("primary", fmt.Sprint(l.d))
	for {
		end, err := s.linkOnce(ctx, l, log)
		if ctx.Err() != nil {
			return
		}
		s.rep.lastErr.Store(&err)
		s.setLink(LinkDown)
		backoff := b.next(end, time.Now(), s.cfg.ReconnectMin, s.cfg.ReconnectMax)
		log.Warn("replication link failed", "err", err, "retry_in", backoff)
		if backoff == 0 {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
	}
}

// retries paces the connection attempts of a link.
type retries struct {
	prev  time.Duration // the last wait
	since time.Time     // start of the current second of quick retries
	quick int           // quick retries in it
}

// maxQuickRetries bounds the reconnections made at once, per second, after
// links that synced but carried no stream: a primary that accepts the link
// and drops it at once, again and again, gets the backoff of a failing one
// instead of a spin. A link that carried stream bytes made progress: the
// next attempt is always at once (a link killed many times a second under
// load must still continue partially).
const maxQuickRetries = 5

// next is the wait before the next connection attempt: none after a link
// that carried stream, none after one that was up (up to maxQuickRetries a
// second), else ReconnectMin, doubling up to ReconnectMax while attempts
// keep failing.
func (r *retries) next(end linkEnd, now time.Time, lo, hi time.Duration) time.Duration {
	if end == linkStreamed {
		r.prev, r.quick = 0, 0
		return 0
	}
	if end == linkWasUp {
		if now.Sub(r.since) > time.Second {
			r.since, r.quick = now, 0
		}
		if r.quick++; r.quick <= maxQuickRetries {
			r.prev = 0
			return 0
		}
	}
	if r.prev == 0 {
		r.prev = lo
	} else {
		r.prev = min(2*r.prev, hi)
	}
	return r.prev
}

// DisconnectPrimary closes the link to the primary, if one is open (Redis
// CLIENT KILL TYPE master). The link reconnects on its own, usually with a
// partial resync. It reports whether a connection was closed.
func (s *Store) DisconnectPrimary() bool {
	if c := s.rep.conn.Load(); c != nil {
		return (*c).Close() == nil
	}
	return false
}

// linkConnOpen records the connection to the primary, for DisconnectPrimary.
func (s *Store) linkConnOpen(c net.Conn) func() {
	s.rep.conn.Store(&c)
	return func() { s.rep.conn.CompareAndSwap(&c, nil) }
}

// LinkStatus is the state of a replica's link to its primary.
type LinkStatus int32

// Link states. Info and INFO replication show "up" only for LinkUp.
const (
	LinkNone       LinkStatus = iota // not a replica
	LinkConnecting                   // dialing or in the handshake
	LinkSyncing                      // receiving a full resync snapshot
	LinkUp                           // streaming
	LinkDown                         // failed; a retry is scheduled
)

func (l LinkStatus) String() string {
	switch l {
	case LinkConnecting:
		return "connecting"
	case LinkSyncing:
		return "sync"
	case LinkUp:
		return "up"
	case LinkDown:
		return "down"
	}
	return "none"
}

// replicaState is the following side of a Store.
type replicaState struct {
	mu   sync.Mutex
	link *link
	// changed is closed (and cleared) at every change of link or state,
	// to wake WaitSynced; nil until someone waits.
	changed chan struct{}

	state      atomic.Int32             // LinkStatus
	lastIO     atomic.Int64             // unix nanos of the last byte from the primary
	downSince  atomic.Int64             // unix nanos the link went down, 0 while up
	hasHistory atomic.Bool              // loaded a snapshot or continued a history
	lastErr    atomic.Pointer[error]    // why the link last failed
	ups, downs atomic.Int64             // link transitions, for Stats
	conn       atomic.Pointer[net.Conn] // the open link, if any

	syncFull    atomic.Int64 // full resyncs this replica received
	syncPartial atomic.Int64 // partial resyncs this replica received
	loadTotal   atomic.Int64 // announced snapshot size, -1 when unknown (EOF framing)
	load        loadProgress
	lastLoad    atomic.Pointer[LoadStats] // the last snapshot loaded from the primary
	// forceFull makes the next handshake ask "PSYNC ? -1": the stream
	// held a command whose effect this store could not know
	// (errNeedFullResync); cleared when a full resync has loaded.
	forceFull atomic.Bool
	dropped   droppedState // dropped.go
}
