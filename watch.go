package replikv

import (
	"context"
	"errors"
	"iter"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/replikv/replikv/resp"
)

// Op is what a change Event did to the keyspace.
type Op uint8

// Change operations.
const (
	// OpSet: Key now holds Value, with Deadline (zero: none).
	OpSet Op = iota + 1
	// OpDelete: Key was removed (DEL, UNLINK, GETDEL, or expiry on the
	// primary, which streams DEL).
	OpDelete
	// OpExpire: Key's deadline became Deadline (zero: PERSIST removed it).
	OpExpire
	// OpFlush: every key was removed (FLUSHALL, or FLUSHDB of this
	// store's database).
	OpFlush
	// OpReset: the store's history was replaced (a full resync from its
	// primary, LoadSnapshot): events were lost, the whole keyspace may
	// have changed. Read again what you derived from it. Offset is where
	// the new history's events start.
	OpReset
)

func (o Op) String() string {
	switch o {
	case OpSet:
		return "set"
	case OpDelete:
		return "delete"
	case OpExpire:
		return "expire"
	case OpFlush:
		return "flush"
	case OpReset:
		return "reset"
	}
	return "Op(" + strconv.Itoa(int(o)) + ")"
}

// Event is one change of the keyspace, decoded from the replication
// stream, so the same events come from a primary's own writes and from
// what a replica applies, whether its primary is replikv or Redis.
type Event struct {
	Op  Op
	Key string
	// Value is a copy of the key's value for OpSet. When the command
	// carried the final value (SET), it is that value; otherwise (INCR,
	// APPEND, SETEX from a Redis primary, …) it is the store's value when
	// the event was decoded, which may be newer.
	Value []byte
	// Deadline is the key's deadline for OpSet and OpExpire; zero: none.
	Deadline time.Time
	// Offset is the stream offset just after the command: a store whose
	// offset reached it holds the change.
	Offset int64
}

// WatchOptions configure Watch.
type WatchOptions struct {
	// Limits bound the stream bytes waiting for the watcher, as for a
	// replica (defaults: hard 256 MiB, soft 64 MiB for 60 s). A watcher
	// over them ends with ErrSubscriberLagging: it was too slow.
	Limits SubscribeLimits
}

// A Watcher delivers the store's changes in stream order; see Watch.
type Watcher struct {
	s    *Store
	ctx  context.Context
	stop func() bool // ends the AfterFunc that closes the watcher with ctx
	lim  SubscribeLimits

	mu     sync.Mutex
	sub    *Subscription // replaced on a history change, under mu
	closed bool          // Close was called, under mu

	// Owned by the goroutine calling Next.
	rd   *resp.Reader
	from int64 // stream offset of the reader's first byte
	db   int   // database of the last SELECT; -1 before any
	buf  []byte
	pend []Event // decoded, not yet returned
	err  error
}

// Watch starts watching the store's changes from now on (the current end
// of its stream): Next or Events return them until ctx ends, Close, or the
// watcher falls behind its limits. Start watching before reading the
// state you keep in step (a cache), so that no change falls between the
// two. It works on primaries and replicas.
func (s *Store) Watch(ctx context.Context, opt WatchOptions) (*Watcher, error) {
	w := &Watcher{s: s, ctx: ctx, db: -1, lim: opt.Limits}
	if err := w.subscribe(); err != nil {
		return nil, err
	}
	w.stop = context.AfterFunc(ctx, w.Close)
	return w, nil
}

// subscribe starts (again) at the end of the stream; ErrClosed once the
// watcher is closed.
func (w *Watcher) subscribe() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	st := w.s.st
	st.mu.Lock()
	defer st.mu.Unlock()
	sub, err := st.subscribeLocked(st.end, w.lim)
	if err != nil {
		return err
	}
	w.sub, w.from, w.db, w.buf = sub, st.end, st.db, nil
	w.rd = resp.NewReader(subReader{w}, w.s.streamLimits())
	return nil
}

// subscription returns the subscription in use.
func (w *Watcher) subscription() *Subscription {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.sub
}

// subReader reads the subscription's bytes for the RESP reader.
type subReader struct{ w *Watcher }

func (r subReader) Read(p []byte) (int, error) {
	w := r.w
	for len(w.buf) == 0 {
		data, _, err := w.subscription().Next(w.ctx, w.buf[:0])
		if err != nil {
			return 0, err
		}
		w.buf = data
	}
	n := copy(p, w.buf)
	w.buf = w.buf[n:]
	return n, nil
}

// Next returns the next change, waiting for it. It returns the error that
// ended the watcher: ctx's error, ErrClosed (Close, or the store's Close),
// or ErrSubscriberLagging.
func (w *Watcher) Next() (Event, error) {
	for len(w.pend) == 0 {
		if w.err != nil {
			return Event{}, w.err
		}
		w.decodeOne()
	}
	ev := w.pend[0]
	w.pend = w.pend[1:]
	return ev, nil
}

// Events iterates over the changes until the watcher ends; its error is
// yielded last (with a zero Event).
func (w *Watcher) Events() iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		for {
			ev, err := w.Next()
			if !yield(ev, err) || err != nil {
				return
			}
		}
	}
}

// Close stops the watcher; Next then returns ErrClosed (or ctx's error
// when ctx ended). It may be called from any goroutine, more than once.
func (w *Watcher) Close() {
	w.mu.Lock()
	w.closed = true
	sub := w.sub
	w.mu.Unlock()
	sub.Close()
	if w.stop != nil {
		w.stop()
	}
}

