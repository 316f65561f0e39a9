package replikv

import (
	"bytes"
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/replikv/replikv/transport"
)

// holdReplyConn passes everything until this side has written a PSYNC …
// FAILOVER; from then on its reads block until release is closed (or the
// conn is closed): the target's answer is "in flight".
type holdReplyConn struct {
	net.Conn
	release <-chan struct{}
	sent    chan struct{}
	once    sync.Once
	closed  chan struct{}
	cOnce   sync.Once
}

func (c *holdReplyConn) Write(b []byte) (int, error) {
	if bytes.Contains(b, []byte("FAILOVER")) {
		c.once.Do(func() { close(c.sent) })
	}
	return c.Conn.Write(b)
}

func (c *holdReplyConn) Read(b []byte) (int, error) {
	select {
	case <-c.sent:
		select {
		case <-c.release:
		case <-c.closed:
			return 0, net.ErrClosed
		}
	default:
	}
	return c.Conn.Read(b)
}

func (c *holdReplyConn) Close() error {
	c.cOnce.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

// holdReplyDial dials name, holding the answer to PSYNC … FAILOVER until
// release is closed (only on the first connection).
func holdReplyDial(mn memNet, name string, release <-chan struct{}) transport.Dialer {
	var first sync.Once
	return transport.DialerFunc(func(ctx context.Context) (net.Conn, error) {
		conn, err := mn.dialer(name).Dial(ctx)
		if err != nil {
			return nil, err
		}
		held := false
		first.Do(func() { held = true })
		if !held {
			return conn, nil
		}
		return &holdReplyConn{Conn: conn, release: release, sent: make(chan struct{}), closed: make(chan struct{})}, nil
	})
}

// TestReview15TimeoutAfterTakeoverTwoPrimaries: the target has received
// PSYNC … FAILOVER and promoted itself, its +CONTINUE is still on the
// wire when the failover's timeout fires. The old primary must not resume
// as a primary of the history the target now continues (Redis applies the
// timeout only while waiting for sync, not once the handover is sent):
// otherwise both are primaries and a write acknowledged by the old one is
// never on the new one.
func TestReview15TimeoutAfterTakeoverTwoPrimaries(t *testing.T) {
	c := newFOCluster(t, 0)
	r1 := c.reps[1001]
	must(t, c.p.Set("pre", []byte("x")))
	waitConverged(t, c.p, r1)
	release := make(chan struct{})
	dial := func(ReplicaInfo) transport.Dialer { return holdReplyDial(c.mn, "r1001", release) }
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res := make(chan error, 1)
	go func() { res <- c.p.Failover(ctx, FailoverOptions{Port: 1001, Dial: dial, Timeout: 1500 * time.Millisecond}) }()
	poll(t, 5*time.Second, "the target promoted itself", func() bool { return r1.Role() == RolePrimary })
	var err error
	select {
	case err = <-res:
	case <-time.After(3 * time.Second):
		close(release)
		err = <-res
	}
	t.Logf("Failover: %v; roles p %v, r1001 %v", err, c.p.Role(), r1.Role())
	if c.p.Role() == RolePrimary && r1.Role() == RolePrimary {
		werr := c.p.Set("acked-on-old", []byte("1"))
		t.Fatalf("two primaries after the handover was sent (write on the old one: %v; Failover: %v)", werr, err)
	}
	if err != nil && errors.Is(err, ErrFailover) {
		t.Fatalf("Failover reports failure, but the target took over: %v", err)
	}
}

// cutAfterFailoverDial dials name; on the first connection, once PSYNC …
// FAILOVER is written, the connection breaks before the answer is read.
func cutAfterFailoverDial(mn memNet, name string) transport.Dialer {
	var first sync.Once
	return transport.DialerFunc(func(ctx context.Context) (net.Conn, error) {
		conn, err := mn.dialer(name).Dial(ctx)
		if err != nil {
			return nil, err
		}
		held := false
		first.Do(func() { held = true })
		if !held {
			return conn, nil
		}
		hc := &holdReplyConn{Conn: conn, release: make(chan struct{}), sent: make(chan struct{}), closed: make(chan struct{})}
		hc.cOnce.Do(func() { close(hc.closed) }) // reads after the PSYNC fail
		return hc, nil
	})
}

// TestReview15HandoverRetriedAfterCut: the link breaks right after the
// target received PSYNC … FAILOVER (and promoted itself). The link
// reconnects and sends PSYNC … FAILOVER again to what is now a primary
// of the continued history; that must complete the handover, not be
// refused ("can't be sent to a master") and resume the old primary
// beside the new one.
func TestReview15HandoverRetriedAfterCut(t *testing.T) {
	c := newFOCluster(t, 0)
	r1 := c.reps[1001]
	must(t, c.p.Set("pre", []byte("x")))
	waitConverged(t, c.p, r1)
	dial := func(ReplicaInfo) transport.Dialer { return cutAfterFailoverDial(c.mn, "r1001") }
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := c.p.Failover(ctx, FailoverOptions{Port: 1001, Dial: dial, Timeout: 5 * time.Second})
	t.Logf("Failover: %v; roles p %v, r1001 %v", err, c.p.Role(), r1.Role())
	if c.p.Role() == RolePrimary && r1.Role() == RolePrimary {
		t.Fatalf("two primaries after a cut handover (Failover: %v)", err)
	}
	if err != nil {
		t.Fatalf("Failover: %v", err)
	}
	waitSynced(t, c.p)
	must(t, r1.Set("after", []byte("1")))
	waitConverged(t, r1, c.p)
	if n := c.p.Info().Master.FullSyncs; n != 0 {
		t.Fatalf("old primary resynced in full %d times", n)
	}
}
