package transport

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
)

// TLS returns a Dialer that connects to addr over TCP (as [TCP] does) and
// runs a TLS client handshake with cfg before returning the connection.
//
// When cfg.ServerName is empty, the host part of addr is used to verify the
// server's certificate. The handshake is bounded by the Dial context. cfg is
// cloned, so the caller may keep using it. The String method returns addr.
func TLS(addr string, cfg *tls.Config) Dialer {
	return TLSOver(TCP(addr), cfg)
}

// TLSOver returns a Dialer that runs a TLS client handshake with cfg over
// every connection d opens, for example over a [MemNetwork] connection.
//
// When cfg.ServerName is empty, the host reported by [HostPort] for d is
// used. The String method returns d's address.
func TLSOver(d Dialer, cfg *tls.Config) Dialer {
	c := cfg.Clone()
	if c == nil {
		c = &tls.Config{}
	}
	if c.ServerName == "" {
		c.ServerName, _ = HostPort(d)
	}
	return &tlsDialer{d: d, cfg: c}
}

type tlsDialer struct {
	d   Dialer
	cfg *tls.Config
}

// Dial opens the underlying connection and completes the TLS handshake, both
// bounded by ctx. On failure the underlying connection is closed.
func (t *tlsDialer) Dial(ctx context.Context) (net.Conn, error) {
	raw, err := t.d.Dial(ctx)
	if err != nil {
		return nil, err
	}
	c := tls.Client(raw, t.cfg)
	if err := c.HandshakeContext(ctx); err != nil {
		raw.Close()
		return nil, fmt.Errorf("transport: tls handshake with %s: %w", t.String(), err)
	}
	return c, nil
}

// String returns the address of the underlying dialer.
func (t *tlsDialer) String() string {
	if s, ok := t.d.(fmt.Stringer); ok {
		return s.String()
	}
	return ""
}

// TLSListener returns a listener whose accepted connections run a TLS server
// handshake with cfg (it is [tls.NewListener]; cfg must hold at least one
// certificate or a GetCertificate callback). A primary serves TLS replicas
// with:
//
//	l, err := net.Listen("tcp", "127.0.0.1:6380")
//	// handle err
//	l = transport.TLSListener(l, cfg)
//
// The handshake runs on the first Read or Write of an accepted connection.
func TLSListener(l net.Listener, cfg *tls.Config) net.Listener {
	return tls.NewListener(l, cfg)
}
