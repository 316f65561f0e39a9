package server

import (
	"sync/atomic"
	"unsafe"

	"github.com/replikv/replikv/resp"
)

// clientMem is what CLIENT LIST shows of a client's buffers: written by
// the client's own goroutine between commands, read by any.
type clientMem struct {
	qbuf     atomic.Int64 // input held: the running command's bytes and those after it
	qbufFree atomic.Int64 // free room in the read buffer
	argv     atomic.Int64 // bytes of the running command's arguments
	omem     atomic.Int64 // replies computed, not yet written
	tot      atomic.Int64 // every buffer the client holds, and the client itself
}

// clientOverhead is the memory of a client besides its buffers.
const clientOverhead = int64(unsafe.Sizeof(client{}) + unsafe.Sizeof(resp.Reader{}) + unsafe.Sizeof(connReader{}))

// noteCommand records, in the client's own fields, the command starting;
// noteRunning publishes what it holds for CLIENT LIST, which only the
// commands showing it (and blocking ones) need while they run: between
// commands, beforeRead publishes the buffers.
func (c *client) noteCommand(cmd resp.Command) {
	c.curRaw, c.curArgs = len(cmd.Raw), cmd.Args
}

// noteRunning publishes the buffers as the running command holds them:
// its bytes and those after it, its arguments.
func (c *client) noteRunning() {
	argv := 0
	for _, a := range c.curArgs {
		argv += len(a)
	}
	c.noteBuffers(c.curRaw+c.buffered(), argv)
}

// beforeRead runs whenever the client is about to wait for input (see
// connReader.beforeRead): it writes the replies not yet sent and records
// the buffers, a partly received command included.
func (c *client) beforeRead() error {
	c.clockStale = true
	err := c.flush()
	c.curRaw, c.curArgs = 0, nil
	c.noteBuffers(c.buffered(), 0)
	return err
}

func (c *client) noteBuffers(held, argv int) {
	size := c.rd.BufferSize()
	m := &c.mem
	m.qbuf.Store(int64(held))
	m.qbufFree.Store(int64(max(size-held, 0)))
	m.argv.Store(int64(argv))
	m.omem.Store(int64(len(c.r.b)))
	spill := 0
	if c.in.spillBuf != nil {
		spill = spillSize
	}
	m.tot.Store(int64(size+spill+cap(c.in.pending)+cap(c.r.b)) + clientOverhead)
}
