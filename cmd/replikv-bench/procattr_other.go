//go:build !linux

package main

import "syscall"

// childAttr: without Pdeathsig, children are ended by the harness's own
// exit paths only.
func childAttr() *syscall.SysProcAttr { return nil }
