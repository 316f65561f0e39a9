package replikv

import (
	"fmt"
	"time"
)

// This file is Redis's min-replicas-to-write: a primary refuses writes
// while too few of its replicas are online with a fresh acknowledgement.

// relistLocked publishes a copy of the replica set for lock-free readers;
// p.mu is held.
func (p *primaryState) relistLocked() {
	l := make([]*replicaConn, 0, len(p.replicas))
	for _, rc := range p.replicas {
		l = append(l, rc)
	}
	p.listed.Store(&l)
}

// goodReplicas counts the replicas that are online and acknowledged the
// stream within maxLag of now (Redis repl_good_slaves_count). It takes no
// lock, so that a write can ask with the stream locked.
func (s *Store) goodReplicas(now time.Time, maxLag time.Duration) int {
	l := s.prim.listed.Load()
	if l == nil {
		return 0
	}
	n := 0
	oldest := now.Add(-maxLag).UnixNano()
	for _, rc := range *l {
		if rc.online.Load() && rc.ackNano.Load() >= oldest {
			n++
		}
	}
	return n
}

// enoughReplicas decides, from the configuration in effect and the count
// of good replicas, whether a primary may accept a write.
func enoughReplicas(want, good int) error {
	if want <= 0 || good >= want {
		return nil
	}
	return fmt.Errorf("%w: %d of the %d required replicas are online with a fresh ACK", ErrNoReplicas, good, want)
}

// minReplicasOn reports whether the min-replicas check applies: as in
// Redis, both settings must be on.
func minReplicasOn(c *Config) bool { return c.MinReplicasToWrite > 0 && c.MinReplicasMaxLag > 0 }

// minReplicasLocked is the min-replicas check of a write on a primary;
// free when MinReplicasToWrite is 0.
func (s *Store) minReplicasLocked(c *Config) error {
	if !minReplicasOn(c) {
		return nil
	}
	return enoughReplicas(c.MinReplicasToWrite, s.goodReplicas(time.Now(), c.MinReplicasMaxLag))
}
