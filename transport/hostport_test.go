package transport_test

import (
	"context"
	"net"
	"testing"

	"github.com/replikv/replikv/transport"
)

func TestHostPort(t *testing.T) {
	noAddr := transport.DialerFunc(func(context.Context) (net.Conn, error) { return nil, nil })
	tests := []struct {
		d    transport.Dialer
		host string
		port int
	}{
		{transport.TCP("127.0.0.1:6379"), "127.0.0.1", 6379},
		{transport.TCP("[::1]:6380"), "::1", 6380},
		{transport.TLS("localhost:6390", nil), "localhost", 6390},
		{transport.NewMemNetwork().Dialer("primary"), "mem:primary", 0},
		{transport.TCP("host:notaport"), "host:notaport", 0},
		{transport.TCP("host:70000"), "host:70000", 0},
		{noAddr, "", 0},
		{transport.Named("10.0.0.1:7000", noAddr), "10.0.0.1", 7000},
	}
	for _, tt := range tests {
		host, port := transport.HostPort(tt.d)
		if host != tt.host || port != tt.port {
			t.Errorf("HostPort(%v) = %q, %d; want %q, %d", tt.d, host, port, tt.host, tt.port)
		}
	}
}
