package replikv

import (
	"fmt"
	"time"
)

// conf returns the configuration in effect, including the settings that
// Reconfigure may change at runtime.
func (s *Store) conf() *Config { return s.dyn.Load() }

// Config returns the configuration in effect, with defaults filled in.
func (s *Store) Config() Config { return *s.conf() }

// Reconfigure changes settings at runtime (Redis CONFIG SET). fn receives
// a copy of the configuration in effect; the result is validated and
// applied as a whole, or not at all. These fields may change: Password,
// MasterUser, MasterAuth, ReplicaWritable, RefuseStaleReads, ReplTimeout,
// PingPeriod (from the next PING on), AckPeriod (from the next
// connection to the primary), ReplicaOutputLimits (for replicas that sync
// from now on), MinReplicasToWrite, MinReplicasMaxLag (from the next
// write), BacklogSize (the newest bytes are kept), and the memory
// settings MaxMemory, EvictionPolicy, MaxMemorySamples, LFULogFactor and
// LFUDecayTime (from the next write on; a lower MaxMemory evicts then). Changing any other field is an
// error wrapping ErrInvalidArgument. After Close it returns ErrClosed.
func (s *Store) Reconfigure(fn func(c *Config)) error {
	s.reconfMu.Lock()
	defer s.reconfMu.Unlock()
	if s.Role() == RoleClosed {
		return ErrClosed
	}
	old := *s.conf()
	c := old
	fn(&c)
	// Periods the user never set follow ReplTimeout again, as in New.
	pingSet, ackSet := s.periodsSet.ping || c.PingPeriod != old.PingPeriod, s.periodsSet.ack || c.AckPeriod != old.AckPeriod
	if !pingSet {
		c.PingPeriod = 0
	}
	if !ackSet {
		c.AckPeriod = 0
	}
	c, err := c.withDefaults()
	if err != nil {
		return err
	}
	fixed := old
	fixed.Password, fixed.MasterUser, fixed.MasterAuth = c.Password, c.MasterUser, c.MasterAuth
	fixed.ReplicaWritable, fixed.RefuseStaleReads, fixed.ReplTimeout = c.ReplicaWritable, c.RefuseStaleReads, c.ReplTimeout
	fixed.ReplicaOutputLimits, fixed.BacklogSize = c.ReplicaOutputLimits, c.BacklogSize
	fixed.PingPeriod, fixed.AckPeriod = c.PingPeriod, c.AckPeriod
	fixed.MaxMemory, fixed.EvictionPolicy, fixed.MaxMemorySamples = c.MaxMemory, c.EvictionPolicy, c.MaxMemorySamples
	fixed.LFULogFactor, fixed.LFUDecayTime = c.LFULogFactor, c.LFUDecayTime
	fixed.MinReplicasToWrite, fixed.MinReplicasMaxLag = c.MinReplicasToWrite, c.MinReplicasMaxLag
	if !sameFixed(fixed, c) {
		return fmt.Errorf("%w: only Password, MasterUser, MasterAuth, ReplicaWritable, RefuseStaleReads, ReplTimeout, PingPeriod, AckPeriod, ReplicaOutputLimits, MinReplicasToWrite, MinReplicasMaxLag, BacklogSize, MaxMemory, EvictionPolicy, MaxMemorySamples, LFULogFactor and LFUDecayTime change at runtime", ErrInvalidArgument)
	}
	if c.BacklogSize != old.BacklogSize {
		s.resizeBacklog(c.BacklogSize)
	}
	s.periodsSet.ping, s.periodsSet.ack = pingSet, ackSet
	s.dyn.Store(&c)
	s.mem.setParams(&c)
	return nil
}

// sameFixed compares the settings Reconfigure may not change.
func sameFixed(a, b Config) bool {
	type fixed struct {
		shards, db, listen            int
		maxBulk                       int64
		expiry, ping, ack, rmin, rmax time.Duration
		nocomp                        bool
		spool                         string
		handshakes                    int
	}
	f := func(c Config) fixed {
		return fixed{c.Shards, c.DB, c.ListeningPort, c.MaxBulkLen, c.ActiveExpiryInterval, c.PingPeriod,
			c.AckPeriod, c.ReconnectMin, c.ReconnectMax, c.SnapshotNoCompression, c.SpoolDir, c.MaxHandshakes}
	}
	return f(a) == f(b)
}

// resizeBacklog changes the backlog's size: a smaller one keeps its
// newest bytes, a larger one fills as the stream grows.
func (s *Store) resizeBacklog(size int) {
	st := s.st
	st.mu.Lock()
	defer st.mu.Unlock()
	st.ring.SetSize(size)
}