// decodeOne reads one command and turns it into events, or records the
// error that ends the watcher. A history change resubscribes and yields
// OpReset.
func (w *Watcher) decodeOne() {
	cmd, err := w.rd.ReadCommand()
	if err != nil {
		if errors.Is(err, ErrHistoryChanged) && w.ctx.Err() == nil {
			if err := w.subscribe(); err != nil {
				w.err = err
				return
			}
			w.pend = append(w.pend, Event{Op: OpReset, Offset: w.from})
			return
		}
		if w.ctx.Err() != nil {
			err = w.ctx.Err()
		}
		w.err = err
		return
	}
	if len(cmd.Args) == 0 {
		return
	}
	off := w.from + w.rd.Offset()
	w.events(cmd.Args, off)
}

// events appends the events of one stream command.
func (w *Watcher) events(args [][]byte, off int64) {
	kind, h := classify(args)
	switch kind {
	case cmdSelect:
		if db, err := strconv.Atoi(string(argOr(args, 1))); err == nil {
			w.db = db
		}
		return
	case cmdFlush:
		if len(args[0]) == len("flushall") || w.ours() {
			w.pend = append(w.pend, Event{Op: OpFlush, Offset: off})
		}
		return
	case cmdKey:
	default:
		return // PING, REPLCONF, MULTI/EXEC framing, other types
	}
	if !w.ours() || len(args) < 2 {
		return
	}
	name := h.name // lower case, from the apply table
	switch name {
	case "del", "unlink", "getdel":
		for _, k := range args[1:] {
			w.pend = append(w.pend, Event{Op: OpDelete, Key: string(k), Offset: off})
			if name == "getdel" {
				break
			}
		}
	case "persist":
		w.pend = append(w.pend, Event{Op: OpExpire, Key: string(args[1]), Offset: off})
	case "pexpireat", "expireat":
		// Absolute: the command says it all (a deadline already passed
		// deletes the key; the primary's DEL follows on a replica).
		n, ok := parseInt(argOr(args, 2))
		if !ok {
			return
		}
		if name == "expireat" {
			n = mulClamp(n, 1000)
		}
		w.pend = append(w.pend, Event{Op: OpExpire, Key: string(args[1]), Deadline: time.UnixMilli(max(n, 1)), Offset: off})
	case "expire", "pexpire":
		w.pend = append(w.pend, w.current(string(args[1]), OpExpire, off))
	case "mset", "msetnx":
		for i := 1; i+1 < len(args); i += 2 {
			w.pend = append(w.pend, w.current(string(args[i]), OpSet, off))
		}
	case "set":
		if ev, ok := w.plainSet(args, off); ok {
			w.pend = append(w.pend, ev)
			return
		}
		w.pend = append(w.pend, w.current(string(args[1]), OpSet, off))
	case "bitop": // BITOP op dest src…: the destination changed
		if len(args) > 2 {
			w.pend = append(w.pend, w.current(string(args[2]), OpSet, off))
		}
	default: // a command that computes the value: read it
		w.pend = append(w.pend, w.current(string(args[1]), OpSet, off))
	}
}

func (w *Watcher) ours() bool {
	return w.db == w.s.cfg.DB || (w.db < 0 && w.s.cfg.DB == 0)
}

// plainSet decodes SET key value [PXAT ms | EXAT s], the form that
// carries the final state; ok is false for other forms.
func (w *Watcher) plainSet(args [][]byte, off int64) (Event, bool) {
	ev := Event{Op: OpSet, Key: string(args[1]), Value: append([]byte(nil), args[2]...), Offset: off}
	switch len(args) {
	case 3:
		return ev, true
	case 5:
		n, ok := parseInt(args[4])
		if !ok {
			return ev, false
		}
		switch {
		case equalFold(args[3], "PXAT"):
			ev.Deadline = time.UnixMilli(n)
			return ev, true
		case equalFold(args[3], "EXAT"):
			ev.Deadline = time.UnixMilli(mulClamp(n, 1000))
			return ev, true
		}
	}
	return ev, false
}

// current is an event for key from the store's state now: op with its
// value and deadline, or OpDelete when it is gone.
func (w *Watcher) current(key string, op Op, off int64) Event {
	v, dl, ok := w.s.peek(key)
	if !ok {
		return Event{Op: OpDelete, Key: key, Offset: off}
	}
	ev := Event{Op: op, Key: key, Offset: off}
	if op == OpSet {
		ev.Value = v
	}
	if dl != 0 {
		ev.Deadline = time.UnixMilli(dl)
	}
	return ev
}

// peek returns a copy of key's value and its deadline, whatever the role
// and the link (no stale-read rule, no expiry on access).
func (s *Store) peek(key string) (value []byte, deadline int64, ok bool) {
	h := hashKey(key)
	sh := s.shardOf(h)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	i := sh.t.find(key, h)
	if i < 0 || s.expired(&sh.t.slots[i], s.nowMs()) {
		return nil, 0, false
	}
	v := sh.t.slots[i].value()
	return append(make([]byte, 0, len(v)), v...), sh.t.slots[i].deadline(), true
}

// mulClamp is a*b for b > 0, clamped to the int64 range.
func mulClamp(a, b int64) int64 {
	switch {
	case a > math.MaxInt64/b:
		return math.MaxInt64
	case a < math.MinInt64/b:
		return math.MinInt64
	}
	return a * b
}
