package server

import (
	"slices"
	"strings"
)

func serverCommands() []*command {
	return []*command{
		cmd("info", -1, fNoMulti, 0, 0, 0, infoCmd),
		configCommand(),
		container("command", -1, 0, commandAll,
			cmd("count", 2, 0, 0, 0, 0, func(x *call) { x.r.int(int64(len(x.s.commands))) }),
			cmd("info", -2, 0, 0, 0, 0, commandInfo),
			cmd("docs", -2, 0, 0, 0, 0, func(x *call) { x.r.array(0) }),
			cmd("list", -2, 0, 0, 0, 0, commandList),
		),
	}
}

// commandAll is COMMAND: the description of every command.
func commandAll(x *call) {
	names := sortedNames(x.s.commands)
	x.r.array(len(names))
	for _, n := range names {
		describeCommand(x.r, x.s.commands[n])
	}
}

// commandInfo is COMMAND INFO [name …]: a description, or nil for an
// unknown name; no name means every command.
func commandInfo(x *call) {
	if len(x.args) == 2 {
		commandAll(x)
		return
	}
	x.r.array(len(x.args) - 2)
	for _, a := range x.args[2:] {
		name := strings.ToLower(string(a))
		c := x.s.commands[name]
		if i := strings.IndexByte(name, '|'); i > 0 && x.s.commands[name[:i]] != nil {
			c = x.s.commands[name[:i]].subs[name[i+1:]]
		}
		if c == nil {
			x.r.nullArray()
			continue
		}
		describeCommand(x.r, c)
	}
}

// commandList is COMMAND LIST: the names of the commands (filters are not
// supported: they give every name).
func commandList(x *call) {
	names := sortedNames(x.s.commands)
	x.r.array(len(names))
	for _, n := range names {
		x.r.bulkString(n)
	}
}

// describeCommand writes c as Redis 7.0 does in COMMAND: name, arity,
// flags, first key, last key, step, ACL categories, tips, key
// specifications and subcommands.
func describeCommand(r *reply, c *command) {
	r.array(10)
	r.bulkString(c.name)
	r.int(int64(c.arity))
	var fl []string
	switch {
	case c.flags&fWrite != 0:
		fl = append(fl, "write")
	case c.flags&fData != 0:
		fl = append(fl, "readonly")
	}
	if c.flags&fDenyOOM != 0 {
		fl = append(fl, "denyoom")
	}
	if c.flags&fAdmin != 0 {
		fl = append(fl, "admin")
	}
	if c.flags&(fData|fDenyStale) == 0 {
		fl = append(fl, "loading", "stale")
	}
	if c.flags&fFast != 0 {
		fl = append(fl, "fast")
	}
	if c.flags&fNoAuth != 0 {
		fl = append(fl, "no_auth")
	}
	if c.flags&fNoMulti != 0 {
		fl = append(fl, "no_multi")
	}
	r.array(len(fl))
	for _, f := range fl {
		r.simple(f)
	}
	r.int(int64(c.first))
	r.int(int64(c.last))
	r.int(int64(c.step))
	r.array(0)
	r.array(0)
	r.array(0)
	names := sortedNames(c.subs)
	r.array(len(names))
	for _, n := range names {
		describeCommand(r, c.subs[n])
	}
}

// sortedNames returns the keys of a command table in order.
func sortedNames(m map[string]*command) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
