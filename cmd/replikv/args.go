package main

import (
	"fmt"
	"strings"
)

// commandLine is the command line, split as redis-server splits its own.
type commandLine struct {
	help, version bool        // -h/--help, -v/--version: print and exit
	configFile    string      // the config file, or ""
	stdin         bool        // "-": read the configuration from stdin too
	flags         []directive // the --directives, in order
}

// parseCommandLine splits args as redis-server does: -h, --help, -v or
// --version alone first; otherwise an optional config file first (an
// argument not starting with '-'), "-" first or last to read the
// configuration from stdin, and --directives, each followed by its
// arguments up to the next one. An argument starting with "--" is the
// value of a directive that has none yet ("--requirepass --x"), and
// "--port 7000" in one argument is a directive with its value. --config
// <file> names the config file (a replikv extension).
func parseCommandLine(args []string) (commandLine, error) {
	var cl commandLine
	if len(args) > 0 {
		switch args[0] {
		case "-h", "--help":
			cl.help = true
			return cl, nil
		case "-v", "--version":
			cl.version = true
			return cl, nil
		}
		if !strings.HasPrefix(args[0], "-") {
			cl.configFile, args = args[0], args[1:]
		}
	}
	for i, a := range args {
		last := len(cl.flags) - 1
		switch {
		case a == "-" && (i == 0 || i == len(args)-1) && (last < 0 || len(cl.flags[last].args) > 0):
			cl.stdin = true
		case strings.HasPrefix(a, "--") && (last < 0 || len(cl.flags[last].args) > 0):
			d, err := flagDirective(a)
			if err != nil {
				return cl, err
			}
			cl.flags = append(cl.flags, d)
		case last >= 0:
			cl.flags[last].args = append(cl.flags[last].args, a)
		default:
			return cl, fmt.Errorf("%w: unexpected argument %q: directives are given as --name value (replikv --help lists them)", errUsage, a)
		}
	}
	var flags []directive
	for _, d := range cl.flags {
		if len(d.args) == 0 && (d.name == "help" || d.name == "version") {
			return commandLine{help: d.name == "help", version: d.name == "version"}, nil
		}
		if !knownDirective(d.name) && d.name != "config" {
			return cl, fmt.Errorf("%w: unknown flag %s (replikv --help lists the flags)", errUsage, d.where)
		}
		if len(d.args) == 0 {
			return cl, fmt.Errorf("%w: %s needs a value (replikv --help lists the flags)", errUsage, d.where)
		}
		switch d.name {
		case "replicaof", "slaveof", "bind", "rename-command":
			// One argument holding them all: "--replicaof 'host port'".
			if len(d.args) == 1 {
				d.args = strings.Fields(d.args[0])
			}
		case "config":
			if len(d.args) != 1 {
				return cl, fmt.Errorf("%w: --config takes one file, got %d arguments", errUsage, len(d.args))
			}
			cl.configFile = d.args[0]
			continue
		}
		flags = append(flags, d)
	}
	cl.flags = flags
	return cl, nil
}

// flagDirective returns the directive an argument starting with "--"
// opens: its name, and its arguments when the argument holds them too
// ("--port 7000", quoted as in a config file).
func flagDirective(a string) (directive, error) {
	ds, err := parseConfig(strings.NewReader(a[2:]), "the command line")
	if err != nil || len(ds) != 1 || strings.HasPrefix(a, "---") {
		return directive{}, fmt.Errorf("%w: cannot read the flag %q (replikv --help lists the flags)", errUsage, a)
	}
	ds[0].where = "--" + ds[0].name
	return ds[0], nil
}
