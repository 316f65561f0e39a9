package server

import (
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/replikv/replikv"
)

func TestConnectionCommands(t *testing.T) {
	n := startNode(t, replikv.Config{DB: 3}, Config{})
	r := n.raw(t)
	r.expect([]exchange{
		{[]string{"PING"}, "+PONG"},
		{[]string{"ping", "hi"}, `"hi"`},
		{[]string{"PING", "a", "b"}, "-ERR wrong number of arguments for 'ping' command"},
		{[]string{"ECHO", "x y"}, `"x y"`},
		{[]string{"ECHO"}, "-ERR wrong number of arguments for 'echo' command"},
		{[]string{"SELECT", "3"}, "+OK"},
		{[]string{"SELECT", "0"}, "-ERR DB index is out of range"},
		{[]string{"SELECT", "1x"}, "-ERR value is not an integer or out of range"},
		{[]string{"AUTH", "pw"}, "-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"},
		{[]string{"AUTH", "default", "anything"}, "+OK"},
		{[]string{"AUTH", "bob", "anything"}, "-WRONGPASS invalid username-password pair or user is disabled."},
		{[]string{"AUTH", "a", "b", "c"}, "-ERR syntax error"},
		{[]string{"HELLO", "3"}, "-NOPROTO sorry, this protocol version is not supported"},
		{[]string{"HELLO", "4"}, "-NOPROTO unsupported protocol version"},
		{[]string{"HELLO", "abc"}, "-ERR Protocol version is not an integer or out of range"},
		{[]string{"HELLO", "2", "foo"}, "-ERR Syntax error in HELLO option 'foo'"},
		{[]string{"HELLO", "2", "SETNAME", "bad name"}, "-ERR Client names cannot contain spaces, newlines or special characters."},
		{[]string{"CLIENT", "GETNAME"}, "(nil)"},
		{[]string{"CLIENT", "SETNAME", "conn1"}, "+OK"},
		{[]string{"CLIENT", "GETNAME"}, `"conn1"`},
		{[]string{"CLIENT", "SETNAME", "a b"}, "-ERR Client names cannot contain spaces, newlines or special characters."},
		{[]string{"CLIENT", "SETINFO", "LIB-NAME", "go-redis(x)"}, "+OK"},
		{[]string{"CLIENT", "SETINFO", "LIB-VER", "9.22.0"}, "+OK"},
		{[]string{"CLIENT", "SETINFO", "foo", "x"}, "-ERR Unrecognized option 'foo'"},
		{[]string{"CLIENT", "foo"}, "-ERR unknown subcommand 'foo'. Try CLIENT HELP."},
		{[]string{"CLIENT"}, "-ERR wrong number of arguments for 'client' command"},
		{[]string{"CLIENT", "SETNAME"}, "-ERR wrong number of arguments for 'client|setname' command"},
		{[]string{"CLIENT", "KILL", "TYPE", "foo"}, "-ERR Unknown client type 'foo'"},
		{[]string{"CLIENT", "KILL", "TYPE", "pubsub"}, ":0"},
		{[]string{"CLIENT", "KILL", "1.2.3.4:5"}, "-ERR No such client"},
		{[]string{"CLIENT", "KILL", "ID", "abc"}, "-ERR client-id should be greater than 0"},
		{[]string{"CLIENT", "KILL", "ID", "9999"}, ":0"},
		{[]string{"CLIENT", "KILL", "foo", "bar"}, "-ERR syntax error"},
		{[]string{"CLIENT", "LIST", "TYPE", "foo"}, "-ERR Unknown client type 'foo'"},
		{[]string{"CLIENT", "LIST", "TYPE", "replica"}, `""`},
		{[]string{"CONFIG"}, "-ERR wrong number of arguments for 'config' command"},
		{[]string{"CONFIG", "GET"}, "-ERR wrong number of arguments for 'config|get' command"},
		{[]string{"foo", "a", "b"}, "-ERR unknown command 'foo', with args beginning with: 'a' 'b' "},
		{[]string{"FOO"}, "-ERR unknown command 'FOO', with args beginning with: "},
		{[]string{"COMMAND", "DOCS"}, "[]"},
		{[]string{"COMMAND", "INFO", "nope"}, "[(nil)]"},
		{[]string{"COMMAND", "INFO", "get"}, `[["get", :2, [+readonly, +fast], :1, :1, :1, [], [], [], []]]`},
		{[]string{"COMMAND", "INFO", "client|id"}, `[["client|id", :2, [+loading, +stale, +fast], :0, :0, :0, [], [], [], []]]`},
	})
	// HELLO 2 replies Redis's map as a flat array.
	got := r.do("HELLO", "2")
	want := `["server", "redis", "version", "7.0.15", "proto", :2, "id", :1, "mode", "standalone", "role", "master", "modules", []]`
	if got != want {
		t.Errorf("HELLO 2 = %s, want %s", got, want)
	}
	list := r.do("CLIENT", "LIST")
	if !strings.Contains(list, "id=1 addr=127.0.0.1:") || !strings.Contains(list, " name=conn1 ") || !strings.Contains(list, " db=3 ") || !strings.Contains(list, " cmd=client|list ") {
		t.Errorf("CLIENT LIST = %s", list)
	}
	if info := r.do("CLIENT", "INFO"); !strings.HasPrefix(info, `"id=1 `) {
		t.Errorf("CLIENT INFO = %s", info)
	}
	if got := r.do("CLIENT", "ID"); got != ":1" {
		t.Errorf("CLIENT ID = %s", got)
	}
	count := r.do("COMMAND", "COUNT")
	if all := r.do("COMMAND"); strings.Count(all, `, [], [], [], `) < 50 || count != ":"+strconv.Itoa(len(commands)) {
		t.Errorf("COMMAND COUNT = %s, COMMAND = %.200s", count, all)
	}
	if got := r.do("QUIT"); got != "+OK" {
		t.Errorf("QUIT = %s", got)
	}
	if _, err := r.rd.ReadReply(); !errors.Is(err, io.EOF) {
		t.Errorf("after QUIT: %v, want EOF", err)
	}
}

