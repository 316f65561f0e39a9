package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"syscall"

	"github.com/replikv/replikv/transport"
)

// listen opens, on every bind address, the plain port unless it is 0
// and the TLS port unless it is 0, logging each; on failure it closes
// those already open. As in redis.conf, "*" is every IPv4 address, "::*"
// every IPv6 one, and an address prefixed with "-" is skipped, with a
// warning, when the host does not have it.
func listen(o options, log *slog.Logger) ([]net.Listener, error) {
	var ls []net.Listener
	open := func(bind, port string, cfg *tls.Config) error {
		host, optional := strings.CutPrefix(bind, "-")
		network := "tcp4"
		switch {
		case host == "*":
			host = "0.0.0.0"
		case host == "::*":
			host = "::"
		}
		if strings.Contains(host, ":") {
			// IPv6 only, as Redis's sockets: "::" beside "0.0.0.0"
			// does not take the IPv4 port too.
			network = "tcp6"
		}
		addr := net.JoinHostPort(host, port)
		l, err := net.Listen(network, addr)
		if err != nil && optional && (errors.Is(err, syscall.EADDRNOTAVAIL) || errors.Is(err, syscall.EAFNOSUPPORT)) {
			log.Warn("skipping an optional bind address the host does not have", "addr", addr, "err", err)
			return nil
		}
		if err != nil {
			return listenError(addr, cfg != nil, err)
		}
		if cfg != nil {
			l = transport.TLSListener(l, cfg)
			log.Info("listening", "addr", l.Addr().String(), "tls", true)
		} else {
			log.Info("listening", "addr", l.Addr().String())
		}
		ls = append(ls, l)
		return nil
	}
	for _, b := range o.binds {
		var err error
		if o.port != 0 {
			err = open(b, strconv.Itoa(o.port), nil)
		}
		if err == nil && o.tls.port != 0 {
			err = open(b, strconv.Itoa(o.tls.port), o.tlsServer)
		}
		if err != nil {
			for _, l := range ls {
				l.Close()
			}
			return nil, err
		}
	}
	return ls, nil
}

// listenError says what to fix when addr cannot be listened on.
func listenError(addr string, isTLS bool, err error) error {
	flag := "--port"
	if isTLS {
		flag = "--tls-port"
	}
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return fmt.Errorf("cannot listen on %s: the port is in use (another server?); choose another with %s", addr, flag)
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return fmt.Errorf("cannot listen on %s: no such local address; fix bind (a \"-\" before an address makes it optional)", addr)
	case errors.Is(err, syscall.EACCES):
		return fmt.Errorf("cannot listen on %s: permission denied (ports below 1024 need privileges); choose another with %s", addr, flag)
	}
	return fmt.Errorf("cannot listen on %s: %w", addr, err)
}
