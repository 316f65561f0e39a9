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

// waitRead reads rc into a 16 KB buffer of spillBufs once it has bytes,
// waiting for them (and honouring the read deadline) without holding the
// buffer: one is taken only around each read system call. It returns the
// buffer and the byte count; the caller returns the buffer to spillBufs
// when done with it. A pipeline larger than the client's small idle buffer
// thus takes one read, as in Redis, and an idle client holds no large
// buffer while it waits.
func waitRead(rc syscall.RawConn) (buf *[spillSize]byte, n int, err error) {
	var errno error
	if cerr := rc.Read(func(fd uintptr) bool {
		b := spillBufs.Get().(*[spillSize]byte)
		for {
			n, errno = syscall.Read(int(fd), b[:])
			if errno != syscall.EINTR {
				break
			}
		}
		if errno == syscall.EAGAIN {
			spillBufs.Put(b)
			return false // wait until readable, holding nothing
		}
		buf = b
		return true
	}); cerr != nil {
		if buf != nil {
			spillBufs.Put(buf)
		}
		return nil, 0, cerr
	}
	switch {
	case errno != nil:
		spillBufs.Put(buf)
		return nil, 0, &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", errno)}
	case n == 0:
		spillBufs.Put(buf)
		return nil, 0, io.EOF
	}
	return buf, n, nil
}
