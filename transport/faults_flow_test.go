package transport_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/replikv/replikv/transport"
)

// TestFaultsStallReads stalls p→r1: r1 stops reading, so p's writes block
// once the buffer is full; Resume lets everything through.
func TestFaultsStallReads(t *testing.T) {
	fn := newFaultNet(t, 1, transport.WithMemBuffer(64))
	c, s := fn.connect("r1")
	fn.f.Stall("p", "r1")
	got := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(c, 200))
		got <- string(b)
	}()
	s.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
	msg := strings.Repeat("x", 200)
	n, err := s.Write([]byte(msg))
	if n != 64 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Write to a stalled reader = %d, %v; want 64 (the buffer), deadline exceeded", n, err)
	}
	fn.f.Resume("p", "r1")
	s.SetWriteDeadline(time.Time{})
	if _, err := s.Write([]byte(msg[n:])); err != nil {
		t.Fatalf("Write after Resume: %v", err)
	}
	if g := <-got; g != msg {
		t.Fatalf("read %d bytes after Resume, want %d", len(g), len(msg))
	}
}

// TestFaultsStallWrites stalls r1→p: r1's writes wait, even though p reads.
func TestFaultsStallWrites(t *testing.T) {
	fn := newFaultNet(t, 1)
	c, s := fn.connect("r1")
	fn.f.Stall(transport.Any, "p")
	c.SetWriteDeadline(time.Now().Add(30 * time.Millisecond))
	if n, err := c.Write([]byte("held")); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("stalled Write = %d, %v; want 0, deadline exceeded", n, err)
	}
	c.SetWriteDeadline(time.Time{})
	done := make(chan error, 1)
	go func() {
		_, err := c.Write([]byte("released"))
		done <- err
	}()
	fn.f.Heal(transport.Any, "p")
	if err := <-done; err != nil {
		t.Fatalf("Write after Heal: %v", err)
	}
	b := make([]byte, 8)
	if _, err := io.ReadFull(s, b); err != nil || string(b) != "released" {
		t.Fatalf("read %q, %v; want \"released\"", b, err)
	}
}

// TestFaultsStallEnds checks that a stalled call returns when its deadline
// moves, when the conn is closed, and when it is cut.
func TestFaultsStallEnds(t *testing.T) {
	fn := newFaultNet(t, 1)
	fn.f.Stall("p", "r1")
	for _, tc := range []struct {
		name string
		end  func(c net.Conn)
		want error
	}{
		{"deadline", func(c net.Conn) { c.SetReadDeadline(time.Now()) }, os.ErrDeadlineExceeded},
		{"close", func(c net.Conn) { c.Close() }, net.ErrClosed},
		{"cut", func(net.Conn) { fn.f.Cut("p", "r1") }, transport.ErrCut},
	} {
		c, s := fn.connect("r1")
		s.Write([]byte("waiting"))
		// The data is there, yet the stalled Read waits for its deadline.
		c.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
		if n, err := c.Read(make([]byte, 8)); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("%s: stalled Read = %d, %v; want deadline exceeded", tc.name, n, err)
		}
		c.SetReadDeadline(time.Time{})
		done := make(chan error, 1)
		go func() {
			_, err := c.Read(make([]byte, 8))
			done <- err
		}()
		tc.end(c)
		select {
		case err := <-done:
			if !errors.Is(err, tc.want) {
				t.Errorf("%s: stalled Read returned %v; want %v", tc.name, err, tc.want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: stalled Read did not return", tc.name)
		}
	}
}

func TestFaultsDelay(t *testing.T) {
	fn := newFaultNet(t, 1)
	c, s := fn.connect("r1")
	const d = 20 * time.Millisecond
	for _, tc := range []struct {
		name     string
		from, to string
		w, r     net.Conn
	}{
		{"write side", "r1", "p", c, s},
		{"read side", "p", "r1", s, c},
	} {
		fn.f.Delay(tc.from, tc.to, d, 0)
		start := time.Now()
		if _, err := tc.w.Write([]byte("ping")); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(tc.r, make([]byte, 4)); err != nil {
			t.Fatal(err)
		}
		if el := time.Since(start); el < d {
			t.Errorf("%s: a %v delay delivered after %v", tc.name, d, el)
		}
		fn.f.Delay(tc.from, tc.to, 0, 0)
	}
}

// TestFaultsDelayKeepsOrder sends many small writes through a jittered
// delay in both directions; every byte arrives in order.
func TestFaultsDelayKeepsOrder(t *testing.T) {
	fn := newFaultNet(t, 1)
	c, s := fn.connect("r1")
	fn.f.Delay("r1", "p", 0, 2*time.Millisecond)
	fn.f.Delay("p", "r1", 0, 2*time.Millisecond)
	var want strings.Builder
	for i := range 50 {
		fmt.Fprintf(&want, "%03d,", i)
	}
	echo := make(chan error, 1)
	go func() {
		_, err := io.Copy(s, s)
		echo <- err
	}()
	go func() {
		for i := range 50 {
			fmt.Fprintf(c, "%03d,", i)
		}
	}()
	got := make([]byte, want.Len())
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("reading the echo: %v", err)
	}
	if string(got) != want.String() {
		t.Fatalf("bytes reordered:\n got %s\nwant %s", got, want.String())
	}
	c.Close()
	<-echo
}
