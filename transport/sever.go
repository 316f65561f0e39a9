package transport

import "net"

// sever kills a connection as if its link had died: a MemNetwork link is
// cut with err (both ends fail with it), a TCP connection is reset (closed
// with SO_LINGER 0, so the peer gets ECONNRESET), and a TLS connection is
// severed through its underlying connection. Other connections are closed.
func sever(c net.Conn, err error) {
	for {
		switch x := c.(type) {
		case *memConn:
			x.link.cut(err)
			return
		case *net.TCPConn:
			x.SetLinger(0)
			x.Close()
			return
		case interface{ NetConn() net.Conn }:
			c = x.NetConn()
		default:
			c.Close()
			return
		}
	}
}
