package server

import (
	"unsafe"

	"github.com/replikv/replikv"
)

// multiState is a client's transaction between MULTI and EXEC.
type multiState struct {
	cmds  []queued
	bytes int64 // memory the queued commands take (see queuedCost)
	dirty bool  // a command was refused while queueing: EXEC aborts
	flags flags // union of the queued commands' flags
}

// queued is one command waiting for EXEC, with its own copy of the
// arguments (the reader's buffer is reused).
type queued struct {
	cmd  *command
	args [][]byte
}

func transactionCommands() []*command {
	return []*command{
		cmd("multi", 1, fNoMulti|fFast|fImmediate, 0, 0, 0, multiCmd),
		cmd("exec", 1, fNoMulti|fImmediate, 0, 0, 0, execCmd),
		cmd("discard", 1, fNoMulti|fFast|fImmediate, 0, 0, 0, discardCmd),
	}
}

// queue adds a command to the transaction, or refuses it (aborting the
// transaction) as Redis would before running it.
func (c *client) queue(cmd *command, args [][]byte) {
	m := c.multi
	if cmd.flags&fNoMulti != 0 {
		c.reject(errNoMulti)
		return
	}
	if e := c.s.precheck(cmd); e != "" {
		c.reject(e)
		return
	}
	size, cost := queuedCost(args)
	if m.bytes+cost > c.s.cfg.MaxQueuedBytes {
		c.reject("ERR transaction too large: the queued commands exceed the server's limit")
		return
	}
	buf := make([]byte, 0, size)
	own := make([][]byte, len(args))
	for i, a := range args {
		buf = append(buf, a...)
		own[i] = buf[len(buf)-len(a) : len(buf) : len(buf)]
	}
	m.cmds = append(m.cmds, queued{cmd: cmd, args: own})
	m.bytes += cost
	m.flags |= cmd.flags
	c.setQueued(len(m.cmds))
	c.r.simple("QUEUED")
}

// queuedCost returns the size of args' bytes and what queueing them
// costs in memory: those bytes (one allocation, rounded up by the
// allocator by up to an eighth), their slice headers (another), and the
// queue entry, counted twice as the queue's slice grows by doubling, with
// some slack for each allocation's rounding.
func queuedCost(args [][]byte) (size, cost int64) {
	const allocSlack = 16
	for _, a := range args {
		size += int64(len(a))
	}
	cost = size + size/8 + int64(len(args))*int64(unsafe.Sizeof([]byte(nil))) +
		2*int64(unsafe.Sizeof(queued{})) + 2*allocSlack
	return size, cost
}

// setQueued records the queue length CLIENT LIST shows (-1: no MULTI).
func (c *client) setQueued(n int) {
	c.mu.Lock()
	c.inMulti = n
	c.mu.Unlock()
}

func multiCmd(x *call) {
	if x.c.multi != nil {
		x.r.err("ERR MULTI calls can not be nested")
		return
	}
	x.c.multi = &multiState{}
	x.c.setQueued(0)
	x.r.ok()
}

func discardCmd(x *call) {
	if x.c.multi == nil {
		x.r.err("ERR DISCARD without MULTI")
		return
	}
	x.c.multi = nil
	x.c.setQueued(-1)
	x.r.ok()
}

// execCmd runs the queued commands inside one Store.Atomic, so that no
// other command interleaves and their writes replicate as MULTI … EXEC.
func execCmd(x *call) {
	m := x.c.multi
	if m == nil {
		x.r.err("ERR EXEC without MULTI")
		return
	}
	x.c.multi = nil
	x.c.setQueued(-1)
	if m.dirty {
		x.r.err(errExecAbort)
		return
	}
	if e := x.s.precheck(&command{flags: m.flags}); e != "" {
		x.r.err("EXECABORT Transaction discarded because of: " + e)
		return
	}
	x.s.store.Atomic(func(tx *replikv.Tx) error {
		x.r.array(len(m.cmds))
		for _, q := range m.cmds {
			x.c.run(q.cmd, q.args, tx, true)
		}
		return nil
	})
	if m.flags&fWrite != 0 {
		_, x.c.woff = x.s.store.Position()
	}
}
