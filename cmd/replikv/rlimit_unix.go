//go:build unix

package main

import "syscall"

// openFileLimit returns the process's limit on open file descriptors
// (RLIMIT_NOFILE, soft), after raising it towards want if the hard limit
// allows; ok is false when it cannot be read.
func openFileLimit(want uint64) (limit uint64, ok bool) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, false
	}
	if rl.Cur < want && rl.Cur < rl.Max {
		raised := rl
		raised.Cur = min(want, rl.Max)
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised) == nil {
			rl = raised
		}
	}
	return rl.Cur, true
}
