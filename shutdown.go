package replikv

import (
	"context"
	"errors"
	"fmt"
)

// Shutdown stops writes, waits until every replica that was streaming from
// this primary when it was called has acknowledged the final offset (or
// has gone), asking them with REPLCONF GETACK, then closes the store, as
// Redis 7's SHUTDOWN waits for lagging replicas. Writes during the wait
// fail with ErrReadOnly. When ctx ends first, the store is closed all the
// same and the error says how many replicas acknowledged. On a replica it
// is Close; on a closed store it returns ErrClosed.
func (s *Store) Shutdown(ctx context.Context) error {
	if err := s.changeRole(evPause, nil); err != nil {
		if errors.Is(err, ErrClosed) {
			return ErrClosed
		}
		return s.Close() // a replica: nothing of its own to hand over
	}
	_, off := s.Position()
	err := s.waitAcked(ctx, s.streamingReplicas(), off)
	s.Close()
	return err
}

// streamingReplicas returns the replicas past their sync, which can
// acknowledge offsets.
func (s *Store) streamingReplicas() map[int64]*replicaConn {
	p := &s.prim
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[int64]*replicaConn{}
	for id, rc := range p.replicas {
		rc.mu.Lock()
		if rc.state == "online" {
			out[id] = rc
		}
		rc.mu.Unlock()
	}
	return out
}

// waitAcked waits until each of the given replicas has acknowledged off or
// is no longer connected.
func (s *Store) waitAcked(ctx context.Context, waiting map[int64]*replicaConn, off int64) error {
	p := &s.prim
	asked := false
	for {
		p.mu.Lock()
		acked := p.acked
		for id, rc := range waiting {
			rc.mu.Lock()
			done := rc.ackOff >= off
			rc.mu.Unlock()
			if _, connected := p.replicas[id]; done || !connected {
				delete(waiting, id)
			}
		}
		p.mu.Unlock()
		if len(waiting) == 0 {
			return nil
		}
		if !asked {
			asked = true
			s.askAcks()
		}
		select {
		case <-acked:
		case <-ctx.Done():
			return fmt.Errorf("replikv: shutdown: %d replicas did not acknowledge offset %d: %w", len(waiting), off, ctx.Err())
		case <-s.done:
			return ErrClosed
		}
	}
}
