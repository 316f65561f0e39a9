//go:build !unix

package main

// openFileLimit reports that the limit on open files is unknown here.
func openFileLimit(want uint64) (limit uint64, ok bool) { return 0, false }
