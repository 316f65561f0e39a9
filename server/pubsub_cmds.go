package server

import (
	"slices"
	"sort"

	"github.com/replikv/replikv/resp"
)

func pubsubCommands() []*command {
	return []*command{
		cmd("publish", 3, fFast, 0, 0, 0, publishCmd),
		cmd("subscribe", -2, 0, 0, 0, 0, func(x *call) { subscribeCmd(x, false) }),
		cmd("psubscribe", -2, 0, 0, 0, 0, func(x *call) { subscribeCmd(x, true) }),
		cmd("unsubscribe", -1, 0, 0, 0, 0, func(x *call) { unsubscribeCmd(x, false) }),
		cmd("punsubscribe", -1, 0, 0, 0, 0, func(x *call) { unsubscribeCmd(x, true) }),
		container("pubsub", -2, 0, nil,
			cmd("channels", -2, 0, 0, 0, 0, pubsubChannels),
			cmd("numsub", -2, 0, 0, 0, 0, pubsubNumsub),
			cmd("numpat", 2, 0, 0, 0, 0, pubsubNumpat),
		),
	}
}

// allowedSubscribed reports whether cmd may run while the client is in
// RESP2 subscribed mode.
func allowedSubscribed(cmd *command) bool {
	switch cmd.name {
	case "subscribe", "unsubscribe", "psubscribe", "punsubscribe", "ping", "quit", "reset":
		return true
	}
	return false
}

// publishCmd is PUBLISH channel message: delivered to this server's
// subscribers and, on a primary, propagated to the replicas in the stream.
func publishCmd(x *call) {
	x.r.int(int64(x.s.Publish(x.args[1], x.args[2])))
	// A primary propagates PUBLISH to its replicas: WAIT after it waits
	// for them to have it too, as in Redis 7.0.
	_, x.c.woff = x.s.store.Position()
}

// subscribeCmd is SUBSCRIBE channel … (PSUBSCRIBE pattern …). Each
// confirmation is queued with the subscription in place, under the hub's
// lock: no message of the channel reaches the client before it, and none
// published after it is missed.
func subscribeCmd(x *call, pattern bool) {
	sb := x.c.pubsubState()
	kind, own := "subscribe", &sb.channels
	if pattern {
		kind, own = "psubscribe", &sb.patterns
	}
	for _, a := range x.args[1:] {
		name := string(a)
		already := slices.Contains(*own, name)
		n := sb.count()
		if !already {
			n++
		}
		confirm := func() {
			x.c.pushing(func() {
				x.r.array(3)
				x.r.bulkString(kind)
				x.r.bulk(a)
				x.r.int(int64(n))
			})
		}
		if already {
			confirm()
			continue
		}
		// The confirmation is queued with the subscription in place: a
		// client that read it receives every message published after.
		x.s.pubsub.subscribe(x.s, sb, name, pattern, confirm)
	}
	x.c.pubsubIdle()
}

// pubsubIdle applies the idle timeout as Redis does: never to a client
// in subscribed mode (clientsCronHandleTimeout skips CLIENT_PUBSUB), nor
// to a monitor; to any other client.
func (c *client) pubsubIdle() {
	switch {
	case c.cs.mon != nil:
	case c.subscribed():
		c.in.idle = nil
		c.in.disarm()
	default:
		c.in.idle = &c.s.idleTimeout
	}
}

// unsubscribeCmd is UNSUBSCRIBE [channel …] (PUNSUBSCRIBE [pattern …]):
// without arguments, from every channel (pattern), or a single reply with
// a null name when there is none.
func unsubscribeCmd(x *call, pattern bool) {
	kind := "unsubscribe"
	if pattern {
		kind = "punsubscribe"
	}
	var names []string
	if len(x.args) > 1 {
		names = x.keys(1)
	} else if sb := x.c.ps; sb != nil {
		if pattern {
			names = slices.Clone(sb.patterns)
		} else {
			names = slices.Clone(sb.channels)
		}
	}
	if len(names) == 0 {
		x.c.pushing(func() {
			x.r.array(3)
			x.r.bulkString(kind)
			x.r.null()
			x.r.int(int64(x.c.subscriptions()))
		})
		return
	}
	for _, name := range names {
		if x.c.ps != nil {
			x.s.pubsub.unsubscribe(x.s, x.c.ps, name, pattern)
		}
		x.c.pushing(func() {
			x.r.array(3)
			x.r.bulkString(kind)
			x.r.bulkString(name)
			x.r.int(int64(x.c.subscriptions()))
		})
	}
	x.c.pubsubIdle()
}

// pushing writes a (un)subscription confirmation, which Redis sends even
// while CLIENT REPLY is OFF or SKIP (its CLIENT_PUSHING): the replies
// before the command are kept, the command's others still dropped. It
// flushes, so that a confirmation precedes the subscription's messages.
func (c *client) pushing(write func()) {
	quiet := c.cs.quiet
	if quiet {
		c.r.b = c.r.b[:min(c.cs.mark, len(c.r.b))]
	}
	write()
	c.flush()
	if quiet {
		c.cs.mark = 0
	}
}

// subscriptions returns the client's channels and patterns.
func (c *client) subscriptions() int {
	if c.ps == nil {
		return 0
	}
	return c.ps.count()
}

// pubsubChannels is PUBSUB CHANNELS [pattern]: the channels with at
// least one subscriber (patterns not counted), matching pattern if given.
func pubsubChannels(x *call) {
	if len(x.args) > 3 {
		x.r.err("ERR unknown subcommand or wrong number of arguments for '" + string(x.args[1]) + "'. Try PUBSUB HELP.")
		return
	}
	h := &x.s.pubsub
	h.mu.RLock()
	var out []string
	for ch := range h.channels {
		if len(x.args) == 3 && !matchGlob(x.args[2], ch) {
			continue
		}
		out = append(out, ch)
	}
	h.mu.RUnlock()
	sort.Strings(out)
	x.r.array(len(out))
	for _, ch := range out {
		x.r.bulkString(ch)
	}
}

// pubsubNumsub is PUBSUB NUMSUB [channel …]: each channel and its number
// of subscribers.
func pubsubNumsub(x *call) {
	h := &x.s.pubsub
	h.mu.RLock()
	defer h.mu.RUnlock()
	x.r.array(2 * (len(x.args) - 2))
	for _, a := range x.args[2:] {
		x.r.bulk(a)
		x.r.int(int64(len(h.channels[string(a)])))
	}
}

// pubsubNumpat is PUBSUB NUMPAT: the number of distinct patterns
// subscribed to.
func pubsubNumpat(x *call) {
	h := &x.s.pubsub
	h.mu.RLock()
	defer h.mu.RUnlock()
	x.r.int(int64(len(h.patterns)))
}

// appendMessage appends the message frame a channel's subscriber gets.
func appendMessage(dst, channel, message []byte) []byte {
	dst = resp.AppendArrayLen(dst, 3)
	dst = resp.AppendBulkString(dst, "message")
	dst = resp.AppendBulk(dst, channel)
	return resp.AppendBulk(dst, message)
}

// appendPMessage appends the frame a pattern's subscriber gets.
func appendPMessage(dst []byte, pattern string, channel, message []byte) []byte {
	dst = resp.AppendArrayLen(dst, 4)
	dst = resp.AppendBulkString(dst, "pmessage")
	dst = resp.AppendBulkString(dst, pattern)
	dst = resp.AppendBulk(dst, channel)
	return resp.AppendBulk(dst, message)
}
