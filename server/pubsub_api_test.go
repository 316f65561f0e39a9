package server

import (
	"testing"
	"time"

	"github.com/replikv/replikv"
	"github.com/replikv/replikv/transport"
)

// TestSubscriptionOnReplica: a Go program embedding a replica's server
// receives its primary's PUBLISH through Server.Subscribe and PSubscribe.
func TestSubscriptionOnReplica(t *testing.T) {
	p := startNode(t, replikv.Config{}, Config{})
	r := startNode(t, replikv.Config{}, Config{})
	if err := r.store.ReplicaOf(transport.TCP(p.addr)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the link", func() bool { return r.store.LinkStatus() == replikv.LinkUp })
	sub := r.srv.Subscribe(16, "news")
	defer sub.Close()
	psub := r.srv.PSubscribe(16, "n*")
	defer psub.Close()
	// The replica's feed starts within its poll period: publish until
	// the message arrives.
	deadline := time.After(20 * time.Second)
	var m Message
	for got := false; !got; {
		p.srv.Publish([]byte("news"), []byte("hello"))
		select {
		case m = <-sub.C:
			got = true
		case <-deadline:
			t.Fatal("no message reached the replica's Subscription")
		case <-time.After(100 * time.Millisecond):
		}
	}
	checkEq(t, "message", m, Message{Channel: "news", Payload: []byte("hello")})
	pm := <-psub.C
	checkEq(t, "pattern message", pm, Message{Channel: "news", Pattern: "n*", Payload: []byte("hello")})
	checkEq(t, "NUMSUB on the replica", r.raw(t).do("PUBSUB", "NUMSUB", "news"), `["news", :1]`)
	sub.Close()
	if _, open := <-drain(sub.C); open {
		t.Error("C not closed by Close")
	}
	checkEq(t, "NUMSUB after Close", r.raw(t).do("PUBSUB", "NUMSUB", "news"), `["news", :0]`)
}

// drain empties c and returns it once nothing is buffered.
func drain(c <-chan Message) <-chan Message {
	for len(c) > 0 {
		<-c
	}
	return c
}

// TestSubscriptionDropsWhenFull: a full buffer drops, and counts, the
// messages that do not fit; the publisher is not held up.
func TestSubscriptionDropsWhenFull(t *testing.T) {
	n := startNode(t, replikv.Config{}, Config{})
	sub := n.srv.Subscribe(1, "ch")
	defer sub.Close()
	for range 3 {
		checkEq(t, "receivers", n.srv.Publish([]byte("ch"), []byte("m")), 1)
	}
	checkEq(t, "dropped", sub.Dropped(), int64(2))
	checkEq(t, "first message", string((<-sub.C).Payload), "m")
}
