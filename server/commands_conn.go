package server

import (
	"crypto/subtle"
	"strconv"
)

func connectionCommands() []*command {
	return []*command{
		cmd("ping", -1, fFast|fDenyStale, 0, 0, 0, pingCmd),
		cmd("echo", 2, fFast, 0, 0, 0, echoCmd),
		cmd("auth", -2, fNoAuth|fFast, 0, 0, 0, authCmd),
		cmd("hello", -1, fNoAuth|fFast, 0, 0, 0, helloCmd),
		cmd("select", 2, fFast, 0, 0, 0, selectCmd),
		cmd("quit", -1, fNoAuth|fFast|fImmediate, 0, 0, 0, quitCmd),
		cmd("reset", 1, fNoAuth|fFast|fImmediate, 0, 0, 0, resetCmd),
		cmd("monitor", 1, fAdmin, 0, 0, 0, monitorCmd),
		clientCommand(),
	}
}

func pingCmd(x *call) {
	if x.c.subscribed() { // RESP2 subscribed mode: a pub/sub-shaped reply
		if len(x.args) > 2 {
			x.r.err(wrongArgs("ping"))
			return
		}
		x.r.array(2)
		x.r.bulkString("pong")
		if len(x.args) == 2 {
			x.r.bulk(x.args[1])
		} else {
			x.r.bulkString("")
		}
		return
	}
	switch len(x.args) {
	case 1:
		x.r.simple("PONG")
	case 2:
		x.r.bulk(x.args[1])
	default:
		x.r.err(wrongArgs("ping"))
	}
}

func echoCmd(x *call) { x.r.bulk(x.args[1]) }

func quitCmd(x *call) {
	x.r.ok()
	x.c.quit = true
}

// authCmd is AUTH password or AUTH username password; the only user is
// "default".
func authCmd(x *call) {
	if len(x.args) > 3 {
		x.r.err(errSyntax)
		return
	}
	if len(x.args) == 2 && x.s.store.Config().Password == "" {
		x.r.err("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?")
		return
	}
	user := []byte("default")
	if len(x.args) == 3 {
		user = x.args[1]
	}
	if !x.s.checkPassword(user, x.args[len(x.args)-1]) {
		x.r.err(errWrongPass)
		return
	}
	x.c.authed = true
	x.r.ok()
}

// checkPassword reports whether user and pass are valid credentials: the
// user "default" with the store's password (any password when none is
// set), compared in constant time.
func (s *Server) checkPassword(user, pass []byte) bool {
	want := s.store.Config().Password
	if string(user) != "default" {
		return false
	}
	if want == "" {
		return true
	}
	return subtle.ConstantTimeCompare(pass, []byte(want)) == 1
}

// helloCmd is HELLO [protover [AUTH user pass] [SETNAME name]]. Only
// RESP2 is spoken: HELLO 3 gets -NOPROTO, which makes clients such as
// go-redis fall back to RESP2 (and to AUTH).
func helloCmd(x *call) {
	i := 1
	if len(x.args) >= 2 {
		ver, ok := parseInt(x.args[1])
		if !ok {
			x.r.err("ERR Protocol version is not an integer or out of range")
			return
		}
		switch ver {
		case 2:
		case 3:
			x.r.err("NOPROTO sorry, this protocol version is not supported")
			return
		default:
			x.r.err("NOPROTO unsupported protocol version")
			return
		}
		i = 2
	}
	var user, pass, name []byte
	for ; i < len(x.args); i++ {
		more := len(x.args) - 1 - i
		switch {
		case is(x.args[i], "auth") && more >= 2:
			user, pass = x.args[i+1], x.args[i+2]
			i += 2
		case is(x.args[i], "setname") && more >= 1:
			name = x.args[i+1]
			i++
		default:
			x.r.err("ERR Syntax error in HELLO option '" + string(x.args[i]) + "'")
			return
		}
	}
	if user != nil {
		if !x.s.checkPassword(user, pass) {
			x.r.err(errWrongPass)
			return
		}
		x.c.authed = true
	}
	if !x.c.authed {
		x.r.err("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time")
		return
	}
	if name != nil && !x.c.setName(x.r, name) {
		return
	}
	role := "master"
	if x.s.isReplica() {
		role = "replica"
	}
	x.r.array(14)
	for _, kv := range [][2]string{{"server", "redis"}, {"version", RedisVersion}} {
		x.r.bulkString(kv[0])
		x.r.bulkString(kv[1])
	}
	x.r.bulkString("proto")
	x.r.int(2)
	x.r.bulkString("id")
	x.r.int(x.c.id)
	for _, kv := range [][2]string{{"mode", "standalone"}, {"role", role}} {
		x.r.bulkString(kv[0])
		x.r.bulkString(kv[1])
	}
	x.r.bulkString("modules")
	x.r.array(0)
}

// selectCmd accepts only the database the store holds.
func selectCmd(x *call) {
	db, ok := parseInt(x.args[1])
	if !ok {
		x.r.err(errNotInteger)
		return
	}
	if db != int64(x.s.store.Config().DB) {
		x.r.err("ERR DB index is out of range")
		return
	}
	x.r.ok()
}

// dbName is the keyspace name of the store's database, such as "db0".
func (s *Server) dbName() string { return "db" + strconv.Itoa(s.store.Config().DB) }
