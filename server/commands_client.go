package server

import (
	"cmp"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
)

func clientCommand() *command {
	return container("client", -2, fNoMulti, nil,
		cmd("id", 2, fFast, 0, 0, 0, func(x *call) { x.r.int(x.c.id) }),
		cmd("setname", 3, fFast, 0, 0, 0, func(x *call) {
			if x.c.setName(x.r, x.args[2]) {
				x.r.ok()
			}
		}),
		cmd("getname", 2, fFast, 0, 0, 0, clientGetName),
		cmd("setinfo", 4, fFast, 0, 0, 0, clientSetInfo),
		cmd("list", -2, fAdmin, 0, 0, 0, clientList),
		cmd("info", 2, 0, 0, 0, 0, func(x *call) { x.c.noteRunning(); x.r.bulkString(x.c.describe() + "\n") }),
		cmd("kill", -3, fAdmin, 0, 0, 0, clientKill),
		cmd("reply", 3, 0, 0, 0, 0, clientReply),
		cmd("no-evict", 3, fAdmin, 0, 0, 0, clientNoEvict),
	)
}

// setName sets the client's name (an empty one clears it), or writes
// Redis's error and returns false when it has spaces or special
// characters.
func (c *client) setName(r *reply, name []byte) bool {
	for _, ch := range name {
		if ch < '!' || ch > '~' {
			r.err("ERR Client names cannot contain spaces, newlines or special characters.")
			return false
		}
	}
	c.mu.Lock()
	c.name = string(name)
	c.mu.Unlock()
	return true
}

func clientGetName(x *call) {
	name, _, _, _ := x.c.info()
	if name == "" {
		x.r.null()
		return
	}
	x.r.bulkString(name)
}

// clientSetInfo accepts CLIENT SETINFO LIB-NAME|LIB-VER value (Redis 7.2,
// sent by go-redis on connect) and ignores the value.
func clientSetInfo(x *call) {
	if !is(x.args[2], "lib-name") && !is(x.args[2], "lib-ver") {
		x.r.err("ERR Unrecognized option '" + string(x.args[2]) + "'")
		return
	}
	for _, ch := range x.args[3] {
		if ch < '!' || ch > '~' {
			x.r.err("ERR " + strings.ToLower(string(x.args[2])) + " cannot contain spaces, newlines or special characters.")
			return
		}
	}
	x.r.ok()
}

// clientList is CLIENT LIST [TYPE normal|master|replica|pubsub] [ID id …].
// Only normal clients are listed: replicas belong to the store (see INFO
// replication).
func clientList(x *call) {
	cs := x.s.snapshotClients()
	var ids map[int64]bool
	switch {
	case len(x.args) == 2:
	case len(x.args) == 4 && is(x.args[2], "type"):
		typ, ok := clientType(x.args[3])
		if !ok {
			x.r.err("ERR Unknown client type '" + string(x.args[3]) + "'")
			return
		}
		// A client with subscriptions is of type pubsub, not normal
		// (as for CLIENT KILL TYPE).
		cs = slices.DeleteFunc(cs, func(c *client) bool {
			return typ != "normal" && typ != "pubsub" || (typ == "pubsub") != c.pubsubMode.Load()
		})
	case len(x.args) > 3 && is(x.args[2], "id"):
		ids = make(map[int64]bool)
		for _, a := range x.args[3:] {
			id, ok := parseInt(a)
			if !ok || id <= 0 {
				x.r.err("ERR Invalid client ID")
				return
			}
			ids[id] = true
		}
	default:
		x.r.err(errSyntax)
		return
	}
	x.c.noteRunning()
	var b strings.Builder
	for _, c := range sortClients(cs) {
		if ids == nil || ids[c.id] {
			b.WriteString(c.describe())
			b.WriteByte('\n')
		}
	}
	x.r.bulkString(b.String())
}

// clientType canonicalises a CLIENT KILL/LIST type; slave means replica.
func clientType(b []byte) (string, bool) {
	for _, t := range []string{"normal", "master", "replica", "pubsub"} {
		if is(b, t) {
			return t, true
		}
	}
	if is(b, "slave") {
		return "replica", true
	}
	return "", false
}

// describe formats c as a line of CLIENT LIST, with Redis's fields. The
// buffer fields are c's as its latest command started (or ended): qbuf
// the input held (that command's bytes and any after it), qbuf-free the
// free room of the read buffer, argv-mem the bytes of the arguments of
// the command running, omem the replies not yet written, tot-mem every
// buffer and the client itself. multi-mem, rbs, rbp, obl and oll show 0.
func (c *client) describe() string {
	name, last, idle, queued := c.info()
	flags := ""
	if c.monitoring.Load() {
		flags += "O"
	}
	if c.pubsubMode.Load() {
		flags += "P"
	}
	switch {
	case c.blocked.Load():
		flags += "b"
	case queued >= 0:
		flags += "x"
	}
	if _, unix := c.conn.(*net.UnixConn); unix {
		flags += "U"
	}
	if c.noEvict.Load() {
		flags += "e"
	}
	if flags == "" {
		flags = "N"
	}
	var b strings.Builder
	b.WriteString("id=" + strconv.FormatInt(c.id, 10))
	b.WriteString(" addr=" + c.conn.RemoteAddr().String())
	b.WriteString(" laddr=" + c.conn.LocalAddr().String())
	b.WriteString(" fd=-1 name=" + name)
	b.WriteString(" age=" + strconv.FormatInt(int64(time.Since(c.created)/time.Second), 10))
	b.WriteString(" idle=" + strconv.FormatInt(int64(idle/time.Second), 10))
	b.WriteString(" flags=" + flags)
	b.WriteString(" db=" + strconv.Itoa(c.s.store.Config().DB))
	b.WriteString(" sub=" + strconv.Itoa(int(c.subs.Load())) + " psub=" + strconv.Itoa(int(c.psubs.Load())) + " ssub=0 multi=" + strconv.Itoa(queued))
	m := &c.mem
	b.WriteString(" qbuf=" + strconv.FormatInt(m.qbuf.Load(), 10))
	b.WriteString(" qbuf-free=" + strconv.FormatInt(m.qbufFree.Load(), 10))
	b.WriteString(" argv-mem=" + strconv.FormatInt(m.argv.Load(), 10))
	b.WriteString(" multi-mem=0 rbs=0 rbp=0 obl=0 oll=0")
	b.WriteString(" omem=" + strconv.FormatInt(m.omem.Load(), 10))
	b.WriteString(" tot-mem=" + strconv.FormatInt(m.tot.Load(), 10))
	b.WriteString(" events=r")
	b.WriteString(" cmd=" + last + " user=default redir=-1 resp=2")
	return b.String()
}

// sortClients orders clients by ID, as Redis lists them.
func sortClients(cs []*client) []*client {
	slices.SortFunc(cs, func(a, b *client) int { return cmp.Compare(a.id, b.id) })
	return cs
}
