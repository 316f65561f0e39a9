package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"
)

// tcpKeepAlive is the idle time before the first keepalive probe and the
// interval between probes on dialed TCP connections.
const tcpKeepAlive = 15 * time.Second

// TCP returns a Dialer that connects to addr ("host:port") over TCP.
//
// Connections have TCP_NODELAY set (small replication writes are not held
// back) and keepalive probes every 15 seconds, so a dead peer is eventually
// noticed even on an idle link. A refused connection gives an error matching
// both [ErrConnRefused] and syscall.ECONNREFUSED. The Dialer's String method
// returns addr.
func TCP(addr string) Dialer {
	return &tcpDialer{
		addr: addr,
		d: net.Dialer{KeepAliveConfig: net.KeepAliveConfig{
			Enable:   true,
			Idle:     tcpKeepAlive,
			Interval: tcpKeepAlive,
			Count:    4,
		}},
	}
}

type tcpDialer struct {
	addr string
	d    net.Dialer
}

// Dial connects to the dialer's address; ctx bounds the connect.
func (t *tcpDialer) Dial(ctx context.Context) (net.Conn, error) {
	c, err := t.d.DialContext(ctx, "tcp", t.addr)
	if err != nil {
		return nil, markRefused(err)
	}
	if tc, ok := c.(*net.TCPConn); ok {
		if err := tc.SetNoDelay(true); err != nil {
			c.Close()
			return nil, fmt.Errorf("transport: dial %s: set TCP_NODELAY: %w", t.addr, err)
		}
	}
	return c, nil
}

// String returns the address the dialer connects to.
func (t *tcpDialer) String() string { return t.addr }

// markRefused makes a dial error caused by ECONNREFUSED also match
// ErrConnRefused, keeping the original error in the chain.
func markRefused(err error) error {
	if errors.Is(err, syscall.ECONNREFUSED) && !errors.Is(err, ErrConnRefused) {
		return fmt.Errorf("%w: %w", ErrConnRefused, err)
	}
	return err
}
