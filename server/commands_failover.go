package server

import (
	"errors"
	"strings"
	"time"

	"github.com/replikv/replikv"
	"github.com/replikv/replikv/transport"
)

// failoverCmd is FAILOVER [TO host port [FORCE]] [TIMEOUT ms] and
// FAILOVER ABORT (Redis 6.2+): it starts a coordinated failover
// (Store.StartFailover) and replies at once, as Redis does; INFO
// replication's master_failover_state follows it. The checks and their
// order, and every error text, are Redis 7.0's.
func failoverCmd(x *call) {
	if len(x.args) == 2 && is(x.args[1], "abort") {
		if !x.s.store.AbortFailover() {
			x.r.err("ERR No failover in progress.")
			return
		}
		x.r.ok()
		return
	}
	var opts replikv.FailoverOptions
	hasTarget, force := false, false
	for j := 1; j < len(x.args); j++ {
		switch {
		case is(x.args[j], "timeout") && j+1 < len(x.args) && opts.Timeout == 0:
			ms, ok := parseInt(x.args[j+1])
			if !ok {
				x.r.err(errNotInteger)
				return
			}
			if ms <= 0 {
				x.r.err("ERR FAILOVER timeout must be greater than 0")
				return
			}
			opts.Timeout = time.Duration(min(ms, int64(1<<62)/int64(time.Millisecond))) * time.Millisecond
			j++
		case is(x.args[j], "to") && j+2 < len(x.args) && !hasTarget:
			port, ok := parseInt(x.args[j+2])
			if !ok {
				x.r.err(errNotInteger)
				return
			}
			opts.Host, opts.Port, hasTarget = string(x.args[j+1]), int(max(-1, min(port, 1<<20))), true
			j += 2
		case is(x.args[j], "force") && !force:
			force = true
		default:
			x.r.err(errSyntax)
			return
		}
	}
	opts.Force = force
	switch in := x.s.store.Info(); {
	case in.FailoverState != replikv.NoFailover:
		x.r.err("ERR FAILOVER already in progress.")
		return
	case in.Role == "slave":
		x.r.err("ERR FAILOVER is not valid when server is a replica.")
		return
	case len(in.Replicas) == 0:
		x.r.err("ERR FAILOVER requires connected replicas.")
		return
	case force && (opts.Timeout == 0 || !hasTarget):
		x.r.err("ERR FAILOVER with force option requires both a timeout and target HOST and IP.")
		return
	}
	if hasTarget && opts.Host == "" {
		opts.Host = "\x00" // an empty host names no replica (the Store would take it for any)
	}
	opts.Dial = func(r replikv.ReplicaInfo) transport.Dialer { return x.s.cfg.Dial(r.Addr, r.Port) }
	res, err := x.s.store.StartFailover(opts)
	if err != nil {
		x.r.err(failoverError(err))
		return
	}
	x.s.log.Info("failover requested (FAILOVER)", "to", opts.Host, "port", opts.Port, "timeout", opts.Timeout, "force", force, "client", x.c.id)
	go func() {
		if err := <-res; err != nil {
			x.s.log.Warn("failover aborted", "err", err)
		}
	}()
	x.r.ok()
}

// failoverError is Redis's reply for a failover the store would not
// start: its reasons carry Redis's sentences after the sentinel's text.
func failoverError(err error) string {
	if errors.Is(err, replikv.ErrFailover) || errors.Is(err, replikv.ErrInvalidArgument) {
		msg := err.Error()
		if i := strings.Index(msg, "FAILOVER"); i >= 0 {
			return "ERR " + msg[i:] + "."
		}
	}
	return storeError(err)
}
