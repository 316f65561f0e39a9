package server

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/replikv/replikv"
	"github.com/replikv/replikv/resp"
)

// A replica's subscribers receive the PUBLISH commands of its primary's
// stream, as Redis's do, through the same feed.
//
// A replica's MONITOR also shows the commands its primary sends, as
// Redis's does: each as it arrives in the replication stream, with the
// primary's address as the client and the database the stream has
// selected (MULTI and EXEC included), but for REPLCONF (administrative).
// While the server has monitors, one goroutine follows the store's
// stream for them.

// replicaFeedLimits bound what the feed lets pile up; a feed that falls
// behind them starts again from the end of the stream (lines are lost,
// never memory).
var replicaFeedLimits = replikv.SubscribeLimits{Hard: 8 << 20, Soft: 4 << 20, SoftFor: 10 * time.Second}

// replicaFeedPoll is how often the feed looks whether the store has
// become a replica while it is a primary.
const replicaFeedPoll = 50 * time.Millisecond

// replicaFeed counts the users of the replica feed: the monitors (as one)
// and the pub/sub hub (as one, while it has subscribers).
type replicaFeed struct {
	mu    sync.Mutex
	users int
	stop  context.CancelFunc
}

// feedUsers adds delta users to the replica feed, starting it for the
// first and stopping it after the last.
func (s *Server) feedUsers(delta int) {
	f := &s.feed
	f.mu.Lock()
	defer f.mu.Unlock()
	f.users += delta
	switch {
	case f.users > 0 && f.stop == nil:
		var ctx context.Context
		ctx, f.stop = context.WithCancel(s.ctx)
		// The feed starts where the stream is now, not where it is
		// when its goroutine gets round to it: a PUBLISH of the primary
		// after a replica's SUBSCRIBE is confirmed reaches it.
		from := feedStart{offset: -1}
		if s.isReplica() {
			from.replid, from.offset = s.store.Position()
		}
		s.startReplicaFeed(ctx, from)
	case f.users == 0 && f.stop != nil:
		f.stop()
		f.stop = nil
	}
}

// feedStart is the stream position a feed starts from; offset -1 for
// the end of the stream.
type feedStart struct {
	replid string
	offset int64
}

// startReplicaFeed starts the feed goroutine; it stops when ctx ends.
func (s *Server) startReplicaFeed(ctx context.Context, from feedStart) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(replicaFeedPoll)
		defer t.Stop()
		for ctx.Err() == nil {
			if s.isReplica() {
				s.followForMonitors(ctx, from)
			}
			from = feedStart{offset: -1}
			select {
			case <-ctx.Done():
			case <-t.C:
			}
		}
	}()
}

// followForMonitors feeds the monitors with the stream from its end,
// until ctx ends, the store stops being a replica or the subscription
// ends (a full resync changes the history).
func (s *Server) followForMonitors(ctx context.Context, from feedStart) {
	replid, end := s.store.Position()
	if from.offset >= 0 && from.replid == replid && from.offset <= end {
		end = from.offset
	}
	sub, err := s.store.Subscribe(end, replicaFeedLimits)
	if err != nil {
		return
	}
	defer sub.Close()
	src := &feedReader{ctx: ctx, s: s, sub: sub}
	rd := resp.NewReader(src, resp.Limits{MaxBulkLen: s.store.StreamMaxArg()})
	db := s.store.Config().DB
	var line []byte
	for {
		cmd, err := rd.ReadCommand()
		if err != nil {
			return
		}
		if cmd.Empty || len(cmd.Args) == 0 {
			continue
		}
		name := strings.ToLower(string(cmd.Args[0]))
		if name == "select" && len(cmd.Args) == 2 {
			if n, err := strconv.Atoi(string(cmd.Args[1])); err == nil {
				db = n
			}
		}
		if name == "replconf" || !s.isReplica() {
			continue
		}
		if name == "publish" && len(cmd.Args) == 3 {
			s.pubsub.publishLive(ctx, cmd.Args[1], cmd.Args[2])
		}
		if s.monitors.n.Load() > 0 {
			line = monitorLine(line[:0], time.Now(), db, src.addr, cmd.Args)
			s.monitors.feedLine(line)
		}
	}
}

// feedReader reads a subscription for the feed's RESP reader, and keeps
// the primary's address up to date at each chunk.
type feedReader struct {
	ctx  context.Context
	s    *Server
	sub  *replikv.Subscription
	buf  []byte
	rest []byte
	addr string
}

func (r *feedReader) Read(p []byte) (int, error) {
	for len(r.rest) == 0 {
		data, _, err := r.sub.Next(r.ctx, r.buf[:0])
		if err != nil {
			return 0, err
		}
		if !r.s.isReplica() {
			return 0, errors.New("server: no longer a replica")
		}
		m := r.s.store.Info().Master
		r.addr = net.JoinHostPort(m.Host, strconv.Itoa(m.Port))
		r.buf, r.rest = data, data
	}
	n := copy(p, r.rest)
	r.rest = r.rest[n:]
	return n, nil
}
