//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package server

// cpuTimes reports no figures where getrusage(2) is not available.
func cpuTimes() (self, children cpuUsage) { return cpuUsage{}, cpuUsage{} }
