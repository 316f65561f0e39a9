package server

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
)

// Defaults of the stored-only settings, as Redis's.
const (
	defaultDisklessSyncDelay = 5
	defaultMaxMemoryPolicy   = "noeviction"
)

// maxMemoryPolicies are the values of maxmemory-policy, in the order
// Redis lists them in its error.
var maxMemoryPolicies = []string{"volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
	"allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction"}

// storedSettings holds the stored-only settings of Config (see
// Config.MinReplicasToWrite) as CONFIG SET leaves them.
type storedSettings struct {
	mu sync.Mutex
	c  Config // only the stored-only fields are used
}

func (st *storedSettings) set(c Config) {
	st.mu.Lock()
	st.c.NoDisklessSync, st.c.DisklessSyncDelay = c.NoDisklessSync, c.DisklessSyncDelay
	st.c.MaxMemory, st.c.MaxMemoryPolicy = c.MaxMemory, c.MaxMemoryPolicy
	st.mu.Unlock()
}

// into copies the stored settings into c.
func (st *storedSettings) into(c *Config) {
	st.mu.Lock()
	defer st.mu.Unlock()
	c.NoDisklessSync, c.DisklessSyncDelay = st.c.NoDisklessSync, st.c.DisklessSyncDelay
	c.MaxMemory, c.MaxMemoryPolicy = st.c.MaxMemory, st.c.MaxMemoryPolicy
}

// checkStored validates the stored-only settings of c for New.
func checkStored(c *Config) error {
	if c.MaxMemory < 0 {
		return fmt.Errorf("%w: MaxMemory out of range", ErrConfig)
	}
	if c.MaxMemoryPolicy != "" && !isMaxMemoryPolicy(c.MaxMemoryPolicy) {
		return fmt.Errorf("%w: MaxMemoryPolicy %q: want one of %s", ErrConfig, c.MaxMemoryPolicy, strings.Join(maxMemoryPolicies, ", "))
	}
	return nil
}

func isMaxMemoryPolicy(s string) bool {
	for _, p := range maxMemoryPolicies {
		if strings.EqualFold(p, s) {
			return true
		}
	}
	return false
}

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
	{"maxmemory", "",
		func(c *Config) string { return strconv.FormatInt(c.MaxMemory, 10) },
		func(c *Config, v string) string {
			n, err := ParseMemory(v)
			if err != nil {
				return "argument must be a memory value"
			}
			c.MaxMemory = n
			return ""
		}},
	{"maxmemory-policy", "",
		func(c *Config) string {
			if c.MaxMemoryPolicy == "" {
				return defaultMaxMemoryPolicy
			}
			return strings.ToLower(c.MaxMemoryPolicy)
		},
		func(c *Config, v string) string {
			if !isMaxMemoryPolicy(v) {
				return "argument(s) must be one of the following: " + strings.Join(maxMemoryPolicies, ", ")
			}
			c.MaxMemoryPolicy = strings.ToLower(v)
			return ""
		}},
}