func TestAuth(t *testing.T) {
	n := startNode(t, replikv.Config{Password: "s3cret"}, Config{})
	r := n.raw(t)
	r.expect([]exchange{
		{[]string{"PING"}, "-NOAUTH Authentication required."},
		{[]string{"GET", "k"}, "-NOAUTH Authentication required."},
		{[]string{"REPLCONF", "listening-port", "1"}, "-NOAUTH Authentication required."},
		{[]string{"nope"}, "-ERR unknown command 'nope', with args beginning with: "},
		{[]string{"HELLO", "2"}, "-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"},
		{[]string{"HELLO", "2", "AUTH", "default", "wrong"}, "-WRONGPASS invalid username-password pair or user is disabled."},
		{[]string{"AUTH", "wrong"}, "-WRONGPASS invalid username-password pair or user is disabled."},
		{[]string{"AUTH", "other", "s3cret"}, "-WRONGPASS invalid username-password pair or user is disabled."},
		{[]string{"AUTH", "s3cret"}, "+OK"},
		{[]string{"PING"}, "+PONG"},
	})
	r2 := n.raw(t)
	if got := r2.do("AUTH", "default", "s3cret"); got != "+OK" {
		t.Errorf("AUTH default = %s", got)
	}
	r3 := n.raw(t)
	if got := r3.do("HELLO", "2", "AUTH", "default", "s3cret", "SETNAME", "x"); !strings.HasPrefix(got, `["server", "redis"`) {
		t.Errorf("HELLO AUTH = %s", got)
	}
	if got := r3.do("CLIENT", "GETNAME"); got != `"x"` {
		t.Errorf("name set by HELLO = %s", got)
	}

	// go-redis: HELLO 3 with AUTH is refused with NOPROTO, and it falls
	// back to AUTH and RESP2.
	ctx := ctx(t)
	good := n.client(t, &redis.Options{Password: "s3cret", ClientName: "gr"})
	if err := good.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("go-redis with the password: %v", err)
	}
	if got := good.ClientGetName(ctx).Val(); got != "gr" {
		t.Errorf("go-redis client name = %q", got)
	}
	bad := n.client(t, &redis.Options{Password: "wrong"})
	if err := bad.Ping(ctx).Err(); err == nil || !strings.Contains(err.Error(), "WRONGPASS") {
		t.Errorf("go-redis with a wrong password: %v", err)
	}
	none := n.client(t, nil)
	if err := none.Get(ctx, "k").Err(); err == nil || err.Error() != "NOAUTH Authentication required." {
		t.Errorf("go-redis without a password: %v", err)
	}

	// Changing the password at runtime applies to new connections.
	if err := good.ConfigSet(ctx, "requirepass", "new").Err(); err != nil {
		t.Fatal(err)
	}
	if got := n.raw(t).do("AUTH", "new"); got != "+OK" {
		t.Errorf("AUTH with the new password = %s", got)
	}
	if err := good.ConfigSet(ctx, "requirepass", "").Err(); err != nil {
		t.Fatal(err)
	}
	if got := n.raw(t).do("GET", "k"); got != `"v"` {
		t.Errorf("GET without a password set = %s", got)
	}
}

// TestClientKillNormal checks CLIENT KILL on normal clients: by type, by
// address (old form), by ID, and SKIPME.
func TestClientKillNormal(t *testing.T) {
	n := startNode(t, replikv.Config{}, Config{})
	a, b, c := n.raw(t), n.raw(t), n.raw(t)
	for _, r := range []*rawConn{a, b, c} {
		r.do("PING")
	}
	if got := a.do("CLIENT", "KILL", "TYPE", "normal"); got != ":2" {
		t.Errorf("CLIENT KILL TYPE normal = %s, want :2", got)
	}
	for _, r := range []*rawConn{b, c} {
		if _, err := r.rd.ReadReply(); err == nil {
			t.Error("a killed client is still connected")
		}
	}
	if got := a.do("PING"); got != "+PONG" {
		t.Errorf("the killer was killed: %s", got)
	}
	d := n.raw(t)
	d.do("PING")
	if got := a.do("CLIENT", "KILL", d.c.LocalAddr().String()); got != "+OK" {
		t.Errorf("CLIENT KILL addr = %s", got)
	}
	e := n.raw(t)
	id := strings.TrimPrefix(e.do("CLIENT", "ID"), ":")
	if got := a.do("CLIENT", "KILL", "ID", id, "TYPE", "normal"); got != ":1" {
		t.Errorf("CLIENT KILL ID = %s", got)
	}
	if got := a.do("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "no"); got != ":1" {
		t.Errorf("CLIENT KILL SKIPME no = %s", got)
	}
	if _, err := a.rd.ReadReply(); err == nil {
		t.Error("SKIPME no did not close the calling client")
	}
}
