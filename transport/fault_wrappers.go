package transport

import (
	"context"
	"fmt"
	"net"
)

// Dialer returns a Dialer for node from that dials node to through d,
// subject to the controller's faults. Dials fail at once while to refuses
// dials or a partition separates the nodes; connections it opens carry the
// faults set on the flows between from and to. Its String method returns
// d's.
func (f *Faults) Dialer(from, to string, d Dialer) Dialer {
	return &faultDialer{f: f, from: from, to: to, d: d}
}

type faultDialer struct {
	f        *Faults
	from, to string
	d        Dialer
}

// Dial checks refusals and partitions, then dials through the wrapped
// Dialer.
func (d *faultDialer) Dial(ctx context.Context) (net.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := d.f.dialAllowed(d.from, d.to); err != nil {
		return nil, fmt.Errorf("transport: dial %s from %s: %w", d.to, d.from, err)
	}
	c, err := d.d.Dial(ctx)
	if err != nil {
		return nil, err
	}
	return d.f.wrap(c, d.from, d.to, false), nil
}

// String returns the wrapped Dialer's address.
func (d *faultDialer) String() string {
	if s, ok := d.d.(fmt.Stringer); ok {
		return s.String()
	}
	return ""
}

// Listener returns a listener for node name that accepts through l.
//
// A connection dialed through one of this controller's Dialers is matched
// to its dialing end (by address) and passes through untouched, since the
// dialing end applies the faults. A connection from any other dialer has an
// unknown peer: only faults naming [Any] apply to it, at this end (for
// example Partition(name, Any) cuts it at its next read or write).
func (f *Faults) Listener(name string, l net.Listener) net.Listener {
	return &faultListener{Listener: l, f: f, name: name}
}

type faultListener struct {
	net.Listener
	f    *Faults
	name string
}

// Accept waits for and wraps the next connection.
func (l *faultListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return l.f.wrap(c, l.name, "", true), nil
}
