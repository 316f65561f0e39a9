package replikv

import (
	"fmt"
	"strconv"
	"strings"
)

// history is what a primary knows of its replication history when a
// replica asks to continue: the pure input of the PSYNC decision.
type history struct {
	ReplID  string
	ReplID2 string
	Off2    int64 // Redis second_repl_offset: PSYNC offsets up to it are valid for ReplID2
	// Older are the histories before ReplID2, newest first, each with
	// the PSYNC offsets valid for it (up to End): beyond Redis, which
	// keeps one, so that a replica that missed a promotion or two while
	// it reconnected still continues partially.
	Older []pastID
	First int64 // first stream offset in the backlog (0-based)
	End   int64 // offset of the next stream byte (master_repl_offset)
}

// pastID is a replication ID this history continued from: PSYNC offsets
// up to End (Redis second_repl_offset) are valid for it.
type pastID struct {
	ID  string
	End int64
}

// maxPastIDs bounds history.Older: a replica that stayed away for more
// promotions than this resyncs in full.
const maxPastIDs = 8

// prevEnd reports whether replid is one this history continued from and
// the last PSYNC offset valid for it.
func (h history) prevEnd(replid string) (int64, bool) {
	if replid == "" {
		return 0, false
	}
	if replid == h.ReplID2 {
		return h.Off2, true
	}
	for _, p := range h.Older {
		if p.ID == replid {
			return p.End, true
		}
	}
	return 0, false
}

// knows reports whether replid is this history or one it continued from.
func (h history) knows(replid string) bool {
	_, ok := h.prevEnd(replid)
	return replid == h.ReplID || ok
}

// psyncDecision is the outcome of a PSYNC request.
type psyncDecision struct {
	Continue bool
	From     int64  // 0-based stream offset to resend from, when continuing
	Reason   string // why a full resync was needed (for logs and Info)
}

// decidePSync answers "PSYNC <replid> <offset>" the way Redis does.
// offset is the request's argument: the 1-based number of the next byte
// the replica wants (its processed offset + 1). A partial resync is
// possible when the replid is this history's, or the previous one's with
// offset <= Off2 (or an older one's, up to where it was left), and the
// byte is in the backlog or is the very next one.
func decidePSync(replid string, offset int64, h history) psyncDecision {
	if replid == "?" {
		return psyncDecision{Reason: "full resync requested"}
	}
	if replid != h.ReplID {
		end, ok := h.prevEnd(replid)
		if !ok {
			return psyncDecision{Reason: fmt.Sprintf("replication ID mismatch (replica asked for %q, mine is %q)", replid, h.ReplID)}
		}
		if offset > end {
			return psyncDecision{Reason: fmt.Sprintf("requested offset %d for the previous ID is beyond its end %d", offset, end)}
		}
	}
	switch {
	case offset > h.End+1:
		return psyncDecision{Reason: fmt.Sprintf("requested offset %d is greater than my offset %d", offset, h.End)}
	case offset <= h.First: // offset-1 < First, without overflowing at MinInt64
		return psyncDecision{Reason: fmt.Sprintf("requested offset %d is before the backlog, which starts at %d", offset, h.First+1)}
	}
	return psyncDecision{Continue: true, From: offset - 1}
}

// psyncRequest is a parsed PSYNC or SYNC command.
type psyncRequest struct {
	ReplID string
	Offset int64 // 1-based next byte; -1 with "?"
	Legacy bool  // SYNC: always full, $len framing, no +FULLRESYNC line
	// Failover: "PSYNC <replid> <offset> FAILOVER", sent by a primary
	// handing its role over to this replica (Redis FAILOVER).
	Failover bool
}

// parsePSync parses the arguments of PSYNC (replid, offset) or SYNC.
func parsePSync(args [][]byte) (psyncRequest, error) {
	switch {
	case len(args) == 1 && equalFold(args[0], "SYNC"):
		return psyncRequest{ReplID: "?", Offset: -1, Legacy: true}, nil
	case len(args) < 3:
		return psyncRequest{}, fmt.Errorf("wrong number of arguments for 'psync' command")
	}
	off, err := strconv.ParseInt(string(args[2]), 10, 64)
	if err != nil {
		return psyncRequest{}, fmt.Errorf("value is not an integer or out of range")
	}
	// Redis ignores arguments after the offset, but the fourth: FAILOVER.
	fo := len(args) > 3 && equalFold(args[3], "FAILOVER")
	return psyncRequest{ReplID: string(args[1]), Offset: off, Failover: fo}, nil
}

// equalFold reports whether b equals the ASCII string s ignoring case.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c := b[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		d := s[i]
		if 'a' <= d && d <= 'z' {
			d -= 'a' - 'A'
		}
		if c != d {
			return false
		}
	}
	return true
}

// parseFullResync parses "FULLRESYNC <40-char replid> <offset>" (the
// reply without its '+'), strictly.
func parseFullResync(line string) (replid string, offset int64, err error) {
	f := strings.Split(line, " ")
	if len(f) != 3 || f[0] != "FULLRESYNC" || len(f[1]) != 40 {
		return "", 0, fmt.Errorf("malformed reply %q", line)
	}
	off, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil || off < 0 || off > maxOffset {
		return "", 0, fmt.Errorf("malformed reply %q", line)
	}
	return f[1], off, nil
}

// maxOffset bounds a primary's announced offset, far beyond any real one,
// so that adding stream lengths to it cannot overflow.
const maxOffset = 1 << 62
