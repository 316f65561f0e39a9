package server

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/replikv/replikv"
)

// Errors wrapped by a *ParamError.
var (
	// ErrUnknownParam reports a setting name ApplyParam does not know.
	ErrUnknownParam = errors.New("server: unknown setting")
	// ErrBadValue reports a value a setting does not accept.
	ErrBadValue = errors.New("server: bad value")
)

// ParamError reports a setting that could not be applied. Err is
// ErrUnknownParam or ErrBadValue.
type ParamError struct {
	Name   string // the setting, as given
	Reason string // Redis's wording, such as "argument must be 'yes' or 'no'"
	Err    error
}

// Error returns, for example, "server: repl-timeout: argument couldn't be
// parsed into an integer".
func (e *ParamError) Error() string { return "server: " + e.Name + ": " + e.Reason }

// Unwrap returns e.Err.
func (e *ParamError) Unwrap() error { return e.Err }

// storeParam is a replication setting of the Store that CONFIG GET shows
// and CONFIG SET (through Store.Reconfigure) and ApplyParam change.
type storeParam struct {
	name, alias string
	get         func(c *replikv.Config) string
	set         func(c *replikv.Config, v string) string // returns a reason on error
}

var storeParams = []storeParam{
	{"requirepass", "",
		func(c *replikv.Config) string { return c.Password },
		func(c *replikv.Config, v string) string { c.Password = v; return "" }},
	{"masterauth", "",
		func(c *replikv.Config) string { return c.MasterAuth },
		func(c *replikv.Config, v string) string { c.MasterAuth = v; return "" }},
	{"masteruser", "",
		func(c *replikv.Config) string { return c.MasterUser },
		func(c *replikv.Config, v string) string { c.MasterUser = v; return "" }},
	{"replica-read-only", "slave-read-only",
		func(c *replikv.Config) string { return yesNo(!c.ReplicaWritable) },
		func(c *replikv.Config, v string) string {
			b, err := ParseYesNo(v)
			if err != nil {
				return reasonYesNo
			}
			c.ReplicaWritable = !b
			return ""
		}},
	{"replica-serve-stale-data", "slave-serve-stale-data",
		func(c *replikv.Config) string { return yesNo(!c.RefuseStaleReads) },
		func(c *replikv.Config, v string) string {
			b, err := ParseYesNo(v)
			if err != nil {
				return reasonYesNo
			}
			c.RefuseStaleReads = !b
			return ""
		}},
	{"repl-backlog-size", "",
		func(c *replikv.Config) string { return strconv.Itoa(c.BacklogSize) },
		func(c *replikv.Config, v string) string {
			n, err := ParseMemory(v)
			if err != nil || n > math.MaxInt {
				return "argument must be a memory value"
			}
			if n < 1 {
				return "argument must be between 1 and 9223372036854775807 inclusive"
			}
			c.BacklogSize = int(n)
			return ""
		}},
	{"repl-timeout", "",
		func(c *replikv.Config) string { return strconv.FormatInt(seconds(c.ReplTimeout), 10) },
		func(c *replikv.Config, v string) (reason string) {
			c.ReplTimeout, reason = parseSeconds(v, 1, c.ReplTimeout)
			return reason
		}},
	{"min-replicas-to-write", "min-slaves-to-write",
		func(c *replikv.Config) string { return strconv.Itoa(c.MinReplicasToWrite) },
		func(c *replikv.Config, v string) string {
			n, reason := parseCount(v, 0)
			if reason == "" {
				c.MinReplicasToWrite = n
			}
			return reason
		}},
	{"min-replicas-max-lag", "min-slaves-max-lag",
		func(c *replikv.Config) string { return strconv.FormatInt(max(0, seconds(c.MinReplicasMaxLag)), 10) },
		func(c *replikv.Config, v string) string {
			n, reason := parseCount(v, 0)
			if reason != "" {
				return reason
			}
			c.MinReplicasMaxLag = time.Duration(n) * time.Second
			if n == 0 {
				c.MinReplicasMaxLag = -1 // Redis's 0: the check is off
			}
			return ""
		}},
	{"repl-ping-replica-period", "repl-ping-slave-period",
		func(c *replikv.Config) string { return strconv.FormatInt(seconds(c.PingPeriod), 10) },
		func(c *replikv.Config, v string) (reason string) {
			c.PingPeriod, reason = parseSeconds(v, 1, c.PingPeriod)
			return reason
		}},
	{"maxmemory", "",
		func(c *replikv.Config) string { return strconv.FormatInt(c.MaxMemory, 10) },
		func(c *replikv.Config, v string) string {
			n, err := ParseMemory(v)
			if err != nil && !tooLargeMemory(v) {
				return "argument must be a memory value"
			}
			if err != nil {
				n = math.MaxInt64 // Redis saturates: a limit nothing reaches
			}
			c.MaxMemory = n
			return ""
		}},
	{"maxmemory-policy", "",
		func(c *replikv.Config) string { return c.EvictionPolicy.String() },
		func(c *replikv.Config, v string) string {
			p, err := replikv.ParseEvictionPolicy(v)
			if err != nil {
				return "argument(s) must be one of the following: " + strings.Join(policyNames(), ", ")
			}
			c.EvictionPolicy = p
			return ""
		}},
	{"maxmemory-samples", "",
		func(c *replikv.Config) string { return strconv.Itoa(c.MaxMemorySamples) },
		func(c *replikv.Config, v string) string {
			n, reason := parseIntIn(v, 1, math.MaxInt32)
			if reason == "" {
				c.MaxMemorySamples = n
			}
			return reason
		}},
	{"lfu-log-factor", "",
		func(c *replikv.Config) string { return strconv.Itoa(max(0, c.LFULogFactor)) },
		func(c *replikv.Config, v string) string { return setZeroable(&c.LFULogFactor, v) }},
	{"lfu-decay-time", "",
		func(c *replikv.Config) string { return strconv.Itoa(max(0, c.LFUDecayTime)) },
		func(c *replikv.Config, v string) string { return setZeroable(&c.LFUDecayTime, v) }},
}

