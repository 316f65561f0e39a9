package server

import (
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/replikv/replikv"
)

func configCommand() *command {
	return container("config", -2, fNoMulti|fAdmin, nil,
		cmd("get", -3, fAdmin, 0, 0, 0, configGet),
		cmd("set", -4, fAdmin, 0, 0, 0, configSet),
		cmd("resetstat", 2, fAdmin, 0, 0, 0, configResetStat),
		cmd("rewrite", 2, fAdmin, 0, 0, 0, configRewrite),
	)
}

// configValue is one name/value pair of CONFIG GET.
type configValue struct{ name, value string }

// configValues lists what CONFIG GET shows: the store's replication
// settings (under both spellings) and, read-only, the values tools look
// for.
func (s *Server) configValues() []configValue {
	c := s.store.Config()
	var vs []configValue
	for _, p := range storeParams {
		v := p.get(&c)
		vs = append(vs, configValue{p.name, v})
		if p.alias != "" {
			vs = append(vs, configValue{p.alias, v})
		}
	}
	dyn := s.dynamicConfig()
	for _, p := range append(slices.Clip(serverParams), storedParams...) {
		v := p.get(&dyn)
		vs = append(vs, configValue{p.name, v})
		if p.alias != "" {
			vs = append(vs, configValue{p.alias, v})
		}
	}
	return append(vs, s.staticValues(&c)...)
}

// dynamicConfig returns the settings of the Server that CONFIG SET
// changes, as a Config.
func (s *Server) dynamicConfig() Config {
	c := Config{IdleTimeout: time.Duration(s.idleTimeout.Load()), ProtectedMode: s.protected.Load()}
	s.stored.into(&c)
	return c
}

// staticValues are the settings CONFIG GET shows but CONFIG SET may not
// change.
func (s *Server) staticValues(c *replikv.Config) []configValue {
	port, bind := s.addr()
	dir := c.SpoolDir
	if c.Dir != "" {
		dir = c.Dir
	}
	if dir == "" {
		dir, _ = os.Getwd()
	}
	replicaof := ""
	if in := s.store.Info(); in.Role == "slave" {
		replicaof = in.Master.Host + " " + strconv.Itoa(in.Master.Port)
	}
	return []configValue{
		{"port", strconv.Itoa(port)},
		{"bind", bind},
		{"dir", dir},
		{"save", FormatSavePoints(c.SavePoints)},
		{"dbfilename", c.DBFilename},
		{"appendonly", "no"},
		{"databases", "16"},
		{"maxclients", strconv.Itoa(s.cfg.MaxClients)},
		{"proto-max-bulk-len", strconv.FormatInt(c.MaxBulkLen, 10)},
		{"replicaof", replicaof},
		{"slaveof", replicaof},
	}
}

// configGet is CONFIG GET pattern [pattern …]: every setting whose name
// matches one of the glob patterns (ignoring case), once.
func configGet(x *call) {
	var out []configValue
	for _, v := range x.s.configValues() {
		for _, pat := range x.args[2:] {
			if matchGlob(lowerInto(nil, pat), v.name) {
				out = append(out, v)
				break
			}
		}
	}
	x.r.array(2 * len(out))
	for _, v := range out {
		x.r.bulkString(v.name)
		x.r.bulkString(v.value)
	}
}

// configSet is CONFIG SET name value [name value …] for the store's
// replication settings, applied all together through Store.Reconfigure,
// and the server's own, or none at all. As Redis, it first checks every
// name (unknown, immutable, given twice), then the values.
func configSet(x *call) {
	if len(x.args)%2 != 0 {
		x.r.err(errSyntax)
		return
	}
	if e := x.s.checkSetNames(x.args[2:]); e != "" {
		x.r.err(e)
		return
	}
	// The server's own settings are checked first and applied only once
	// the store's are: all or nothing.
	var failed error
	dyn := x.s.dynamicConfig()
	for i := 2; i < len(x.args) && failed == nil; i += 2 {
		failed = setDynamicParam(&dyn, string(x.args[i]), string(x.args[i+1]))
	}
	var err error
	if failed == nil {
		err = x.s.store.Reconfigure(func(c *replikv.Config) {
			orig := *c
			for i := 2; i < len(x.args); i += 2 {
				if findStoreParam(string(x.args[i])) == nil {
					continue // the server's, or a static one set to its value
				}
				if failed = ApplyParam(c, string(x.args[i]), string(x.args[i+1])); failed != nil {
					*c = orig
					return
				}
			}
		})
	}
	if failed == nil && err == nil {
		x.s.idleTimeout.Store(int64(dyn.IdleTimeout))
		x.s.protected.Store(dyn.ProtectedMode)
		x.s.stored.set(dyn)
		x.s.store.ReclaimMemory() // a lower maxmemory evicts now, as in Redis (OOM is for writes)
	}
	var pe *ParamError
	switch {
	case errors.As(failed, &pe):
		x.r.err(configSetFailed(pe.Name, pe.Reason))
	case err != nil:
		x.r.err("ERR CONFIG SET failed - " + err.Error())
	default:
		x.r.ok()
	}
}

