//go:build linux

package backlog

import (
	"syscall"
	"unsafe"
)

// mapSupported: mapped memory on 64-bit Linux only (address space is
// scarce on 32-bit systems).
const mapSupported = unsafe.Sizeof(uintptr(0)) == 8

// mapRegion maps n bytes of private anonymous memory, readable and
// writable.
func mapRegion(n int) ([]byte, error) {
	return syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
}

// releasePages gives p's pages back to the operating system: they read as
// zeros from then on, and take memory again only when written.
func releasePages(p []byte) {
	// MADV_DONTNEED cannot fail on a private anonymous mapping that is
	// mapped; if it did, the pages would merely stay resident.
	_ = syscall.Madvise(p, syscall.MADV_DONTNEED)
}
