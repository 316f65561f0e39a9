//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package server

import (
	"syscall"
	"time"
)

// cpuTimes returns the CPU time used by the process and by its waited-for
// children, from getrusage(2).
func cpuTimes() (self, children cpuUsage) {
	return rusage(syscall.RUSAGE_SELF), rusage(syscall.RUSAGE_CHILDREN)
}

func rusage(who int) cpuUsage {
	var ru syscall.Rusage
	if syscall.Getrusage(who, &ru) != nil {
		return cpuUsage{}
	}
	return cpuUsage{sys: timeval(ru.Stime), user: timeval(ru.Utime)}
}

func timeval(tv syscall.Timeval) time.Duration {
	return time.Duration(tv.Sec)*time.Second + time.Duration(tv.Usec)*time.Microsecond
}
