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
	// Rlimit's fields are uint64 on most systems, int64 on some (FreeBSD).
	if cur, hard := uint64(rl.Cur), uint64(rl.Max); cur < want && cur < hard {
		raised := rl
		setRlim(&raised.Cur, min(want, hard))
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised) == nil {
			rl = raised
		}
	}
	return uint64(rl.Cur), true
}

// setRlim sets an Rlimit field, whichever integer type it has here.
func setRlim[T int64 | uint64](f *T, v uint64) { *f = T(v) }
