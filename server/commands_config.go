package server

import (
	"errors"
	"os"
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
	for _, p := range serverParams {
		vs = append(vs, configValue{p.name, p.get(&dyn)})
	}
	return append(vs, s.staticValues(&c)...)
}

// dynamicConfig returns the settings of the Server that CONFIG SET
// changes, as a Config.
func (s *Server) dynamicConfig() Config {
	return Config{IdleTimeout: time.Duration(s.idleTimeout.Load()), ProtectedMode: s.protected.Load()}
}

// staticValues are the settings CONFIG GET shows but CONFIG SET may not
// change.
func (s *Server) staticValues(c *replikv.Config) []configValue {
	port, bind := s.addr()
	dir := c.SpoolDir
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
		{"save", ""},
		{"appendonly", "no"},
		{"databases", "16"},
		{"maxclients", strconv.Itoa(s.cfg.MaxClients)},
		{"maxmemory", "0"},
		{"maxmemory-policy", "noeviction"},
		{"proto-max-bulk-len", strconv.FormatInt(c.MaxBulkLen, 10)},
		{"repl-diskless-sync", "yes"},
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
// or not at all.
func configSet(x *call) {
	if len(x.args)%2 != 0 {
		x.r.err(wrongArgs(x.cmd.name))
		return
	}
	// The server's own settings are checked first and applied only once
	// the store's are: all or nothing.
	var failed error
	dyn := x.s.dynamicConfig()
	for i := 2; i < len(x.args) && failed == nil; i += 2 {
		if findServerParam(string(x.args[i])) != nil {
			failed = ApplyServerParam(&dyn, string(x.args[i]), string(x.args[i+1]))
		}
	}
	var err error
	if failed == nil {
		err = x.s.store.Reconfigure(func(c *replikv.Config) {
			orig := *c
			for i := 2; i < len(x.args); i += 2 {
				if findServerParam(string(x.args[i])) != nil {
					continue
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
	}
	var pe *ParamError
	switch {
	case errors.As(failed, &pe) && errors.Is(pe, ErrUnknownParam):
		if x.s.isStaticParam(pe.Name) {
			x.r.err("ERR CONFIG SET failed (possibly related to argument '" + pe.Name + "') - can't set immutable config")
		} else {
			x.r.err("ERR Unknown option or number of arguments for CONFIG SET - '" + pe.Name + "'")
		}
	case errors.As(failed, &pe):
		x.r.err("ERR CONFIG SET failed (possibly related to argument '" + pe.Name + "') - " + pe.Reason)
	case err != nil:
		x.r.err("ERR CONFIG SET failed - " + err.Error())
	default:
		x.r.ok()
	}
}

// isStaticParam reports whether CONFIG GET shows name but CONFIG SET may
// not change it.
func (s *Server) isStaticParam(name string) bool {
	c := s.store.Config()
	for _, v := range s.staticValues(&c) {
		if strings.EqualFold(v.name, name) {
			return true
		}
	}
	return false
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
