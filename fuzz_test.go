package replikv

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/replikv/replikv/resp"
	"github.com/replikv/replikv/transport"
)

// Fuzz targets for what a peer controls: PSYNC and REPLCONF arguments,
// the whole handshake in both directions, and the command stream a
// replica applies. Seed corpora are in testdata/fuzz/<target>/.

// splitArgs splits fuzz input into command arguments at NUL bytes.
func splitArgs(raw []byte) [][]byte {
	return bytes.Split(raw, []byte{0})
}

// fuzzHistory turns fuzz numbers into a history a primary can have:
// 0 <= First <= End, and a previous ID valid up to Off2 <= End+1.
func fuzzHistory(prev bool, first, size, off2 int64) history {
	first &= 1<<40 - 1
	size &= 1<<30 - 1
	h := history{ReplID: strings.Repeat("a", 40), Off2: -1, First: first, End: first + size}
	if prev {
		h.ReplID2 = strings.Repeat("b", 40)
		h.Off2 = (off2 & (1<<62 - 1)) % (h.End + 2)
	}
	return h
}

// FuzzPSyncParse: parsePSync and decidePSync never panic, and a partial
// resync is granted exactly when Redis grants it: a known history (the
// previous one only up to its switch point) and a next byte that is in the
// backlog or just after it.
func FuzzPSyncParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, raw []byte, prev bool, first, size, off2 int64) {
		args := splitArgs(raw)
		req, err := parsePSync(args)
		if err != nil {
			return
		}
		if req.Legacy {
			if len(args) != 1 || req.ReplID != "?" || req.Offset != -1 {
				t.Fatalf("SYNC parsed as %+v from %q", req, args)
			}
			return // SYNC is always a full resync; no decision is made
		}
		// Redis's PSYNC has arity -3: it reads a fourth argument (FAILOVER)
		// and ignores any more.
		if len(args) < 3 || req.Failover != (len(args) > 3 && equalFold(args[3], "FAILOVER")) {
			t.Fatalf("PSYNC parsed as %+v from %q", req, args)
		}
		if off, err := strconv.ParseInt(string(args[2]), 10, 64); err != nil || req.Offset != off || req.ReplID != string(args[1]) {
			t.Fatalf("PSYNC parsed as %+v from %q", req, args)
		}
		h := fuzzHistory(prev, first, size, off2)
		d := decidePSync(req.ReplID, req.Offset, h)
		known := req.ReplID == h.ReplID || (h.ReplID2 != "" && req.ReplID == h.ReplID2 && req.Offset <= h.Off2)
		inBacklog := req.Offset > h.First && req.Offset <= h.End+1 // next byte in [First, End]
		if want := req.ReplID != "?" && known && inBacklog; d.Continue != want {
			t.Fatalf("PSYNC %q %d with %+v: continue=%v (%s), want %v", req.ReplID, req.Offset, h, d.Continue, d.Reason, want)
		}
		if d.Continue && (d.From < h.First || d.From > h.End || d.From != req.Offset-1) {
			t.Fatalf("PSYNC %q %d with %+v: resend from %d", req.ReplID, req.Offset, h, d.From)
		}
		if !d.Continue && d.Reason == "" {
			t.Fatalf("PSYNC %q %d with %+v: full resync without a reason", req.ReplID, req.Offset, h)
		}
	})
}

// FuzzReplconf: replconf never panics, and its reply is nothing (ACK,
// GETACK) or one line, +OK or an error, that cannot break the framing.
func FuzzReplconf(f *testing.F) {
	f.Fuzz(func(t *testing.T, raw []byte) {
		args := append([][]byte{[]byte("REPLCONF")}, splitArgs(raw)...)
		rc := &replicaConn{}
		reply := replconf(rc, args)
		switch {
		case reply == "":
			if !bytes.Contains(bytes.ToUpper(raw), []byte("ACK")) {
				t.Fatalf("no reply to %q", args)
			}
		case reply == "+OK":
		case reply[0] == '-':
			if strings.ContainsAny(reply, "\r\n") {
				t.Fatalf("reply %q to %q breaks the line", reply, args)
			}
		default:
			t.Fatalf("reply %q to %q", reply, args)
		}
		if rc.port < 0 || rc.port > 65535 || len(rc.addr) > 64 {
			t.Fatalf("recorded port %d, address %q", rc.port, rc.addr)
		}
	})
}

