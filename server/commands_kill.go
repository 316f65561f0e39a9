package server

import (
	"net"
)

// killFilter is the filter of CLIENT KILL: every field set must match.
type killFilter struct {
	id          int64
	typ         string // normal, pubsub, master or replica; "" for any
	addr, laddr string
	skipMe      bool
}

// clientKill is CLIENT KILL addr (the old form: +OK or an error) or CLIENT
// KILL <filter value> … (the new form: the number of connections closed).
// TYPE pubsub matches the clients with subscriptions, TYPE normal the
// other clients (monitors included, as in Redis). TYPE master closes the link to the primary (Store.DisconnectPrimary) and
// TYPE replica the replicas' connections (Store.DisconnectReplicas); they
// reconnect by themselves.
func clientKill(x *call) {
	if len(x.args) == 3 {
		f := killFilter{addr: string(x.args[2])}
		if x.s.kill(x.c, f) == 0 {
			x.r.err("ERR No such client")
			return
		}
		x.r.ok()
		return
	}
	f, e := parseKillFilter(x.args[2:])
	if e != "" {
		x.r.err(e)
		return
	}
	x.r.int(int64(x.s.kill(x.c, f)))
}

func parseKillFilter(args [][]byte) (killFilter, string) {
	f := killFilter{skipMe: true}
	if len(args)%2 != 0 {
		return f, errSyntax
	}
	for i := 0; i < len(args); i += 2 {
		opt, val := args[i], args[i+1]
		switch {
		case is(opt, "id"):
			id, ok := parseInt(val)
			if !ok || id <= 0 {
				return f, "ERR client-id should be greater than 0"
			}
			f.id = id
		case is(opt, "type"):
			t, ok := clientType(val)
			if !ok {
				return f, "ERR Unknown client type '" + string(val) + "'"
			}
			f.typ = t
		case is(opt, "addr"):
			f.addr = string(val)
		case is(opt, "laddr"):
			f.laddr = string(val)
		case is(opt, "user"):
			if string(val) != "default" { // the only user there is
				return f, "ERR No such user '" + string(val) + "'"
			}
		case is(opt, "skipme"):
			switch {
			case is(val, "yes"):
				f.skipMe = true
			case is(val, "no"):
				f.skipMe = false
			default:
				return f, errSyntax
			}
		default:
			return f, errSyntax
		}
	}
	return f, ""
}

// kill closes the connections f matches and returns how many. The calling
// client, when matched, is closed after its reply.
func (s *Server) kill(self *client, f killFilter) int {
	n := 0
	if f.typ == "" || f.typ == "normal" || f.typ == "pubsub" {
		for _, c := range s.snapshotClients() {
			if f.typ != "" && (f.typ == "pubsub") != c.pubsubMode.Load() {
				continue // a client with subscriptions is of type pubsub, not normal
			}
			if (f.id != 0 && c.id != f.id) || !matchAddrs(c.conn, f) || (c == self && f.skipMe) {
				continue
			}
			if c == self {
				self.quit = true
				n++
			} else if c.kill() {
				n++
			}
		}
	}
	noConnFilter := f.id == 0 && f.addr == "" && f.laddr == ""
	if f.typ == "" || f.typ == "replica" {
		if noConnFilter {
			n += s.store.DisconnectReplicas()
		} else if f.id == 0 {
			s.mu.Lock()
			for conn := range s.handed {
				if matchAddrs(conn, f) {
					conn.Close()
					n++
				}
			}
			s.mu.Unlock()
		}
	}
	if (f.typ == "" || f.typ == "master") && noConnFilter && s.store.DisconnectPrimary() {
		n++
	}
	return n
}

// matchAddrs reports whether conn matches f's ADDR and LADDR filters.
func matchAddrs(conn net.Conn, f killFilter) bool {
	return (f.addr == "" || conn.RemoteAddr().String() == f.addr) &&
		(f.laddr == "" || conn.LocalAddr().String() == f.laddr)
}
