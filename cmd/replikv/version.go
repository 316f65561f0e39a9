package main

import (
	"runtime"
	"runtime/debug"
	"strconv"
)

// versionLine is the --version text, in redis-server's shape ("Redis
// server v=7.0.15 sha=… malloc=… bits=64 build=…"): the module version
// (devel for a build from a source tree), the Go version, the word size
// and the VCS revision the binary was built from (unknown without one,
// +dirty with uncommitted changes).
func versionLine() string {
	version, build, dirty := "devel", "unknown", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			version = v
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				build = s.Value[:min(len(s.Value), 12)]
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if dirty && build != "unknown" {
		build += "+dirty"
	}
	return "replikv server v=" + version + " go=" + runtime.Version() + " bits=" + strconv.Itoa(strconv.IntSize) + " build=" + build
}