// policyNames lists the maxmemory-policy values, in the order Redis lists
// them in its error.
func policyNames() []string {
	var ns []string
	for _, p := range replikv.EvictionPolicies {
		ns = append(ns, p.String())
	}
	return ns
}

// parseIntIn parses an integer setting from least to most, with Redis's
// reasons.
func parseIntIn(v string, least, most int64) (int, string) {
	n, ok := parseInt([]byte(v))
	if !ok {
		return 0, "argument couldn't be parsed into an integer"
	}
	if n < least || n > most {
		return 0, "argument must be between " + strconv.FormatInt(least, 10) + " and " + strconv.FormatInt(most, 10) + " inclusive"
	}
	return int(n), ""
}

// setZeroable sets a replikv.Config count from 0 to 2147483647 whose zero value
// means its default: 0 is stored as -1.
func setZeroable(field *int, v string) string {
	n, reason := parseIntIn(v, 0, math.MaxInt32)
	if reason != "" {
		return reason
	}
	if n == 0 {
		n = -1
	}
	*field = n
	return ""
}

// serverParam is a setting of the Server itself that CONFIG GET shows
// and CONFIG SET and ApplyServerParam change.
type serverParam struct {
	name, alias string
	get         func(c *Config) string
	set         func(c *Config, v string) string // returns a reason on error
}

// serverParams are the server's settings that it acts on; CONFIG SET
// also changes the stored-only ones (storedParams).
var serverParams = []serverParam{
	countParam("replica-priority", "slave-priority", func(c *Config) *int { return &c.ReplicaPriority }, defaultReplicaPriority),
	{"timeout", "",
		func(c *Config) string { return strconv.FormatInt(seconds(c.IdleTimeout), 10) },
		func(c *Config, v string) (reason string) {
			c.IdleTimeout, reason = parseSeconds(v, 0, c.IdleTimeout)
			return reason
		}},
	{"protected-mode", "",
		func(c *Config) string { return yesNo(c.ProtectedMode) },
		func(c *Config, v string) string {
			b, err := ParseYesNo(v)
			if err != nil {
				return reasonYesNo
			}
			c.ProtectedMode = b
			return ""
		}},
}

// findServerParam looks a server setting up by name or alias, ignoring
// case.
func findServerParam(name string) *serverParam { return findParamIn(serverParams, name) }

// findParamIn looks a setting up in ps by name or alias, ignoring case.
func findParamIn(ps []serverParam, name string) *serverParam {
	for i := range ps {
		if p := &ps[i]; strings.EqualFold(p.name, name) || (p.alias != "" && strings.EqualFold(p.alias, name)) {
			return p
		}
	}
	return nil
}

