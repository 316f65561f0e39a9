package main

import (
	"errors"

	"bufio"
	"context"
	"fmt"
	"github.com/redis/go-redis/v9"
	"strconv"
	"strings"
	"time"
)

// info returns the fields of INFO section of n.
func (n *node) info(section string) (map[string]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	text, err := n.client.Info(ctx, section).Result()
	if err != nil {
		return nil, fmt.Errorf("%s: INFO %s: %w", n.name, section, err)
	}
	m := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":"); ok {
			m[k] = v
		}
	}
	return m, nil
}

// infoInt returns an integer field of INFO section of n.
func (n *node) infoInt(section, field string) (int64, error) {
	m, err := n.info(section)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseInt(m[field], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: INFO %s %s = %q", n.name, section, field, m[field])
	}
	return v, nil
}

// offset is a node's replication offset: master_repl_offset on a primary,
// slave_repl_offset (what it has applied) on a replica.
func (n *node) offset() (int64, error) {
	m, err := n.info("replication")
	if err != nil {
		return 0, err
	}
	f := "master_repl_offset"
	if m["role"] == "slave" {
		f = "slave_repl_offset"
	}
	v, err := strconv.ParseInt(m[f], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: INFO replication %s = %q", n.name, f, m[f])
	}
	return v, nil
}

// replicaOf points replica at primary (REPLICAOF host port).
func (n *node) replicaOf(primary *node) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return n.client.Do(ctx, "replicaof", "127.0.0.1", strconv.Itoa(primary.port)).Err()
}

// synced reports whether replica's link is up with no full sync in
// progress.
func (n *node) synced() (bool, error) {
	m, err := n.info("replication")
	if err != nil {
		return false, err
	}
	return m["role"] == "slave" && m["master_link_status"] == "up" && m["master_sync_in_progress"] == "0", nil
}

// errTimeout is poll's error when the condition did not come true.
var errTimeout = errors.New("not done")

// poll calls cond every period until it reports true, fails, or timeout
// passes.
func poll(timeout, period time.Duration, what string, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: %w after %v", what, errTimeout, timeout)
		}
		time.Sleep(period)
	}
}

// waitSynced waits until every replica has finished its sync.
func waitSynced(timeout time.Duration, replicas ...*node) error {
	for _, r := range replicas {
		if err := poll(timeout, time.Millisecond, r.name+" synced", r.synced); err != nil {
			return err
		}
	}
	return nil
}

// waitCaughtUp waits until every replica's applied offset equals the
// primary's, read again each time (an idle primary's PINGs move it), and
// returns the verified offset.
func waitCaughtUp(timeout time.Duration, primary *node, replicas ...*node) (int64, error) {
	var off int64
	err := poll(timeout, time.Millisecond, "replicas caught up with "+primary.name, func() (bool, error) {
		var err error
		if off, err = primary.offset(); err != nil {
			return false, err
		}
		for _, r := range replicas {
			ok, err := r.synced()
			if err != nil || !ok {
				return false, err
			}
			ro, err := r.offset()
			if err != nil || ro != off {
				return false, err
			}
		}
		return true, nil
	})
	return off, err
}

// syncCounts returns a primary's full and accepted partial resyncs
// (INFO stats sync_full, sync_partial_ok).
func (n *node) syncCounts() (full, partial int64, err error) {
	m, err := n.info("stats")
	if err != nil {
		return 0, 0, err
	}
	full, err1 := strconv.ParseInt(m["sync_full"], 10, 64)
	partial, err2 := strconv.ParseInt(m["sync_partial_ok"], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("%s: INFO stats sync_full %q sync_partial_ok %q", n.name, m["sync_full"], m["sync_partial_ok"])
	}
	return full, partial, nil
}

// ignoreNil treats go-redis's "no such key" as no error.
func ignoreNil(err error) error {
	if errors.Is(err, redis.Nil) {
		return nil
	}
	return err
}

// group starts a primary of sys and n replicas of it, all with the extra
// directives, and waits until the replicas have caught up. stop ends them
// all (frozen ones too); call it whether or not err is set.
func (e *env) group(sys system, n int, extra ...string) (p *node, rs []*node, stop func(), err error) {
	stop = func() { e.stopAll(append(rs, p)...) }
	if p, err = e.start(sys, extra...); err != nil {
		return nil, nil, stop, err
	}
	for range n {
		r, err := e.start(sys, extra...)
		if err != nil {
			return p, rs, stop, err
		}
		rs = append(rs, r)
		if err := r.replicaOf(p); err != nil {
			return p, rs, stop, err
		}
	}
	_, err = waitCaughtUp(60*time.Second, p, rs...)
	return p, rs, stop, err
}
