package replikv

import (
	"encoding/json"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/replikv/replikv/resp"
	"github.com/replikv/replikv/transport"
)

// transcript is a capture of what a real redis-server 7.0.15 master sent
// a replica (testdata/wire_master_to_replica_*.json, from shared/).
type transcript struct {
	ReplicaSent []string `json:"replica_sent_in_order"`
	RDBKeys     []string `json:"rdb_keys"`
	Segments    []struct {
		Kind        string   `json:"kind"`
		Start       int      `json:"start"`
		End         int      `json:"end"`
		Argv        []string `json:"argv"`
		OffsetAfter int64    `json:"repl_offset_after"`
	} `json:"segments"`
}

// TestReplicaAgainstRecordedMaster replays a real master's bytes into our
// replica and checks that it sends exactly what the real replica sent:
// the handshake, the ACK right after an EOF-framed snapshot, and
// REPLCONF ACK with the pre-GETACK offset.
func TestReplicaAgainstRecordedMaster(t *testing.T) {
	for _, name := range []string{"wire_master_to_replica_disk", "wire_master_to_replica_diskless"} {
		t.Run(name, func(t *testing.T) {
			bin, err := os.ReadFile("testdata/" + name + ".bin")
			must(t, err)
			js, err := os.ReadFile("testdata/" + name + ".json")
			must(t, err)
			var tr transcript
			must(t, json.Unmarshal(js, &tr))
			port, err := strconv.Atoi(strings.Split(tr.ReplicaSent[1], "\r\n")[6])
			must(t, err)

			mn := transport.NewMemNetwork()
			l, err := mn.Listen("master")
			must(t, err)
			cfg := fastConfig()
			cfg.AckPeriod = time.Hour // only the ACKs the protocol demands
			cfg.ReplTimeout = 2 * time.Hour
			cfg.ListeningPort = port
			// The capture's deadlines are absolute: read it at the time it was made.
			cfg.Now = func() time.Time { return time.UnixMilli(1795237000000) }
			r := newStore(t, cfg)
			must(t, r.ReplicaOf(mn.Dialer("master")))
			conn, err := l.Accept()
			must(t, err)
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			rd := resp.NewReader(conn, resp.Limits{})
			var got []string
			readOne := func() {
				cmd, err := rd.ReadCommand()
				if err != nil {
					t.Fatalf("reading from the replica after %q: %v", got, err)
				}
				got = append(got, string(cmd.Raw))
			}
			// The handshake: one reply per command, in turn.
			pos := 0
			for _, seg := range tr.Segments {
				if seg.Kind != "reply" {
					break
				}
				readOne()
				conn.Write(bin[seg.Start:seg.End])
				pos = seg.End
			}
			readOne() // PSYNC
			conn.Write(bin[pos:])
			for len(got) < len(tr.ReplicaSent) {
				readOne()
			}
			if d := cmp.Diff(tr.ReplicaSent, got); d != "" {
				t.Fatalf("replica sent (-real replica +ours):\n%s", d)
			}
			last := tr.Segments[len(tr.Segments)-1].OffsetAfter
			deadline := time.Now().Add(5 * time.Second)
			for {
				if _, off := r.Position(); off == last {
					break
				} else if time.Now().After(deadline) {
					t.Fatalf("replica offset %d, want %d", off, last)
				}
				time.Sleep(time.Millisecond)
			}
			for _, k := range tr.RDBKeys {
				if _, err := r.Get(k); err != nil {
					t.Errorf("snapshot key %q: %v", k, err)
				}
			}
			if v, err := r.Get("w"); err != nil || string(v) != "1" {
				t.Errorf("w = %q, %v", v, err)
			}
			if _, err := r.Get("k"); !errors.Is(err, ErrNotFound) {
				t.Errorf("k was deleted by the stream: %v", err)
			}
			if dl, ok := r.ExpireTime("t"); !ok || dl.IsZero() {
				t.Errorf("t: deadline %v, exists %v", dl, ok)
			}
		})
	}
}
