//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package server

import (
	"net"
	"syscall"
)

// rawConnOf returns nil: tryRead is not available here.
func rawConnOf(net.Conn) syscall.RawConn { return nil }

// tryRead is never called where rawConnOf returns nil.
func tryRead(syscall.RawConn, []byte) (int, error, bool) { return 0, nil, false }

// waitRead is never called where rawConnOf returns nil.
func waitRead(syscall.RawConn) (*[spillSize]byte, int, error) { return nil, 0, nil }
