package server

import (
	"sync"
	"sync/atomic"
)

// Message is a message a Subscription received.
type Message struct {
	Channel string
	Pattern string // the pattern it matched, for PSubscribe; "" for Subscribe
	Payload []byte
}

// Subscription receives, on C, the messages published on the server's
// channels it subscribed to: by clients' PUBLISH, by Server.Publish, and,
// on a replica, by its primary (whose PUBLISH commands come in the
// replication stream). It is the Go side of SUBSCRIBE for a program
// embedding the server, a replica's in particular. A message that finds
// C's buffer full is dropped and counted (Dropped): as Redis disconnects
// a slow subscriber, the publisher is never held up. Close it when done.
type Subscription struct {
	// C delivers the messages; it is closed by Close.
	C <-chan Message

	s       *Server
	sb      *subscriber
	ch      chan Message
	dropped atomic.Int64
	once    sync.Once
}

// Subscribe returns a Subscription to channels, whose C buffers up to
// buffer messages (at least 1).
func (s *Server) Subscribe(buffer int, channels ...string) *Subscription {
	return s.goSubscribe(buffer, channels, false)
}

// PSubscribe is Subscribe to glob-style patterns, as PSUBSCRIBE.
func (s *Server) PSubscribe(buffer int, patterns ...string) *Subscription {
	return s.goSubscribe(buffer, patterns, true)
}

func (s *Server) goSubscribe(buffer int, names []string, pattern bool) *Subscription {
	ch := make(chan Message, max(buffer, 1))
	sub := &Subscription{C: ch, s: s, ch: ch}
	sub.sb = &subscriber{sink: func(channel []byte, pat string, message []byte) {
		m := Message{Channel: string(channel), Pattern: pat, Payload: append([]byte(nil), message...)}
		select {
		case ch <- m:
		default:
			sub.dropped.Add(1)
		}
	}}
	for _, n := range names {
		s.pubsub.subscribe(s, sub.sb, n, pattern, nil)
	}
	return sub
}

// Dropped returns how many messages found C full and were dropped.
func (sub *Subscription) Dropped() int64 { return sub.dropped.Load() }

// Close ends the subscription and closes C; no message is delivered
// after it returns. It is idempotent.
func (sub *Subscription) Close() {
	sub.once.Do(func() {
		h := &sub.s.pubsub
		for _, n := range append([]string(nil), sub.sb.channels...) {
			h.unsubscribe(sub.s, sub.sb, n, false)
		}
		for _, n := range append([]string(nil), sub.sb.patterns...) {
			h.unsubscribe(sub.s, sub.sb, n, true)
		}
		close(sub.ch)
	})
}
