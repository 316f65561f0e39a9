package main

import (
	"fmt"
	"io"
	"strings"
)

// writeUsage writes the --help text: how to call the binary, then every
// directive, which a config file and the command line both take.
func writeUsage(w io.Writer) {
	fmt.Fprint(w, `Usage: replikv [/path/to/replikv.conf] [--directive value ...] [-]
       replikv - (read the configuration from stdin)
       replikv -v or --version
       replikv -h or --help

A config file uses redis.conf's syntax: one directive and its arguments a
line, quoted as in redis.conf. Each --directive on the command line is
applied after the file and stdin, in order, and takes the arguments up to
the next --directive ("--replicaof 127.0.0.1 6379" or "--replicaof
'127.0.0.1 6379'"). --config <file> is another way to name the file.
A file may hold directives of redis-server that replikv does not
implement: they are logged and ignored, unless ignoring them would leave
the server less protected than the file asks (user, aclfile,
tls-cluster ...), which stops it.

Examples:
       replikv --port 7777
       replikv --port 7777 --replicaof 127.0.0.1 8888
       replikv /etc/replikv.conf --port 7000 --requirepass secret
       echo 'port 7000' | replikv -
       replikv --port 0 --tls-port 6380 --tls-cert-file redis.crt \
               --tls-key-file redis.key --tls-ca-cert-file ca.crt

Directives:
`)
	width := 0
	for _, d := range directives {
		width = max(width, len(synopsis(d)))
	}
	for _, d := range directives {
		fmt.Fprintf(w, "  %-*s  %s\n", width, synopsis(d), d.help)
		if d.alias != "" {
			fmt.Fprintf(w, "  %-*s  the same as %s\n", width, "--"+d.alias, d.name)
		}
	}
}

// synopsis is how the usage shows d: "--port <port>".
func synopsis(d directiveDoc) string {
	return strings.TrimSpace("--" + d.name + " " + d.args)
}
