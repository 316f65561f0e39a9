package replikv

import (
	"context"

	"github.com/replikv/replikv/resp"
)

// getAck is REPLCONF GETACK *, which asks replicas for an immediate ACK.
var getAck = resp.AppendCommandString(nil, "REPLCONF", "GETACK", "*")

// WaitReplicas waits until at least n replicas have acknowledged the
// stream up to offset (or ctx is done) and returns how many have (Redis
// WAIT). When some lag, it asks them for an ACK with REPLCONF GETACK in
// the stream, as Redis does.
func (s *Store) WaitReplicas(ctx context.Context, n int, offset int64) int {
	p := &s.prim
	asked := false
	for {
		p.mu.Lock()
		count := 0
		for _, rc := range p.replicas {
			rc.mu.Lock()
			if rc.ackOff >= offset {
				count++
			}
			rc.mu.Unlock()
		}
		total := len(p.replicas)
		acked := p.acked
		p.mu.Unlock()
		if count >= n {
			return count
		}
		if !asked && count < total {
			asked = true
			s.askAcks()
		}
		select {
		case <-acked:
		case <-ctx.Done():
			return count
		case <-s.done:
			return count
		}
	}
}

// askAcks puts REPLCONF GETACK in the stream, when this store originates
// it (a replica's stream is its primary's), so replicas ACK at once.
func (s *Store) askAcks() {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	if streams(s.st.loadRole()) {
		s.st.appendLocked(getAck)
	}
}

// DisconnectReplicas closes the connection of every replica of this store
// (Redis CLIENT KILL TYPE replica) and returns how many there were. They
// reconnect and, history permitting, continue with a partial resync.
func (s *Store) DisconnectReplicas() int {
	p := &s.prim
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, rc := range p.replicas {
		rc.conn.Close()
	}
	return len(p.replicas)
}
