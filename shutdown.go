package replikv

import (
	"context"
	"fmt"
)

// Shutdown stops writes, waits until every replica streaming from this
// primary has acknowledged the final offset (asking them with REPLCONF
// GETACK), then closes the store, as Redis 7's SHUTDOWN waits for lagging
// replicas. Writes during the wait fail with ErrReadOnly. When ctx ends
// first, the store is closed all the same and the error says how many
// replicas acknowledged. On a replica it is Close.
func (s *Store) Shutdown(ctx context.Context) error {
	var err error
	if s.changeRole(evPause, nil) == nil { // only a primary pauses
		_, off := s.Position()
		if n := s.streamingReplicas(); n > 0 {
			if got := s.WaitReplicas(ctx, n, off); got < n {
				err = fmt.Errorf("replikv: shutdown: %d of %d replicas acknowledged offset %d: %w", got, n, off, ctx.Err())
			}
		}
	}
	s.Close()
	return err
}

// streamingReplicas counts the replicas past their sync, which can
// acknowledge offsets.
func (s *Store) streamingReplicas() int {
	p := &s.prim
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, rc := range p.replicas {
		rc.mu.Lock()
		if rc.state == "online" {
			n++
		}
		rc.mu.Unlock()
	}
	return n
}
