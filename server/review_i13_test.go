package server

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/replikv/replikv"
	"github.com/replikv/replikv/resp"
)

// TestHandoffKeepsSpilledBytes: a replica that pipelines its handshake,
// PSYNC and a run of REPLCONF ACKs in one write (larger than the client's
// idle buffer, so the ACKs wait in the connection's spill when the
// connection goes to the store) has every ACK read by the store, in
// order: the last one is the replica's offset.
func TestHandoffKeepsSpilledBytes(t *testing.T) {
	n := startNode(t, replikv.Config{}, Config{})
	for i := range 200 {
		if err := n.store.Set(fmt.Sprint("k", i), []byte("value")); err != nil {
			t.Fatal(err)
		}
	}
	in := n.store.Info()
	end := in.Offset
	r := n.raw(t)
	var b []byte
	b = resp.AppendCommandString(b, "REPLCONF", "listening-port", "4242")
	b = resp.AppendCommandString(b, "REPLCONF", "capa", "eof", "capa", "psync2")
	b = resp.AppendCommandString(b, "PSYNC", in.ReplID, strconv.FormatInt(end, 10))
	const acks = 80
	for i := range acks {
		b = resp.AppendCommandString(b, "REPLCONF", "ACK", strconv.FormatInt(end-acks+1+int64(i), 10))
	}
	if len(b) <= 2*readBufSize {
		t.Fatalf("the pipeline is %d bytes: make it larger than the idle buffer", len(b))
	}
	if _, err := r.c.Write(b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"+OK", "+OK"} {
		if got := r.read(); got != want {
			t.Fatalf("handshake reply %q, want %q", got, want)
		}
	}
	line, err := r.rd.ReadLine()
	if err != nil || string(line) != "+CONTINUE "+in.ReplID {
		t.Fatalf("PSYNC reply %q (%v), want +CONTINUE", line, err)
	}
	eventually(t, "the replica's last ACK", func() bool {
		rs := n.store.Info().Replicas
		return len(rs) == 1 && rs[0].Offset == end
	})
}
