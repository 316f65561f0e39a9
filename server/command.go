package server

import (
	"bytes"
	"fmt"
	"strings"
)

// flags describe how a command is checked and shown by COMMAND.
type flags uint16

const (
	fWrite     flags = 1 << iota // changes the keyspace: READONLY on a replica; sets the WAIT offset
	fData                        // uses the keyspace: MASTERDOWN while a replica is stale
	fNoAuth                      // allowed before AUTH
	fNoMulti                     // refused inside MULTI
	fImmediate                   // run at once even inside MULTI (EXEC, DISCARD, QUIT …)
	fFast                        // O(1) (shown by COMMAND)
	fAdmin                       // administrative (shown by COMMAND)
	fDenyStale                   // no keyspace, but refused with MASTERDOWN while a replica is stale (PING)
	fOutside                     // inside EXEC, run outside the store's locks (see execCmd)
	fDenyOOM                     // may grow the data: refused with OOM above maxmemory (Redis denyoom)
)

// command is an entry of the command table.
type command struct {
	name  string // full name in lower case, such as "get" or "client|kill"
	arity int    // Redis arity: n means exactly n arguments, -n at least n (the name counts)
	flags flags
	// Key positions for COMMAND: first and last key argument, step.
	first, last, step int
	run               func(x *call)
	subs              map[string]*command // subcommands of a container (CLIENT, CONFIG …)
	idx               int                 // index of its counters in a Server's commandStats
}

// commands is the command table, by lower-case name.
var commands map[string]*command

// numCommands counts the entries of the table, subcommands included.
var numCommands int

func init() {
	commands = make(map[string]*command)
	for _, group := range [][]*command{connectionCommands(), stringCommands(), bitCommands(), keyCommands(),
		serverCommands(), replicationCommands(), pubsubCommands(), transactionCommands(), debugCommands(), persistCommands()} {
		for _, c := range group {
			commands[c.name] = c
			c.idx, numCommands = numCommands, numCommands+1
			for _, sub := range c.subs {
				sub.name = c.name + "|" + sub.name
				sub.idx, numCommands = numCommands, numCommands+1
			}
			setMultiFlags(c)
		}
	}
}

// cmd builds a table entry.
func cmd(name string, arity int, f flags, first, last, step int, run func(*call)) *command {
	return &command{name: name, arity: arity, flags: f, first: first, last: last, step: step, run: run}
}

// container builds a command with subcommands; run (which may be nil)
// handles the command given without one.
func container(name string, arity int, f flags, run func(*call), subs ...*command) *command {
	c := &command{name: name, arity: arity, flags: f, run: run, subs: make(map[string]*command)}
	for _, s := range subs {
		c.subs[s.name] = s
	}
	c.subs["help"] = cmd("help", 2, f|fFast, 0, 0, 0, containerHelp(c))
	return c
}

// containerHelp answers CLIENT HELP and the like with the subcommands.
func containerHelp(c *command) func(*call) {
	return func(x *call) {
		names := sortedNames(c.subs)
		x.r.array(len(names) + 1)
		x.r.simple(strings.ToUpper(c.name) + " <subcommand> [<arg> [value] [opt] ...]. Subcommands are:")
		for _, n := range names {
			x.r.simple(strings.ToUpper(n[strings.IndexByte(n, '|')+1:]))
		}
	}
}

// IsCommand reports whether the server has a command of this name
// (ignoring case), the one Config.RenameCommands may rename.
func IsCommand(name string) bool {
	return commands[strings.ToLower(name)] != nil
}

// renameCommands returns the command table with the renames of
// Config.RenameCommands applied.
func renameCommands(renames map[string]string) (map[string]*command, error) {
	table := make(map[string]*command, len(commands))
	for name, c := range commands {
		table[name] = c
	}
	moved := make(map[string]*command)
	for from, to := range renames {
		from, to = strings.ToLower(from), strings.ToLower(to)
		c := commands[from]
		if c == nil {
			return nil, fmt.Errorf("%w: RenameCommands: no command %q to rename", ErrConfig, from)
		}
		delete(table, from)
		if to == "" {
			continue
		}
		if moved[to] != nil {
			return nil, fmt.Errorf("%w: RenameCommands: two commands renamed to %q", ErrConfig, to)
		}
		moved[to] = c
	}
	for to, c := range moved {
		if table[to] != nil {
			return nil, fmt.Errorf("%w: RenameCommands: %q renamed to %q, which is a command already", ErrConfig, c.name, to)
		}
		table[to] = c
	}
	return table, nil
}

// lookup finds the command args name in table, with its subcommand for a
// container, and checks its arity. It returns Redis's error text when
// there is no such command (and a nil command) or the arity is wrong
// (and the command, whose rejected calls INFO counts).
func lookup(table map[string]*command, args [][]byte) (*command, string) {
	var buf [32]byte
	c := table[string(lowerInto(buf[:0], args[0]))]
	if c == nil {
		return nil, unknownCommand(args)
	}
	if c.subs != nil && len(args) >= 2 {
		sub := c.subs[string(lowerInto(buf[:0], args[1]))]
		if sub == nil {
			return nil, "ERR unknown subcommand '" + trunc(string(args[1]), 128) + "'. Try " + strings.ToUpper(c.name) + " HELP."
		}
		c = sub
	}
	if (c.arity > 0 && len(args) != c.arity) || len(args) < -c.arity {
		return c, wrongArgs(c.name)
	}
	return c, ""
}

// unknownCommand is Redis's error for a command not in the table, quoting
// the first 128 bytes or so of its arguments.
func unknownCommand(args [][]byte) string {
	var b strings.Builder
	b.WriteString("ERR unknown command '")
	b.WriteString(trunc(string(args[0]), 128))
	b.WriteString("', with args beginning with: ")
	n := 0
	for _, a := range args[1:] {
		if n >= 128 {
			break
		}
		s := trunc(string(a), 128-n)
		b.WriteString("'" + s + "' ")
		n += len(s) + 3
	}
	return b.String()
}

// trunc returns the first n bytes of s.
func trunc(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// lowerInto appends b in ASCII lower case to dst.
func lowerInto(dst, b []byte) []byte {
	for _, ch := range b {
		if 'A' <= ch && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		dst = append(dst, ch)
	}
	return dst
}

// isOpt is is for an option Redis compares with strcasecmp, which sees
// the argument up to its first NUL byte: "REPLACE\x00x" is REPLACE.
func isOpt(b []byte, s string) bool { return is(cstr(b), s) }

// cstr returns b up to its first NUL byte, as C string functions see it.
func cstr(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}

// is reports whether b equals the ASCII word s, ignoring case.
func is(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		ch := b[i]
		if 'A' <= ch && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		if ch != s[i] {
			return false
		}
	}
	return true
}
