package server

import (
	"strings"
	"testing"
	"time"

	"github.com/replikv/replikv"
	"github.com/replikv/replikv/resp"
	"github.com/replikv/replikv/transport"
)

// TestDiffPubSubReplies compares, byte for byte, the replies of one
// connection going in and out of subscribed mode with redis-server's.
func TestDiffPubSubReplies(t *testing.T) {
	d := newDiffer(t)
	cmds := [][]string{
		{"SUBSCRIBE", "a", "b", "a"},
		{"PSUBSCRIBE", "p*", "q?"},
		{"PING"},
		{"PING", "hello"},
		{"PING", "x", "y"},
		{"GET", "k"},
		{"CLIENT", "LIST"},
		{"MULTI"},
		{"UNSUBSCRIBE", "b", "nope"},
		{"PUNSUBSCRIBE"},
		{"UNSUBSCRIBE"},
		{"UNSUBSCRIBE"},
		{"PUNSUBSCRIBE"},
		{"PING"},
		{"PUBLISH", "a", "m"},
		{"PUBSUB", "NUMPAT"},
		{"PUBSUB", "NUMSUB", "a", "b"},
		{"PUBSUB", "CHANNELS"},
		{"PUBSUB", "CHANNELS", "x", "y"},
		{"PUBSUB", "NOPE"},
		{"PUBLISH", "a"},
		{"SUBSCRIBE"},
		{"SUBSCRIBE", "c"},
		{"SET", "k", "v"},
		{"RESET"},
		{"PING"},
		{"MULTI"},
		{"SUBSCRIBE", "z"},
		{"PUBLISH", "z", "m"},
		{"EXEC"},
		{"QUIT"},
	}
	var in []byte
	for _, c := range cmds {
		in = resp.AppendCommandString(in, c...)
	}
	want, got := d.rawBoth(string(in))
	if want != got {
		t.Errorf("replies differ\nredis:   %q\nreplikv: %q", want, got)
	}
}

