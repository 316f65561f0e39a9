package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/replikv/replikv"
	"github.com/replikv/replikv/transport"
)

// cluster is a replikv primary with replicas in this process, linked by
// the in-memory network.
type cluster struct {
	primary  *replikv.Store
	replicas []*replikv.Store
}

// newCluster starts a primary and n replicas of it and waits until they
// have synced.
func newCluster(n int) (*cluster, error) {
	network := transport.NewMemNetwork()
	cfg := replikv.Config{ActiveExpiryInterval: -1} // the library's defaults otherwise
	p, err := replikv.New(cfg)
	if err != nil {
		return nil, err
	}
	c := &cluster{primary: p}
	l, err := network.Listen("primary")
	if err != nil {
		c.close()
		return nil, err
	}
	go func() {
		if err := p.Serve(l); err != nil && !errors.Is(err, replikv.ErrClosed) && !errors.Is(err, net.ErrClosed) {
			fmt.Println("in-process primary: serve:", err)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for range n {
		r, err := replikv.New(cfg)
		if err != nil {
			c.close()
			return nil, err
		}
		c.replicas = append(c.replicas, r)
		if err := r.ReplicaOf(network.Dialer("primary")); err != nil {
			c.close()
			return nil, err
		}
		if err := r.WaitSynced(ctx); err != nil {
			c.close()
			return nil, err
		}
	}
	return c, nil
}

// caughtUp waits until every replica has applied the primary's whole
// stream.
func (c *cluster) caughtUp(timeout time.Duration) error {
	return poll(timeout, 50*time.Microsecond, "in-process replicas caught up", func() (bool, error) {
		_, off := c.primary.Position()
		for _, r := range c.replicas {
			if _, ro := r.Position(); ro != off {
				return false, nil
			}
		}
		return true, nil
	})
}

func (c *cluster) close() {
	for _, r := range c.replicas {
		r.Close()
	}
	c.primary.Close()
}
