package server

// connState is a client's state for WATCH, EXEC, CLIENT REPLY, CLIENT
// NO-EVICT and MONITOR, all of it the client's own goroutine's but for
// mon (see monitor.go).
type connState struct {
	watched watchSet  // WATCHed keys
	inExec  bool      // running EXEC's commands: blocking commands do not block
	reply   replyMode // CLIENT REPLY
	quiet   bool      // the replies of the command running are dropped
	mark    int       // where in the reply buffer the quiet command's replies start
	noEvict bool      // CLIENT NO-EVICT (stored; nothing is evicted)
	mon     *monitor  // non-nil while the client is a MONITOR
}

// replyMode is the state CLIENT REPLY sets.
type replyMode uint8

const (
	replyOn   replyMode = iota
	replyOff            // no replies until CLIENT REPLY ON
	replySkip           // set by CLIENT REPLY SKIP: the next command's reply is dropped
)

// dispatch processes one command with CLIENT REPLY applied: the replies
// of a command run while replies are off, or skipped, are dropped. A
// client that turns into a replica stops monitoring.
func (c *client) dispatch(args [][]byte) {
	if c.cs.reply == replyOn {
		c.process(args)
	} else {
		c.processQuietly(args)
	}
	if c.handoff != nil {
		c.stopMonitor() // the connection is a replica's now
		c.stopPubsub()
	}
}

// processQuietly is process for a command whose replies are dropped.
func (c *client) processQuietly(args [][]byte) {
	c.cs.quiet = true
	if c.cs.reply == replySkip {
		c.cs.reply = replyOn
	}
	c.cs.mark = len(c.r.b)
	c.process(args)
	if c.cs.quiet {
		c.r.b = c.r.b[:min(c.cs.mark, len(c.r.b))]
	}
	c.cs.quiet = false
}

// clientReply is CLIENT REPLY ON|OFF|SKIP: ON answers +OK, OFF and SKIP
// answer nothing.
func clientReply(x *call) {
	switch {
	case isOpt(x.args[2], "on"):
		x.c.cs.reply, x.c.cs.quiet = replyOn, false
		x.r.ok()
	case isOpt(x.args[2], "off"):
		x.c.cs.reply, x.c.cs.quiet = replyOff, true
	case isOpt(x.args[2], "skip"):
		if x.c.cs.reply != replyOff {
			x.c.cs.reply = replySkip
		}
		x.c.cs.quiet = true
	default:
		x.r.err(errSyntax)
	}
}

// clientNoEvict is CLIENT NO-EVICT ON|OFF: stored, as nothing is evicted.
func clientNoEvict(x *call) {
	switch {
	case isOpt(x.args[2], "on"):
		x.c.cs.noEvict = true
		x.c.noEvict.Store(true)
	case isOpt(x.args[2], "off"):
		x.c.cs.noEvict = false
		x.c.noEvict.Store(false)
	default:
		x.r.err(errSyntax)
		return
	}
	x.r.ok()
}

// resetCmd is RESET: the connection as it was when it connected, but
// for its id. It leaves MULTI and MONITOR, unwatches, turns replies on,
// clears the name and NO-EVICT, and de-authenticates when a password is
// set. The only database is already selected.
func resetCmd(x *call) {
	c := x.c
	c.discard()
	c.stopMonitor()
	c.stopPubsub()
	c.cs.reply, c.cs.quiet, c.cs.noEvict = replyOn, false, false
	c.noEvict.Store(false)
	c.mu.Lock()
	c.name = ""
	c.mu.Unlock()
	c.authed = x.s.store.Config().Password == ""
	x.r.simple("RESET")
}