// FuzzApply: any stream a primary may send is applied without a panic,
// values stay within Config.MaxBulkLen, every table keeps its invariants,
// the store's stream holds exactly the bytes applied (invariant 3; an
// unfinished MULTI is held back until its EXEC), the
// result does not depend on the number of shards, and a snapshot of it
// loads into a store that shows the same keys (invariant 2).
func FuzzApply(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		a, rawA := applyFuzz(t, data, 8)
		b, _ := applyFuzz(t, data, 1)
		da, db := checkTables(t, a), checkTables(t, b)
		if d := cmp.Diff(da, db); d != "" {
			t.Fatalf("8 shards and 1 shard disagree (-8 +1):\n%s", d)
		}
		stored := 0
		for k, e := range da {
			stored += len(k) + len(e.Value)
		}
		// SETRANGE, SETBIT and BITFIELD pad with zeros: a short command may
		// make a value of up to MaxBulkLen bytes (8 more for a BITFIELD
		// field at the last offset), as in Redis.
		if stored > len(data)+len(da)*(fuzzBulkLen+8) {
			t.Fatalf("%d bytes stored from %d bytes of stream", stored, len(data))
		}
		checkSnapshotRoundTrip(t, a)
		a.st.mu.Lock()
		defer a.st.mu.Unlock()
		// A transaction still open at the end (MULTI without EXEC) is neither
		// applied nor counted yet.
		if a.multi.active {
			rawA = rawA[:len(rawA)-len(a.multi.raw)]
		}
		if a.st.end != int64(len(rawA)) {
			t.Fatalf("stream offset %d after applying %d bytes", a.st.end, len(rawA))
		}
		first, end := a.st.ring.Range()
		ring := make([]byte, end-first)
		if _, err := a.st.ring.ReadAt(ring, first); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ring, rawA[first:end]) {
			t.Fatalf("backlog [%d, %d) differs from the bytes applied", first, end)
		}
	})
}

// checkSnapshotRoundTrip loads a snapshot of s into a new store and
// compares what both show: the keys not expired, values and deadlines.
func checkSnapshotRoundTrip(t *testing.T, s *Store) {
	t.Helper()
	b, _ := snapshotBytes(t, s)
	c, err := New(s.cfg)
	must(t, err)
	defer c.Close()
	if _, err := c.LoadSnapshot(context.Background(), bytes.NewReader(b), LoadOptions{}); err != nil {
		t.Fatalf("loading the snapshot: %v", err)
	}
	if d := cmp.Diff(visible(s), visible(c)); d != "" {
		t.Fatalf("the snapshot shows other keys (-store +loaded):\n%s", d)
	}
}

// visible returns the keys of s that have not expired, as Range shows them.
func visible(s *Store) map[string]entry {
	m := map[string]entry{}
	s.Range(func(key string, value []byte, deadline time.Time) bool {
		m[key] = entry{Value: string(value), Deadline: msOf(deadline)}
		return true
	})
	return m
}

// fuzzBulkLen is the MaxBulkLen of FuzzApply's stores and stream reader.
const fuzzBulkLen = 64

// applyFuzz applies data to a new replica store as its link would, and
// returns the store and the bytes it applied.
func applyFuzz(t *testing.T, data []byte, shards int) (*Store, []byte) {
	s, err := New(Config{Shards: shards, BacklogSize: 16 << 10, MaxBulkLen: fuzzBulkLen, ActiveExpiryInterval: -1,
		Now: func() time.Time { return time.UnixMilli(1_700_000_000_000) }})
	must(t, err)
	t.Cleanup(func() { s.Close() })
	setRole(s, RoleReplica)
	rd := resp.NewReader(bytes.NewReader(data), resp.Limits{MaxBulkLen: fuzzBulkLen, MaxArrayLen: 16, MaxInlineLen: 256})
	var applied []byte
	for {
		cmd, err := rd.ReadCommand()
		if err != nil || (cmd.Inline && !cmd.Empty) { // the link drops on both
			return s, applied
		}
		s.applyCommand(cmd.Raw, cmd.Args)
		applied = append(applied, cmd.Raw...)
	}
}

