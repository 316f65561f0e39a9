// Package transport provides the byte streams replikv replicates over.
//
// A primary serves a [net.Listener]; a replica reaches its primary through a
// [Dialer], a one-method interface taking a [context.Context]. Anything that
// yields a [net.Conn] can be used, so Unix sockets or QUIC streams plug in
// through [DialerFunc] without any change to the replication core.
//
// The package provides:
//
//   - [TCP] and [TLS] dialers for real networks. To serve TLS, wrap a TCP
//     listener with [TLSListener] (which is [tls.NewListener]).
//   - [MemNetwork], an in-process network of named listeners whose
//     connections are buffered (unlike the lock-step [net.Pipe]) and apply
//     backpressure like TCP, with hooks for tests ([MemNetwork.CutAll],
//     [MemNetwork.Conns]).
//   - [Faults], a deterministic fault injector wrapping any Dialer or
//     Listener by node name: cut, cut after N bytes, delay, stall,
//     partition and refused dials.
//
// Every Dialer returned by this package implements [fmt.Stringer], returning
// the address it dials; [HostPort] splits it into the host and port a
// replica reports as master_host and master_port.
//
// The sub-package transporttest holds a conformance suite that any
// listener/dialer pair can be checked against.
package transport
