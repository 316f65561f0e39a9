//go:build unix

package main

import "syscall"

// kill ends pid and its descendants with SIGKILL (after SIGCONT, so that a
// frozen one goes too).
func kill(pid int) {
	for _, c := range descendants(pid) {
		syscall.Kill(c, syscall.SIGCONT)
		syscall.Kill(c, syscall.SIGKILL)
	}
	syscall.Kill(pid, syscall.SIGCONT)
	syscall.Kill(pid, syscall.SIGKILL)
}

// freeze stops a node's process (SIGSTOP); stopping the node resumes it
// before killing it.
func (n *node) freeze() error { return syscall.Kill(n.pid(), syscall.SIGSTOP) }