// findDynamicParam looks up a setting of the server CONFIG SET changes:
// one it acts on or a stored-only one.
func findDynamicParam(name string) *serverParam {
	if p := findServerParam(name); p != nil {
		return p
	}
	return findParamIn(storedParams, name)
}

// setDynamicParam sets the server setting name in c, if it is one (a
// store setting is left alone), or returns a *ParamError.
func setDynamicParam(c *Config, name, value string) error {
	p := findDynamicParam(name)
	if p == nil {
		return nil
	}
	if reason := p.set(c, value); reason != "" {
		return &ParamError{Name: name, Reason: reason, Err: ErrBadValue}
	}
	return nil
}

// configSetFailed is Redis's error for a setting CONFIG SET refused.
func configSetFailed(name, reason string) string {
	return "ERR CONFIG SET failed (possibly related to argument '" + name + "') - " + reason
}

// immutableParams are settings of Redis that only its configuration file
// sets: CONFIG SET of one gets Redis's "can't set immutable config" (a
// setting replikv does not know at all gets "Unknown option").
var immutableParams = []string{"daemonize", "databases", "io-threads", "io-threads-do-reads", "supervised",
	"pidfile", "logfile", "syslog-enabled", "syslog-ident", "syslog-facility", "unixsocket", "unixsocketperm",
	"cluster-enabled", "cluster-config-file", "aclfile", "always-show-logo", "tcp-backlog", "set-proc-title",
	"disable-thp", "enable-protected-configs", "enable-debug-command", "enable-module-command"}

// protectedParams are settings CONFIG SET refuses as Redis does with
// enable-protected-configs no (its default).
var protectedParams = []string{"dir", "dbfilename"}

// checkSetNames checks the names of CONFIG SET's name-value pairs in
// order, as Redis: each must be a setting CONFIG SET may change, given
// once (a static setting CONFIG GET shows passes when set to the value it
// has). It returns Redis's error for the first that is not.
func (s *Server) checkSetNames(pairs [][]byte) string {
	c := s.store.Config()
	static := s.staticValues(&c)
	for i := 0; i < len(pairs); i += 2 {
		name, value := string(pairs[i]), string(pairs[i+1])
		switch {
		case findStoreParam(name) != nil || findDynamicParam(name) != nil:
		case slices.ContainsFunc(protectedParams, func(p string) bool { return strings.EqualFold(p, name) }):
			return configSetFailed(name, "can't set protected config")
		case slices.ContainsFunc(static, func(v configValue) bool { return strings.EqualFold(v.name, name) && v.value == value }):
			// Set to the value it has: nothing to do (redis.conf files and
			// test suites set save "" or appendonly no).
		case slices.ContainsFunc(static, func(v configValue) bool { return strings.EqualFold(v.name, name) }),
			slices.ContainsFunc(immutableParams, func(p string) bool { return strings.EqualFold(p, name) }):
			return configSetFailed(name, "can't set immutable config")
		default:
			return "ERR Unknown option or number of arguments for CONFIG SET - '" + name + "'"
		}
		for j := 0; j < i; j += 2 {
			if strings.EqualFold(string(pairs[j]), name) {
				return configSetFailed(name, "duplicate parameter")
			}
		}
	}
	return ""
}

// configResetStat zeroes the counters INFO stats shows that the server
// keeps (the store's sync counters are the store's), and those of INFO
// commandstats, latencystats and errorstats.
func configResetStat(x *call) {
	st := &x.s.stats
	for _, c := range []interface{ Store(int64) }{&st.connections, &st.commands, &st.rejected,
		&st.errorReplies, &st.hits, &st.misses} {
		c.Store(0)
	}
	x.s.cmdStats.reset()
	x.r.ok()
}
