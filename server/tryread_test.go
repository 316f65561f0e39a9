package server

import (
	"bytes"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/replikv/replikv"
	"github.com/replikv/replikv/resp"
)

// TestConnReaderFlushesOncePerPipeline: a pipeline larger than the first
// read's buffer is read to its end before the replies are written (one
// beforeRead, so one write, per pipeline); a read that has to wait writes
// them first.
func TestConnReaderFlushesOncePerPipeline(t *testing.T) {
	peer, conn := loopbackPair(t)
	flushes := 0
	r := &connReader{conn: conn, raw: rawConnOf(conn), beforeRead: func() error { flushes++; return nil }}
	if r.raw == nil {
		t.Skip("no raw connection on this platform")
	}
	pipeline := bytes.Repeat([]byte("PING\r\n"), 400) // 2400 bytes
	if _, err := peer.Write(pipeline); err != nil {
		t.Fatal(err)
	}
	var got []byte
	small := make([]byte, 512)
	for len(got) < 512 { // the first read waits for the pipeline
		n, err := r.Read(small[len(got):])
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, small[len(got):len(got)+n]...)
	}
	before := flushes
	big := make([]byte, 64<<10)
	for len(got) < len(pipeline) {
		n, err := r.Read(big)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, big[:n]...)
	}
	if !bytes.Equal(got, pipeline) {
		t.Fatal("read other bytes than the pipeline")
	}
	if flushes != before {
		t.Errorf("%d flushes while the rest of the pipeline was in, want none", flushes-before)
	}
	// Nothing more is in: the next read writes the replies, then waits.
	done := make(chan int)
	go func() {
		n, _ := r.Read(big)
		done <- n
	}()
	time.AfterFunc(50*time.Millisecond, func() { peer.Write([]byte("PING\r\n")) })
	if n := <-done; n != 6 {
		t.Fatalf("read %d bytes, want 6", n)
	}
	if flushes != before+1 {
		t.Errorf("%d flushes before a read that waited, want 1", flushes-before)
	}
}

// TestConnReaderOneReadPerPipeline: a pipeline larger than the reader's
// small buffer comes in with one read system call (into a shared 16 KB
// buffer); the rest waits in spill, is returned before anything read
// later, and the shared buffer is given back once it is used up, so an
// idle client holds none.
func TestConnReaderOneReadPerPipeline(t *testing.T) {
	peer, conn := loopbackPair(t)
	r := &connReader{conn: conn, raw: rawConnOf(conn)}
	if r.raw == nil {
		t.Skip("no raw connection on this platform")
	}
	pipeline := bytes.Repeat([]byte("PING\r\n"), 400) // 2400 bytes
	if _, err := peer.Write(pipeline); err != nil {
		t.Fatal(err)
	}
	small := make([]byte, 512)
	n, err := r.Read(small)
	if err != nil || n != len(small) {
		t.Fatalf("first read: %d, %v; want %d bytes", n, err, len(small))
	}
	// On loopback the whole write is in the socket once the read wakes.
	if len(r.spill) != len(pipeline)-n || r.spillBuf == nil || !r.full {
		t.Fatalf("after the first read: %d bytes spilled (want %d), full %v", len(r.spill), len(pipeline)-n, r.full)
	}
	got := append([]byte(nil), small[:n]...)
	// Bytes the peer sends now come after the spilled ones.
	later := []byte("ECHO\r\n")
	if _, err := peer.Write(later); err != nil {
		t.Fatal(err)
	}
	want := append(append([]byte(nil), pipeline...), later...)
	for len(got) < len(want) {
		n, err := r.Read(small[:100])
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, small[:n]...)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("bytes out of order or lost")
	}
	if r.spill != nil || r.spillBuf != nil {
		t.Fatalf("the shared buffer is still held after its bytes were read (%d left)", len(r.spill))
	}
}

// TestBlockedClientKeepsSpilledBytesInOrder: a client that blocks in WAIT
// with the rest of its pipeline still in the spill, and sends more while
// it waits, gets every reply, in order.
func TestBlockedClientKeepsSpilledBytesInOrder(t *testing.T) {
	n := startNode(t, replikv.Config{}, Config{})
	r := n.raw(t)
	var b []byte
	for i := range 30 {
		b = resp.AppendCommandString(b, "SET", fmt.Sprintf("before:%02d", i), strings.Repeat("v", 20))
	}
	b = resp.AppendCommandString(b, "WAIT", "1", "200") // no replica: waits 200 ms
	for i := range 30 {
		b = resp.AppendCommandString(b, "SET", fmt.Sprintf("after:%02d", i), fmt.Sprint(i))
	}
	if len(b) <= 2*readBufSize {
		t.Fatalf("the pipeline is %d bytes: make it larger than the idle buffer", len(b))
	}
	if _, err := r.c.Write(b); err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		if got := r.read(); got != "+OK" {
			t.Fatalf("reply %d before WAIT = %q", i, got)
		}
	}
	// WAIT is blocked now, or about to be: send more behind it.
	var more []byte
	for i := range 30 {
		more = resp.AppendCommandString(more, "GET", fmt.Sprintf("after:%02d", i))
	}
	if _, err := r.c.Write(more); err != nil {
		t.Fatal(err)
	}
	if got := r.read(); got != ":0" {
		t.Fatalf("WAIT = %q, want 0", got)
	}
	for i := range 30 {
		if got := r.read(); got != "+OK" {
			t.Fatalf("reply %d after WAIT = %q", i, got)
		}
	}
	for i := range 30 {
		if got := r.read(); got != fmt.Sprintf("%q", fmt.Sprint(i)) {
			t.Fatalf("GET after:%02d = %q, want %d", i, got, i)
		}
	}
}

// loopbackPair returns both ends of a TCP connection on loopback, closed
// when the test ends.
func loopbackPair(t *testing.T) (peer, conn net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	peer, err = net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { peer.Close() })
	conn, err = l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return peer, conn
}
