//go:build !race

package server

// raceEnabled reports a -race build, whose instrumentation makes stacks
// larger and code slower than what the memory measurements are about.
const raceEnabled = false
