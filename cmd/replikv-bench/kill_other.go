//go:build !unix

package main

import (
	"errors"
	"os"
)

// kill ends pid (the harness runs its servers on Unix systems only; this
// keeps the package building elsewhere).
func kill(pid int) {
	if p, err := os.FindProcess(pid); err == nil {
		p.Kill()
	}
}

// freeze is not available here (S9 needs SIGSTOP).
func (n *node) freeze() error { return errors.New("freezing a process needs a Unix system") }