// ApplyServerParam sets the server setting name (a redis.conf directive,
// case-insensitive) to value in c: timeout (seconds a client may stay
// idle, 0 for ever) or protected-mode (yes or no). On error c is
// unchanged and the error is a *ParamError, as ApplyParam's.
//
// The settings the server stores without acting on them (see
// Config.MaxMemory) are unknown to it on purpose: a configuration file
// that asks for a memory limit must not be taken as done (cmd/replikv
// refuses it).
// CONFIG SET accepts them, as Redis test suites and tools set them.
func ApplyServerParam(c *Config, name, value string) error {
	p := findServerParam(name)
	if p == nil {
		return &ParamError{Name: name, Reason: "unknown setting", Err: ErrUnknownParam}
	}
	if reason := p.set(c, value); reason != "" {
		return &ParamError{Name: name, Reason: reason, Err: ErrBadValue}
	}
	return nil
}

// parseSeconds parses a setting in whole seconds, from least to
// 2147483647 (Redis's range for them). On error it returns old and
// Redis's reason.
func parseSeconds(v string, least int64, old time.Duration) (time.Duration, string) {
	n, ok := parseInt([]byte(v))
	if !ok {
		return old, "argument couldn't be parsed into an integer"
	}
	if n < least || n > math.MaxInt32 {
		return old, "argument must be between " + strconv.FormatInt(least, 10) + " and 2147483647 inclusive"
	}
	return time.Duration(n) * time.Second, ""
}

const reasonYesNo = "argument must be 'yes' or 'no'"

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// findStoreParam looks a setting up by name or alias, ignoring case.
func findStoreParam(name string) *storeParam {
	name = strings.ToLower(name)
	for i := range storeParams {
		if p := &storeParams[i]; p.name == name || (p.alias != "" && p.alias == name) {
			return p
		}
	}
	return nil
}

// ApplyParam sets the replication setting name (a redis.conf directive,
// case-insensitive) to value in c. It knows requirepass, masterauth,
// masteruser, replica-read-only and replica-serve-stale-data (yes or no;
// also spelled slave-…), repl-backlog-size (a Redis memory size such as
// 1mb), repl-timeout and repl-ping-replica-period (seconds; also spelled
// repl-ping-slave-period), min-replicas-to-write (a count),
// min-replicas-max-lag (seconds, 0 turns the check off; also spelled
// min-slaves-…), maxmemory (a memory size), maxmemory-policy,
// maxmemory-samples (1 to 2147483647), lfu-log-factor and lfu-decay-time
// (0 to 2147483647), with Redis's ranges. On error c is unchanged and the error
// is a *ParamError. CONFIG SET uses it through Store.Reconfigure; a program
// can use it to apply a configuration file to a replikv.Config.
func ApplyParam(c *replikv.Config, name, value string) error {
	p := findStoreParam(name)
	if p == nil {
		return &ParamError{Name: name, Reason: "unknown setting", Err: ErrUnknownParam}
	}
	if reason := p.set(c, value); reason != "" {
		return &ParamError{Name: name, Reason: reason, Err: ErrBadValue}
	}
	return nil
}

// ParseYesNo parses a Redis boolean: yes or no, in any case.
func ParseYesNo(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "yes":
		return true, nil
	case "no":
		return false, nil
	}
	return false, fmt.Errorf("%w: %q is not yes or no", ErrBadValue, s)
}

// tooLargeMemory reports whether s is a well-formed memory size that
// ParseMemory refused only for not fitting an int64.
func tooLargeMemory(s string) bool {
	i := strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	if i < 0 {
		i = len(s)
	}
	if i == 0 {
		return false
	}
	_, err := ParseMemory("1" + s[i:])
	return err == nil
}

// ParseMemory parses a Redis memory size: a decimal number of bytes with
// an optional unit, in any case: b, k (1000), kb (1024), m (1000²), mb
// (1024²), g (1000³) or gb (1024³). For example "1mb" is 1048576.
func ParseMemory(s string) (int64, error) {
	bad := fmt.Errorf("%w: %q is not a memory size", ErrBadValue, s)
	i := 0
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, bad
	}
	var mul uint64
	switch strings.ToLower(s[i:]) {
	case "", "b":
		mul = 1
	case "k":
		mul = 1000
	case "kb":
		mul = 1 << 10
	case "m":
		mul = 1000 * 1000
	case "mb":
		mul = 1 << 20
	case "g":
		mul = 1000 * 1000 * 1000
	case "gb":
		mul = 1 << 30
	default:
		return 0, bad
	}
	n, err := strconv.ParseUint(s[:i], 10, 64)
	if err != nil || n > math.MaxInt64/mul {
		return 0, bad
	}
	return int64(n * mul), nil
}
