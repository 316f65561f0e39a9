package server

import (
	"context"
	"slices"
	"sync"
	"time"
)

// PubSubLimits bounds the messages waiting to be written to one
// subscribed client, as Redis's client-output-buffer-limit for the pubsub
// class: a subscriber with more than Hard bytes pending, or more than Soft
// bytes pending for SoftFor without a break, is disconnected.
type PubSubLimits struct {
	Hard    int
	Soft    int
	SoftFor time.Duration
}

// DefaultPubSubLimits are Redis's defaults: client-output-buffer-limit
// pubsub 32mb 8mb 60.
var DefaultPubSubLimits = PubSubLimits{Hard: 32 << 20, Soft: 8 << 20, SoftFor: 60 * time.Second}

// pubsubHub is the server's channels and patterns and who listens to each.
type pubsubHub struct {
	mu       sync.RWMutex
	channels map[string]map[*subscriber]struct{}
	patterns map[string]map[*subscriber]struct{}
	clients  int // subscribers with at least one subscription, for the replica feed
}

// subscriber is a client's pub/sub state. Its own subscriptions are the
// client goroutine's (under the hub's lock when changed); the output queue
// is shared with publishers, whose messages the writer goroutine sends.
type subscriber struct {
	c        *client
	channels []string // in subscription order (UNSUBSCRIBE without arguments answers in this order)
	patterns []string

	out outQueue

	// sink, set for a Go subscriber (Server.Subscribe), receives the
	// messages instead of out.
	sink func(channel []byte, pattern string, message []byte)
}

// count is the number of subscriptions, the figure Redis's replies show.
func (sb *subscriber) count() int { return len(sb.channels) + len(sb.patterns) }

// subscribed reports whether c is in subscribed mode (RESP2: only the
// pub/sub commands, PING, QUIT and RESET are allowed).
func (c *client) subscribed() bool { return c.ps != nil && c.ps.count() > 0 }

// pubsubState returns c's subscriber, creating it (and its writer) first.
func (c *client) pubsubState() *subscriber {
	if c.ps == nil {
		sb := &subscriber{c: c}
		sb.out.init(c, c.s.pubsubLimits())
		c.s.wg.Add(1)
		go func() {
			defer c.s.wg.Done()
			sb.out.write()
		}()
		c.ps = sb
	}
	return c.ps
}

// pubsubLimits returns Config.PubSubLimits, or Redis's defaults.
func (s *Server) pubsubLimits() PubSubLimits {
	if s.cfg.PubSubLimits != (PubSubLimits{}) {
		return s.cfg.PubSubLimits
	}
	return DefaultPubSubLimits
}

// subscribe adds sb to channel (pattern: to the pattern); it reports
// false when sb was subscribed already. confirm, when not nil, runs with
// the hub locked once sb is subscribed: a confirmation it queues in sb's
// writer is so ordered before every message published to the channel
// from then on, and after every earlier one, as Redis orders them.
func (h *pubsubHub) subscribe(s *Server, sb *subscriber, name string, pattern bool, confirm func()) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if confirm != nil {
		defer confirm() // runs before the unlock
	}
	own, m := &sb.channels, &h.channels
	if pattern {
		own, m = &sb.patterns, &h.patterns
	}
	if slices.Contains(*own, name) {
		return false
	}
	if *m == nil {
		*m = make(map[string]map[*subscriber]struct{})
	}
	set := (*m)[name]
	if set == nil {
		set = make(map[*subscriber]struct{})
		(*m)[name] = set
	}
	set[sb] = struct{}{}
	if sb.count() == 0 {
		h.clients++
		if h.clients == 1 {
			s.feedUsers(1)
		}
		if sb.c != nil {
			sb.c.pubsubMode.Store(true)
		}
	}
	*own = append(*own, name)
	sb.counted()
	return true
}

// counted publishes sb's counts for CLIENT LIST.
func (sb *subscriber) counted() {
	if sb.c != nil {
		sb.c.subs.Store(int32(len(sb.channels)))
		sb.c.psubs.Store(int32(len(sb.patterns)))
	}
}

// unsubscribe removes sb from channel (or pattern); it reports false when
// sb was not subscribed.
func (h *pubsubHub) unsubscribe(s *Server, sb *subscriber, name string, pattern bool) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	own, m := &sb.channels, h.channels
	if pattern {
		own, m = &sb.patterns, h.patterns
	}
	i := slices.Index(*own, name)
	if i < 0 {
		return false
	}
	*own = slices.Delete(*own, i, i+1)
	sb.counted()
	if set := m[name]; set != nil {
		delete(set, sb)
		if len(set) == 0 {
			delete(m, name)
		}
	}
	if sb.count() == 0 {
		if sb.c != nil {
			sb.c.pubsubMode.Store(false)
		}
		h.clients--
		if h.clients == 0 {
			s.feedUsers(-1)
		}
	}
	return true
}

// publishLive is publish for the replica feed whose context is ctx:
// nothing once ctx is done. The feed is stopped (ctx cancelled) under
// h.mu, so a feed stopped as its last subscriber left delivers nothing
// to the next one, whose feed starts at its own position.
func (h *pubsubHub) publishLive(ctx context.Context, channel, message []byte) int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if ctx.Err() != nil {
		return 0
	}
	return h.publishLocked(channel, message)
}

// publish delivers message to the subscribers of channel and of the
// patterns matching it, and returns how many received it.
func (h *pubsubHub) publish(channel, message []byte) int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.publishLocked(channel, message)
}

func (h *pubsubHub) publishLocked(channel, message []byte) int {
	n := 0
	if set := h.channels[string(channel)]; len(set) > 0 {
		var msg []byte
		for sb := range set {
			n++
			if sb.sink != nil {
				sb.sink(channel, "", message)
				continue
			}
			if msg == nil {
				msg = appendMessage(nil, channel, message)
			}
			sb.out.push(msg)
		}
	}
	for pat, set := range h.patterns {
		if !matchGlob([]byte(pat), string(channel)) {
			continue
		}
		var msg []byte
		for sb := range set {
			n++
			if sb.sink != nil {
				sb.sink(channel, pat, message)
				continue
			}
			if msg == nil {
				msg = appendPMessage(nil, pat, channel, message)
			}
			sb.out.push(msg)
		}
	}
	return n
}

// stopPubsub ends c's subscriptions and its writer, which writes what is
// still pending first (a QUIT's +OK …) unless the connection is gone.
func (c *client) stopPubsub() {
	sb := c.ps
	if sb == nil {
		return
	}
	for len(sb.channels) > 0 {
		c.s.pubsub.unsubscribe(c.s, sb, sb.channels[0], false)
	}
	for len(sb.patterns) > 0 {
		c.s.pubsub.unsubscribe(c.s, sb, sb.patterns[0], true)
	}
	sb.out.close()
	c.ps = nil
	c.pubsubIdle()
}

// Publish is PUBLISH for a Go program embedding the server: it delivers
// message to the clients subscribed to channel (or to a pattern matching
// it), propagates it to the replicas in the replication stream when the
// store is a primary (their subscribers receive it too), and returns how
// many clients received it here.
func (s *Server) Publish(channel, message []byte) int {
	n := s.pubsub.publish(channel, message)
	s.store.PropagatePublish(channel, message)
	return n
}
