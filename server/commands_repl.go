package server

import (
	"context"
	"math"
	"time"

	"github.com/replikv/replikv"
)

func replicationCommands() []*command {
	return []*command{
		cmd("role", 1, fFast|fNoMulti, 0, 0, 0, roleCmd),
		cmd("replicaof", 3, fAdmin|fNoMulti, 0, 0, 0, replicaofCmd),
		cmd("slaveof", 3, fAdmin|fNoMulti, 0, 0, 0, replicaofCmd),
		cmd("wait", 3, fNoMulti, 0, 0, 0, waitCmd),
		cmd("failover", -1, fAdmin|fNoMulti, 0, 0, 0, failoverCmd),
		cmd("sync", 1, fAdmin|fNoMulti, 0, 0, 0, handOffCmd),
		cmd("psync", -3, fAdmin|fNoMulti, 0, 0, 0, handOffCmd),
		cmd("replconf", -1, fAdmin|fNoMulti, 0, 0, 0, handOffCmd),
	}
}

// isReplica reports whether the store follows a primary.
func (s *Server) isReplica() bool { return s.store.LinkStatus() != replikv.LinkNone }

// roleCmd is ROLE: ["master", offset, [[ip, port, offset] …]] listing the
// replicas that are online, or ["slave", host, port, state, offset].
func roleCmd(x *call) {
	in := x.s.store.Info()
	if in.Role != "slave" {
		var online []replikv.ReplicaInfo
		for _, r := range in.Replicas {
			if r.State == "online" {
				online = append(online, r)
			}
		}
		x.r.array(3)
		x.r.bulkString("master")
		x.r.int(in.Offset)
		x.r.array(len(online))
		for _, r := range online {
			x.r.array(3)
			x.r.bulkString(r.Addr)
			x.r.bulkInt(int64(r.Port))
			x.r.bulkInt(r.Offset)
		}
		return
	}
	m := &in.Master
	state, off := "connect", int64(-1)
	switch m.LinkStatus {
	case replikv.LinkConnecting:
		state = "connecting"
	case replikv.LinkSyncing:
		state = "sync"
	case replikv.LinkUp:
		state, off = "connected", in.Offset
	}
	x.r.array(5)
	x.r.bulkString("slave")
	x.r.bulkString(m.Host)
	x.r.int(int64(m.Port))
	x.r.bulkString(state)
	x.r.int(off)
}

// replicaofCmd is REPLICAOF host port (Store.ReplicaOf through
// Config.Dial) and REPLICAOF NO ONE (Store.Promote).
func replicaofCmd(x *call) {
	if x.s.store.FailoverState() != replikv.NoFailover {
		x.r.err("ERR REPLICAOF not allowed while failing over.")
		return
	}
	if is(x.args[1], "no") && is(x.args[2], "one") {
		if err := x.s.store.Promote(); err != nil {
			x.fail(err)
			return
		}
		x.s.log.Info("promoted to primary (REPLICAOF NO ONE)", "client", x.c.id)
		x.r.ok()
		return
	}
	port, ok := parseInt(x.args[2])
	if !ok || port < 0 || port > 65535 {
		x.r.err("ERR Invalid master port")
		return
	}
	host := string(x.args[1])
	if in := x.s.store.Info(); in.Role == "slave" && in.Master.Host == host && int64(in.Master.Port) == port {
		x.r.simple("OK Already connected to specified master")
		return
	}
	if err := x.s.store.ReplicaOf(x.s.cfg.Dial(host, int(port))); err != nil {
		x.fail(err)
		return
	}
	x.s.log.Info("following a new primary (REPLICAOF)", "host", host, "port", port, "client", x.c.id)
	x.r.ok()
}

// waitCmd is WAIT numreplicas timeout: it blocks until numreplicas
// replicas have acknowledged this client's writes, or the timeout in
// milliseconds (0: none) passes, and returns how many have.
func waitCmd(x *call) {
	if x.s.isReplica() {
		x.r.err("ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.")
		return
	}
	n, ok := parseInt(x.args[1])
	if !ok {
		x.r.err(errNotInteger)
		return
	}
	ms, ok := parseInt(x.args[2])
	if !ok {
		x.r.err("ERR timeout is not an integer or out of range")
		return
	}
	if ms < 0 {
		x.r.err("ERR timeout is negative")
		return
	}
	var got int
	x.c.block(func(ctx context.Context) {
		if ms > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, time.Duration(min(ms, math.MaxInt64/int64(time.Millisecond)))*time.Millisecond)
			defer cancel()
		}
		got = x.s.store.WaitReplicas(ctx, int(min(max(n, 0), math.MaxInt32)), x.c.woff)
	})
	x.r.int(int64(got))
}

// handOffCmd is SYNC, PSYNC and REPLCONF: the client is a replica, and
// its connection goes to the store, which runs the rest of the handshake
// (this command included) and feeds it the stream.
func handOffCmd(x *call) {
	args := make([][]byte, len(x.args))
	for i, a := range x.args {
		args[i] = append([]byte(nil), a...)
	}
	x.c.handoff = args
}
