package server

import (
	"math"
	"strconv"
	"sync"
)

// Defaults of the stored-only settings, as Redis's.
const (
	defaultDisklessSyncDelay = 5
	defaultReplicaPriority   = 100
)

// storedSettings holds the stored-only settings of Config (see
// Config.MinReplicasToWrite) as CONFIG SET leaves them.
type storedSettings struct {
	mu sync.Mutex
	c  Config // only the stored-only fields are used
}

func (st *storedSettings) set(c Config) {
	st.mu.Lock()
	st.c.NoDisklessSync, st.c.DisklessSyncDelay = c.NoDisklessSync, c.DisklessSyncDelay
	st.c.ReplicaPriority = c.ReplicaPriority
	st.mu.Unlock()
}

// into copies the stored settings into c.
func (st *storedSettings) into(c *Config) {
	st.mu.Lock()
	defer st.mu.Unlock()
	c.NoDisklessSync, c.DisklessSyncDelay = st.c.NoDisklessSync, st.c.DisklessSyncDelay
	c.ReplicaPriority = st.c.ReplicaPriority
}

// checkStored validates the stored-only settings of c for New: the two
// left (NoDisklessSync, DisklessSyncDelay) take any value.
func checkStored(c *Config) error { return nil }

// secondsWithDefault renders a stored-only count or number of seconds
// whose zero means def and whose negative values mean 0.
func secondsWithDefault(v, def int) string {
	switch {
	case v == 0:
		v = def
	case v < 0:
		v = 0
	}
	return strconv.Itoa(v)
}

// parseCount parses a stored-only setting between 0 and 2147483647, with
// Redis's reasons. zeroAs is stored for 0 (so that it is not taken for
// the default).
func parseCount(v string, zeroAs int) (int, string) {
	n, ok := parseInt([]byte(v))
	if !ok {
		return 0, "argument couldn't be parsed into an integer"
	}
	if n < 0 || n > math.MaxInt32 {
		return 0, "argument must be between 0 and 2147483647 inclusive"
	}
	if n == 0 {
		return zeroAs, ""
	}
	return int(n), ""
}

// countParam is a stored-only setting between 0 and 2147483647 held in
// the field of Config that field returns, whose zero means def (and a
// negative value 0, when def is not 0).
func countParam(name, alias string, field func(c *Config) *int, def int) serverParam {
	zeroAs := 0
	if def != 0 {
		zeroAs = -1
	}
	return serverParam{name, alias,
		func(c *Config) string { return secondsWithDefault(*field(c), def) },
		func(c *Config, v string) string {
			n, reason := parseCount(v, zeroAs)
			if reason == "" {
				*field(c) = n
			}
			return reason
		}}
}

// storedParams are the stored-only settings as serverParams.
var storedParams = []serverParam{
	{"repl-diskless-sync", "",
		func(c *Config) string { return yesNo(!c.NoDisklessSync) },
		func(c *Config, v string) string {
			b, err := ParseYesNo(v)
			if err != nil {
				return reasonYesNo
			}
			c.NoDisklessSync = !b
			return ""
		}},
	countParam("repl-diskless-sync-delay", "", func(c *Config) *int { return &c.DisklessSyncDelay }, defaultDisklessSyncDelay),
}
