//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package server

import (
	"io"
	"net"
	"os"
	"syscall"
)

// rawConnOf returns the raw connection of conn for tryRead, or nil when it
// has none (TLS, in-memory pipes).
func rawConnOf(conn net.Conn) syscall.RawConn {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// tryRead reads what rc has for p without waiting. ok is false when
// nothing is there yet (the read would block); otherwise n and err are
// what a Read returned.
func tryRead(rc syscall.RawConn, p []byte) (n int, err error, ok bool) {
	var errno error
	if cerr := rc.Read(func(fd uintptr) bool {
		for {
			n, errno = syscall.Read(int(fd), p)
			if errno != syscall.EINTR {
				return true
			}
		}
	}); cerr != nil {
		return 0, cerr, true
	}
	switch {
	case errno == syscall.EAGAIN:
		return 0, nil, false
	case errno != nil:
		return 0, &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", errno)}, true
	case n == 0 && len(p) > 0:
		return 0, io.EOF, true
	}
	return n, nil, true
}