// checkTables checks every shard's table: each live bucket is in the
// right shard, carries its key's tag and is where find looks; the counts
// match; no key is held twice; keys and values respect MaxBulkLen. It
// returns the keyspace.
func checkTables(t *testing.T, s *Store) map[string]entry {
	t.Helper()
	seen := map[string]entry{}
	for i := range s.shards {
		tb := &s.shards[i].t
		n, ttl := 0, 0
		for j, tag := range tb.tags {
			sl := &tb.slots[j]
			if tag == 0 {
				if sl.p != nil {
					t.Fatalf("shard %d bucket %d: empty tag on a live slot", i, j)
				}
				continue
			}
			n++
			if sl.hasTTL() {
				ttl++
			}
			key := sl.key()
			h := hashKey(key)
			if int(h>>s.shift) != i || tag != tagOf(h) || tb.find(key, h) != j {
				t.Fatalf("shard %d bucket %d: key %q (shard %d, tag %x, found at %d)", i, j, key, h>>s.shift, tag, tb.find(key, h))
			}
			if _, dup := seen[key]; dup {
				t.Fatalf("key %q held twice", key)
			}
			if len(key) > fuzzBulkLen || len(sl.value()) > fuzzBulkLen+8 { // +8: BITFIELD, as in Redis
				t.Fatalf("key %q with a %d-byte value exceeds MaxBulkLen", key, len(sl.value()))
			}
			seen[key] = entry{Value: string(sl.value()), Deadline: sl.deadline()}
		}
		if n != tb.n || ttl != tb.ttl {
			t.Fatalf("shard %d counts %d keys and %d deadlines, holds %d and %d", i, tb.n, tb.ttl, n, ttl)
		}
	}
	if s.Len() != len(seen) {
		t.Fatalf("Len %d, %d keys held", s.Len(), len(seen))
	}
	return seen
}

// fuzzPassword is the password of FuzzPrimaryHandshake's primary.
const fuzzPassword = "pw"

// FuzzPrimaryHandshake sends arbitrary bytes to a primary as a replica
// would, then half-closes. The primary never panics, closes the
// connection, sends nothing but +PONG, +OK and error lines unless the peer
// authenticated and then asked to sync, and keeps serving: now and then a
// real replica syncs with it.
func FuzzPrimaryHandshake(f *testing.F) {
	mn := transport.NewMemNetwork()
	p := newStore(f, Config{Shards: 4, Password: fuzzPassword, ReplTimeout: 10 * time.Second})
	for i := 0; i < 20; i++ {
		must(f, p.Set(fmt.Sprint("secret", i), []byte("do not leak")))
	}
	l, err := mn.Listen("p")
	must(f, err)
	served := make(chan struct{})
	go func() { defer close(served); p.Serve(l) }()
	f.Cleanup(func() { p.Close(); <-served })
	runs := 0
	f.Fuzz(func(t *testing.T, data []byte) {
		runs++
		reply := exchange(t, mn.Dialer("p"), data)
		if !syncAllowed(data) {
			checkHandshakeReplies(t, data, reply)
		}
		poll(t, 5*time.Second, "the primary to forget the connection", func() bool {
			return len(p.Info().Replicas) == 0
		})
		if runs%500 == 1 {
			replicaSyncs(t, mn.Dialer("p"), p)
		}
	})
}

// exchange sends data on a new connection, half-closes it and returns
// everything the other side sent until it closed the connection.
func exchange(t *testing.T, d transport.Dialer, data []byte) []byte {
	t.Helper()
	c, err := d.Dial(context.Background())
	must(t, err)
	defer c.Close()
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		c.Write(data) // fails when the server hangs up first
		c.(interface{ CloseWrite() error }).CloseWrite()
	}()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	reply, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("the server did not close the connection: %v (sent %q, got %q)", err, truncate(string(data), 200), truncate(string(reply), 200))
	}
	<-wrote
	return reply
}

