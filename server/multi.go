package server

import (
	"slices"
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
		cmd("multi", 1, fFast|fImmediate, 0, 0, 0, multiCmd),
		cmd("exec", 1, fImmediate, 0, 0, 0, execCmd),
		cmd("discard", 1, fFast|fImmediate, 0, 0, 0, discardCmd),
		cmd("watch", -2, fFast|fImmediate, 1, -1, 1, watchCmd),
		cmd("unwatch", 1, fFast, 0, 0, 0, unwatchCmd),
	}
}

// outsideExec names the commands Redis queues inside MULTI that do not
// work on a transaction's Tx: they take the store's locks themselves
// (KEYS, SCAN, INFO, ROLE, CONFIG, REPLICAOF), act on other connections
// (CLIENT) or wait (WAIT, DEBUG SLEEP). EXEC runs them outside the
// store's Atomic (see execCmd). Their table entries may carry fNoMulti
// for the sake of code that ran EXEC wholly inside the Atomic; it is
// cleared here, for them and their subcommands.
var outsideExec = []string{"config", "keys", "scan", "info", "client", "role", "replicaof", "slaveof", "wait", "debug", "monitor",
	"publish", "subscribe", "unsubscribe", "psubscribe", "punsubscribe", "pubsub"}

// setMultiFlags sets how c and its subcommands behave inside MULTI:
// those of outsideExec are queued and run outside the store's locks; the
// subcommands of another container refused inside MULTI are refused too.
func setMultiFlags(c *command) {
	if slices.Contains(outsideExec, c.name) {
		c.flags = c.flags&^fNoMulti | fOutside
		for _, sub := range c.subs {
			sub.flags = sub.flags&^fNoMulti | fOutside
		}
		return
	}
	for _, sub := range c.subs {
		sub.flags |= c.flags & fNoMulti
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
	if cmd.name == "debug" {
		if e := c.s.debugRefused(c); e != "" {
			c.reject(e)
			return
		}
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
	x.c.discard()
	x.r.ok()
}

// discard leaves MULTI, dropping the queue, and unwatches every key.
func (c *client) discard() {
	if c.multi != nil {
		c.multi = nil
		c.setQueued(-1)
	}
	c.cs.watched = watchSet{}
}

// execCmd runs the queued commands in order, unless a key watched since
// WATCH changed (a null array, as Redis answers).
//
// The commands that work on the keyspace run on the Tx of a Store.Atomic,
// so that no other command interleaves and their writes replicate as
// MULTI … EXEC. A command of outsideExec cannot run there: it takes the
// store's locks itself (a deadlock under the Atomic) or waits. So the
// queue runs as segments, in order: each run of consecutive keyspace
// commands in one Atomic, the outsideExec commands between them with no
// store lock held. The watched keys are checked under the locks of the
// first segment (under AtomicKeys of those keys when it is one of
// outsideExec, which never change the keyspace). A transaction without
// outsideExec commands, such as every transaction of a Redis client
// library, is thus atomic as a whole; one that mixes them between
// keyspace commands (MULTI / SET / CONFIG SET / SET / EXEC) is atomic
// per segment only, where Redis, single-threaded, runs it all at once.
// Sentinel's MULTI / REPLICAOF / CONFIG REWRITE / CLIENT KILL … / EXEC
// has no keyspace command and needs no lock at all.
//
// Inside EXEC a blocking command does not block (Redis's
// CLIENT_DENY_BLOCKING): WAIT answers at once, DEBUG SLEEP returns.
func execCmd(x *call) {
	m := x.c.multi
	if m == nil {
		x.r.err("ERR EXEC without MULTI")
		return
	}
	watched := x.c.cs.watched
	x.c.discard()
	if m.dirty {
		x.r.err(errExecAbort)
		return
	}
	if e := x.s.precheck(&command{flags: m.flags}); e != "" {
		x.r.err("EXECABORT Transaction discarded because of: " + e)
		return
	}
	if x.s.refuseOOM(&command{flags: m.flags & fDenyOOM}, false) {
		x.r.err("EXECABORT Transaction discarded because of: " + errOOM)
		return
	}
	x.c.cs.inExec = true
	defer func() { x.c.cs.inExec = false }()
	if len(m.cmds) == 0 || m.cmds[0].cmd.flags&fOutside != 0 {
		if watched.changedNow(x.s.store) {
			x.r.nullArray()
			return
		}
		x.r.array(len(m.cmds))
	}
	for i := 0; i < len(m.cmds); {
		if m.cmds[i].cmd.flags&fOutside != 0 {
			q := m.cmds[i]
			x.c.run(q.cmd, q.args, x.s.store, false)
			i++
			continue
		}
		j := i
		for j < len(m.cmds) && m.cmds[j].cmd.flags&fOutside == 0 {
			j++
		}
		aborted := false
		x.s.store.Atomic(func(tx *replikv.Tx) error {
			// EXEC passed its OOM check above; like Redis, the queued
			// commands then run without one of their own (another
			// client's write, or a queued CONFIG SET maxmemory, may have
			// taken memory above the limit since).
			tx.AdmitGrowth()
			if i == 0 {
				if watched.changed(tx) {
					aborted = true
					return nil
				}
				x.r.array(len(m.cmds))
			}
			for _, q := range m.cmds[i:j] {
				x.c.run(q.cmd, q.args, tx, true)
			}
			return nil
		})
		if aborted {
			x.r.nullArray()
			return
		}
		i = j
	}
	if m.flags&fWrite != 0 {
		_, x.c.woff = x.s.store.Position()
	}
}
