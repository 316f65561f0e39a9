package server

import (
	"bytes"
	"net"
	"testing"
	"time"
)

// TestConnReaderFlushesOncePerPipeline: a pipeline larger than the first
// read's buffer is read to its end before the replies are written (one
// beforeRead, so one write, per pipeline); a read that has to wait writes
// them first.
func TestConnReaderFlushesOncePerPipeline(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	peer, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	conn, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
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
