package replikv

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/replikv/replikv/resp"
)

// DroppedHistory describes a full resync that threw away stream bytes of
// this store's own history that its new primary never had: a demoted
// primary (ReplicaOf after being primary, or the old primary of a failover)
// that had accepted writes the new primary did not receive. Those writes
// are gone from this store once the snapshot has loaded; DroppedHistory
// says how many bytes of stream they were.
type DroppedHistory struct {
	ReplID string // the history given up
	End    int64  // this store's offset in it when it resynced
	// Kept is how far the new primary held that history (its offset in
	// it, or where it left it when it was promoted): the bytes from Kept
	// to End are the dropped ones. -1 when the new primary did not tell.
	Kept int64
	// Bytes is End-Kept, or End when Kept is unknown (then an upper
	// bound: the new primary may hold part of it).
	Bytes     int64
	NewReplID string    // the history adopted, from +FULLRESYNC
	NewOffset int64     // its offset, from +FULLRESYNC
	At        time.Time // when the snapshot replacing the history loaded
}

// droppedState tracks dropped histories for Info.
type droppedState struct {
	// demoted is set when a primary becomes a replica and cleared by its
	// first resync: only then does a full resync mean dropping writes
	// this store accepted itself. The new primary is asked where its
	// history stands (INFO replication before PSYNC) only when this store
	// served replicas: otherwise no other node can hold its history.
	demoted atomic.Bool
	total   atomic.Int64 // bytes dropped in all (Kept known or not)
	mu      sync.Mutex
	last    *DroppedHistory
}

// peerHistory is what a primary's INFO replication says of its history.
type peerHistory struct {
	ReplID, ReplID2 string
	Offset          int64 // master_repl_offset
	Off2            int64 // second_repl_offset; -1 when none
}

// parsePeerHistory reads the fields of an INFO replication text; ok is
// false when master_replid or master_repl_offset is missing.
func parsePeerHistory(text string) (p peerHistory, ok bool) {
	p.Off2 = -1
	var haveID, haveOff bool
	for _, line := range strings.Split(text, "\n") {
		k, v, found := strings.Cut(strings.TrimSpace(line), ":")
		if !found {
			continue
		}
		switch k {
		case "master_replid":
			p.ReplID, haveID = v, true
		case "master_replid2":
			p.ReplID2 = v
		case "master_repl_offset":
			n, err := strconv.ParseInt(v, 10, 64)
			p.Offset, haveOff = n, err == nil
		case "second_repl_offset":
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				p.Off2 = n
			}
		}
	}
	return p, haveID && haveOff
}

// keptOf says how far a primary that answered "+FULLRESYNC replyID
// replyOff" to "PSYNC myID <end+1>" held history myID, from the reply
// and, when it answered INFO replication before, from its replid/replid2:
// its offset when the reply or INFO names myID as its current history,
// or the end of myID when it continued it after a promotion
// (second_repl_offset - 1). ok is false when neither tells.
func keptOf(myID, replyID string, replyOff int64, p *peerHistory) (kept int64, ok bool) {
	switch {
	case replyID == myID:
		return replyOff, true
	case p == nil:
		return -1, false
	case p.ReplID == myID:
		return p.Offset, true
	case p.ReplID2 == myID && p.Off2 > 0:
		return p.Off2 - 1, true
	}
	return -1, false
}

// judgeDropped returns the history a full resync is about to drop, or nil
// when the new primary held all of it (this store was behind, or its
// offset fell out of the backlog).
func judgeDropped(myID string, myEnd int64, replyID string, replyOff int64, p *peerHistory) *DroppedHistory {
	if myEnd <= 0 {
		return nil
	}
	kept, ok := keptOf(myID, replyID, replyOff, p)
	d := &DroppedHistory{ReplID: myID, End: myEnd, Kept: kept, Bytes: myEnd, NewReplID: replyID, NewOffset: replyOff}
	if ok {
		if kept >= myEnd {
			return nil
		}
		d.Bytes = myEnd - kept
	}
	return d
}

// probePeerHistory asks the primary for INFO replication during the
// handshake. A refusal (an error reply, an unknown command) is not an
// error: the history is then unknown.
func (s *Store) probePeerHistory(lc *linkConn) (*peerHistory, error) {
	if err := lc.send("INFO", "replication"); err != nil {
		return nil, err
	}
	lc.conn.SetReadDeadline(time.Now().Add(s.conf().ReplTimeout))
	v, err := lc.rd.ReadReply()
	if err != nil {
		return nil, fmt.Errorf("INFO: %w", err)
	}
	s.rep.lastIO.Store(time.Now().UnixNano())
	if v.Kind != resp.KindBulk || v.Null {
		return nil, nil
	}
	p, ok := parsePeerHistory(string(v.Str))
	if !ok {
		return nil, nil
	}
	return &p, nil
}

// noteDropped records d once the snapshot replacing the history loaded,
// and says so in the log.
func (s *Store) noteDropped(d *DroppedHistory, log interface{ Warn(string, ...any) }) {
	d.At = time.Now()
	ds := &s.rep.dropped
	ds.total.Add(d.Bytes)
	ds.mu.Lock()
	ds.last = d
	ds.mu.Unlock()
	kept := "unknown (the new primary did not say; bytes is this store's whole history)"
	if d.Kept >= 0 {
		kept = strconv.FormatInt(d.Kept, 10)
	}
	log.Warn("full resync dropped history the new primary never had",
		"dropped_bytes", d.Bytes, "replid", d.ReplID, "end_offset", d.End, "primary_kept_to", kept,
		"new_replid", d.NewReplID, "new_offset", d.NewOffset)
}

// droppedInfo returns the cumulative count and a copy of the last record.
func (s *Store) droppedInfo() (int64, *DroppedHistory) {
	ds := &s.rep.dropped
	ds.mu.Lock()
	defer ds.mu.Unlock()
	if ds.last == nil {
		return ds.total.Load(), nil
	}
	d := *ds.last
	return ds.total.Load(), &d
}

// replInfoText is the INFO replication a library primary's listener
// answers during a handshake: the history fields a demoted primary needs
// to tell what it drops.
func (s *Store) replInfoText() string {
	st := s.st
	st.mu.Lock()
	id, id2, off, off2 := st.replid, st.replid2, st.end, st.off2
	st.mu.Unlock()
	if id2 == "" {
		id2 = strings.Repeat("0", 40)
	}
	return fmt.Sprintf("# Replication\r\nmaster_replid:%s\r\nmaster_replid2:%s\r\nmaster_repl_offset:%d\r\nsecond_repl_offset:%d\r\n",
		id, id2, off, off2)
}
