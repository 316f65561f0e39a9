package transport

import (
	"context"
	"net"
)

// Dialer opens a byte stream to a primary.
//
// Dial must return promptly once ctx is done, with an error wrapping
// ctx.Err(). Implementations must be safe for concurrent use.
type Dialer interface {
	Dial(ctx context.Context) (net.Conn, error)
}

// DialerFunc adapts an ordinary function to the [Dialer] interface.
//
// A DialerFunc has no address to report; wrap it with [Named] to give it one
// for [HostPort] and for a replica's Info.
type DialerFunc func(ctx context.Context) (net.Conn, error)

// Dial calls f(ctx).
func (f DialerFunc) Dial(ctx context.Context) (net.Conn, error) { return f(ctx) }

// Named returns a Dialer that dials through d and whose String method
// returns addr, for dialers (such as a [DialerFunc]) that cannot name the
// address they reach.
func Named(addr string, d Dialer) Dialer { return namedDialer{addr: addr, d: d} }

type namedDialer struct {
	addr string
	d    Dialer
}

func (n namedDialer) Dial(ctx context.Context) (net.Conn, error) { return n.d.Dial(ctx) }
func (n namedDialer) String() string                             { return n.addr }