// TestPubSubGoRedis subscribes, pattern-subscribes and unsubscribes with
// go-redis and checks PUBLISH's counts and the messages received.
func TestPubSubGoRedis(t *testing.T) {
	n := startNode(t, replikv.Config{}, Config{})
	c := n.client(t, nil)
	sub := c.Subscribe(ctx(t), "news", "sport")
	defer sub.Close()
	if _, err := sub.Receive(ctx(t)); err != nil { // the first confirmation
		t.Fatal(err)
	}
	psub := c.PSubscribe(ctx(t), "ne*")
	defer psub.Close()
	if _, err := psub.Receive(ctx(t)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "both subscriptions", func() bool {
		m, _ := c.PubSubNumSub(ctx(t), "news", "sport").Result()
		return m["news"] == 1 && m["sport"] == 1
	})
	checkEq(t, "PUBLISH news", c.Publish(ctx(t), "news", "hello").Val(), int64(2))
	checkEq(t, "PUBLISH sport", c.Publish(ctx(t), "sport", "goal").Val(), int64(1))
	checkEq(t, "PUBLISH none", c.Publish(ctx(t), "weather", "rain").Val(), int64(0))
	checkEq(t, "PUBSUB NUMPAT", c.PubSubNumPat(ctx(t)).Val(), int64(1))
	checkEq(t, "PUBSUB CHANNELS", c.PubSubChannels(ctx(t), "*").Val(), []string{"news", "sport"})

	var got []string
	for len(got) < 2 {
		m, err := sub.ReceiveMessage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, m.Channel+"="+m.Payload)
	}
	checkEq(t, "messages", got, []string{"news=hello", "sport=goal"})
	pm, err := psub.ReceiveMessage(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	checkEq(t, "pattern message", pm.Pattern+" "+pm.Channel+"="+pm.Payload, "ne* news=hello")

	if err := sub.Unsubscribe(ctx(t), "news"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the unsubscription", func() bool { return c.Publish(ctx(t), "news", "x").Val() == 1 })

	// Server.Publish, for a program embedding the server.
	checkEq(t, "Server.Publish", n.srv.Publish([]byte("sport"), []byte("api")), 1)
	for { // news=x may have arrived before the unsubscription took effect
		m, err := sub.ReceiveMessage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		if m.Channel != "news" {
			checkEq(t, "message from Server.Publish", m.Channel+"="+m.Payload, "sport=api")
			break
		}
	}
}

// TestPubSubPropagatesToReplica: a PUBLISH on the primary reaches the
// subscribers of its replica through the replication stream.
func TestPubSubPropagatesToReplica(t *testing.T) {
	p := startNode(t, replikv.Config{}, Config{})
	r := startNode(t, replikv.Config{}, Config{})
	if err := r.store.ReplicaOf(transport.TCP(p.addr)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the link", func() bool { return r.store.LinkStatus() == replikv.LinkUp })
	sub := r.client(t, nil).Subscribe(ctx(t), "ch")
	defer sub.Close()
	if _, err := sub.Receive(ctx(t)); err != nil {
		t.Fatal(err)
	}
	pc := p.client(t, nil)
	// The replica's feed starts following the stream within its poll
	// period: publish until a message arrives.
	got := make(chan string, 1)
	go func() {
		m, err := sub.ReceiveMessage(ctx(t))
		if err == nil {
			got <- m.Payload
		}
	}()
	deadline := time.After(20 * time.Second)
	for {
		checkEq(t, "receivers on the primary", pc.Publish(ctx(t), "ch", "from-primary").Val(), int64(0))
		select {
		case m := <-got:
			checkEq(t, "message", m, "from-primary")
			// Local PUBLISH on the replica reaches its subscriber and is
			// not refused as a write.
			checkEq(t, "receivers on the replica", r.client(t, nil).Publish(ctx(t), "ch", "local").Val(), int64(1))
			return
		case <-deadline:
			t.Fatal("no message reached the replica's subscriber")
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// TestPubSubSlowSubscriberDropped: a subscriber that does not read is
// disconnected once its pending messages pass the hard limit.
func TestPubSubSlowSubscriberDropped(t *testing.T) {
	publishUntilDropped(t, PubSubLimits{Hard: 1 << 20, Soft: 256 << 10, SoftFor: time.Hour}, 0)
}

// TestClientKillTypePubsub: TYPE pubsub closes the subscribers only, TYPE
// normal the other clients.
func TestClientKillTypePubsub(t *testing.T) {
	n := startNode(t, replikv.Config{}, Config{})
	s1 := n.raw(t)
	s1.do("SUBSCRIBE", "a")
	other := n.raw(t)
	checkEq(t, "PING", other.do("PING"), "+PONG")
	admin := n.raw(t)
	checkEq(t, "KILL TYPE pubsub", admin.do("CLIENT", "KILL", "TYPE", "pubsub"), ":1")
	checkEq(t, "KILL TYPE normal", admin.do("CLIENT", "KILL", "TYPE", "normal"), ":1")
	checkEq(t, "list", strings.Count(admin.do("CLIENT", "LIST"), "id="), 1)
}

// TestPubSubSoftLimit: a subscriber over the soft limit for longer than
// SoftFor is disconnected, though under the hard limit.
func TestPubSubSoftLimit(t *testing.T) {
	// The soft limit needs time to pass, not bytes.
	publishUntilDropped(t, PubSubLimits{Hard: 1 << 30, Soft: 256 << 10, SoftFor: 300 * time.Millisecond}, time.Millisecond)
}

// publishUntilDropped subscribes a client that never reads to "ch" on a
// node with limits, then publishes 64 KiB messages (pause between them)
// until the node has disconnected it, failing after 60 s.
func publishUntilDropped(t *testing.T, limits PubSubLimits, pause time.Duration) {
	t.Helper()
	n := startNode(t, replikv.Config{}, Config{PubSubLimits: limits})
	slow := n.raw(t)
	checkEq(t, "SUBSCRIBE", slow.do("SUBSCRIBE", "ch"), `["subscribe", "ch", :1]`)
	c := n.client(t, nil)
	msg := strings.Repeat("x", 64<<10)
	deadline := time.Now().Add(60 * time.Second)
	for c.PubSubNumSub(ctx(t), "ch").Val()["ch"] != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the slow subscriber was never disconnected")
		}
		c.Publish(ctx(t), "ch", msg)
		time.Sleep(pause)
	}
}

// TestPubSubReachesRedisReplica: a real redis-server replica of a replikv
// primary delivers the PUBLISH commands of the stream to its subscribers,
// as it does for a Redis primary: replikv propagates PUBLISH as Redis does.
func TestPubSubReachesRedisReplica(t *testing.T) {
	needRedisTool(t, "redis-server")
	n := startNode(t, replikv.Config{}, Config{})
	host, port, _ := strings.Cut(n.addr, ":")
	rc := startRedis(t, "--replicaof", host, port)
	eventually(t, "the Redis replica to sync", func() bool {
		return infoField(rc.Info(ctx(t), "replication").Val(), "master_link_status") == "up"
	})
	sub := rc.Subscribe(ctx(t), "ch")
	defer sub.Close()
	if _, err := sub.Receive(ctx(t)); err != nil {
		t.Fatal(err)
	}
	checkEq(t, "receivers on the primary", n.client(t, nil).Publish(ctx(t), "ch", "to-redis").Val(), int64(0))
	m, err := sub.ReceiveMessage(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	checkEq(t, "message on the Redis replica", m.Payload, "to-redis")
}