// syncAllowed reports whether data authenticates with fuzzPassword and
// then sends PSYNC or SYNC, as far as a primary reads it. It may say yes
// when the primary refuses (a wrong user name), never the other way.
func syncAllowed(data []byte) bool {
	rd := resp.NewReader(bytes.NewReader(data), handshakeLimits)
	authed := false
	for {
		cmd, err := rd.ReadCommand()
		if err != nil {
			return false
		}
		if cmd.Empty {
			continue
		}
		switch name := strings.ToUpper(string(cmd.Args[0])); {
		case name == "AUTH" && string(cmd.Args[len(cmd.Args)-1]) == fuzzPassword:
			authed = true
		case name == "QUIT":
			return false
		case (name == "PSYNC" || name == "SYNC") && authed:
			return true
		}
	}
}

// checkHandshakeReplies checks that reply is only handshake reply lines.
func checkHandshakeReplies(t *testing.T, data, reply []byte) {
	t.Helper()
	if len(reply) > 0 && !bytes.HasSuffix(reply, []byte("\r\n")) {
		t.Fatalf("reply %q to %q does not end with a line", reply, data)
	}
	for _, line := range strings.Split(strings.TrimSuffix(string(reply), "\r\n"), "\r\n") {
		switch {
		case line == "" && len(reply) == 0:
		case line == "+PONG" || line == "+OK":
		case strings.HasPrefix(line, "-") && !strings.ContainsAny(line, "\r\n"):
		default:
			t.Fatalf("line %q in the reply to %q, which did not authenticate then sync", line, data)
		}
	}
}

// replicaSyncs checks that a real replica can sync with p and converge.
func replicaSyncs(t *testing.T, d transport.Dialer, p *Store) {
	t.Helper()
	cfg := fastConfig()
	cfg.Shards = 4
	cfg.MasterAuth = fuzzPassword
	r := newStore(t, cfg)
	must(t, r.ReplicaOf(d))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.WaitSynced(ctx); err != nil {
		t.Fatalf("a replica could not sync after the fuzz input: %v (%s)", err, r.Info().Master.LastErr)
	}
	if d := cmp.Diff(dump(p), dump(r)); d != "" {
		t.Fatalf("replica differs (-primary +replica):\n%s", d)
	}
	must(t, r.Close())
}

// FuzzReplicaHandshake answers a replica's handshake normally and its
// PSYNC with arbitrary bytes, then hangs up. The replica never panics,
// reconnects, asks to continue from exactly where its data is, and keeps
// that data unchanged unless it accepted a resync.
func FuzzReplicaHandshake(f *testing.F) {
	mn := transport.NewMemNetwork()
	fp := newFakePrimary(f, mn, "p")
	preload, _, _, _ := snapshotOf(f, 9, 50)
	cfg := fastConfig()
	cfg.Shards = 4
	cfg.ReconnectMin, cfg.ReconnectMax = time.Millisecond, time.Millisecond
	cfg.ReplTimeout = time.Hour // the held connection waits while the fuzzer pauses
	r := newStore(f, cfg)
	_, err := r.LoadSnapshot(context.Background(), bytes.NewReader(preload), LoadOptions{})
	must(f, err)
	want := dump(r)
	must(f, r.ReplicaOf(mn.Dialer("p")))
	pc := fp.next(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		m := r.Info().Master
		replid, off := r.Position()
		pc.expectPSync(t, replid, off)
		drained := pc.drain()
		pc.offer(data)
		pc.hangUp(t, drained)
		pc = fp.next(t) // it retries
		after := r.Info().Master
		if after.LastErr == "" || after.LinkStatus == LinkUp {
			t.Fatalf("link %v, error %q after the primary hung up", after.LinkStatus, after.LastErr)
		}
		if after.FullSyncs != m.FullSyncs || after.PartialSyncs != m.PartialSyncs {
			// It accepted a resync: start the next input from the preload.
			// (as its link would: LoadSnapshot refuses on a replica)
			_, err := r.loadSnapshot(context.Background(), bytes.NewReader(preload), LoadOptions{}, nil, nil, false)
			must(t, err)
			return
		}
		if d := cmp.Diff(want, dump(r)); d != "" {
			t.Fatalf("data changed without a resync (-before +after):\n%s", d)
		}
	})
}
