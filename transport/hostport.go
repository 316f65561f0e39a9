package transport

import (
	"fmt"
	"net"
	"strconv"
)

// HostPort splits the address d dials into a host and a port, as a replica
// reports them in master_host and master_port.
//
// The address is d's String method (every Dialer in this package has one).
// When it has the form host:port with a numeric port, HostPort returns the
// two parts ("127.0.0.1:6379" gives "127.0.0.1", 6379). Otherwise the whole
// address is the host and the port is 0 ("mem:primary" gives "mem:primary",
// 0). A Dialer without a String method gives "", 0.
func HostPort(d Dialer) (host string, port int) {
	s, ok := d.(fmt.Stringer)
	if !ok {
		return "", 0
	}
	addr := s.String()
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return addr, 0
	}
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil {
		return addr, 0
	}
	return h, int(n)
}
