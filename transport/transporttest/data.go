package transporttest

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"testing"

	"github.com/replikv/replikv/transport"
)

// streamSize is how many bytes the data tests push through each direction.
const streamSize = 1 << 20

// randomBytes returns n bytes determined by seed.
func randomBytes(seed uint64, n int) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16)})
	r.Read(b)
	return b
}

// writeChunks writes data in chunks of random sizes (1 byte to 64 KiB).
func writeChunks(w io.Writer, data []byte, seed uint64) error {
	r := rand.New(rand.NewPCG(seed, 1))
	for len(data) > 0 {
		n := min(len(data), 1+r.IntN(64<<10))
		if _, err := w.Write(data[:n]); err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

// readDigest reads exactly n bytes and returns their SHA-256.
func readDigest(r io.Reader, n int) ([sha256.Size]byte, error) {
	h := sha256.New()
	var sum [sha256.Size]byte
	if got, err := io.CopyN(h, r, int64(n)); err != nil {
		return sum, fmt.Errorf("after %d of %d bytes: %w", got, n, err)
	}
	copy(sum[:], h.Sum(nil))
	return sum, nil
}

func testDialAccept(t *testing.T, l net.Listener, d transport.Dialer) {
	c, s := connect(t, l, d)
	for _, a := range []net.Addr{c.LocalAddr(), c.RemoteAddr(), s.LocalAddr(), s.RemoteAddr()} {
		if a == nil || a.Network() == "" || a.String() == "" {
			t.Fatalf("connection address %v is empty", a)
		}
	}
	if got, want := s.LocalAddr().Network(), l.Addr().Network(); got != want {
		t.Errorf("accepted conn network %q, listener network %q", got, want)
	}
	exchange(t, c, s, "ping")
	exchange(t, s, c, "pong")
}

// exchange writes msg on from and checks that to reads exactly msg.
func exchange(t *testing.T, from, to net.Conn, msg string) {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		_, err := from.Write([]byte(msg))
		errc <- err
	}()
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(to, got); err != nil {
		t.Fatalf("reading %q: %v", msg, err)
	}
	if err := within(t, "Write", errc); err != nil {
		t.Fatalf("writing %q: %v", msg, err)
	}
	if string(got) != msg {
		t.Fatalf("read %q, want %q", got, msg)
	}
}

func testConcurrentConns(t *testing.T, l net.Listener, d transport.Dialer) {
	const n = 8
	type pair struct{ c, s net.Conn }
	pairs := make([]pair, n)
	for i := range pairs {
		pairs[i].c, pairs[i].s = connect(t, l, d)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i, p := range pairs {
		msg := []byte(fmt.Sprintf("conn %d says hello", i))
		wg.Add(2)
		go func() {
			defer wg.Done()
			if _, err := p.c.Write(msg); err != nil {
				errs <- err
			}
		}()
		go func() {
			defer wg.Done()
			got := make([]byte, len(msg))
			if _, err := io.ReadFull(p.s, got); err != nil {
				errs <- err
			} else if !bytes.Equal(got, msg) {
				errs <- fmt.Errorf("conn %d: read %q, want %q", i, got, msg)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// testEcho sends random data through a server that echoes it back, with the
// client writing and reading concurrently.
func testEcho(t *testing.T, l net.Listener, d transport.Dialer) {
	c, s := connect(t, l, d)
	echoed := make(chan error, 1)
	go func() {
		_, err := io.Copy(s, s)
		echoed <- err
	}()
	data := randomBytes(1, streamSize)
	wrote := make(chan error, 1)
	go func() { wrote <- writeChunks(c, data, 2) }()
	got, err := readDigest(c, len(data))
	if err != nil {
		t.Fatalf("reading the echo: %v", err)
	}
	if err := within(t, "writing", wrote); err != nil {
		t.Fatalf("writing: %v", err)
	}
	if want := sha256.Sum256(data); got != want {
		t.Fatal("echoed data differs from the data sent")
	}
	c.Close()
	within(t, "echo server after client Close", echoed)
}

// testFullDuplex has both ends send independent random streams at once.
func testFullDuplex(t *testing.T, l net.Listener, d transport.Dialer) {
	c, s := connect(t, l, d)
	up, down := randomBytes(3, streamSize), randomBytes(4, streamSize)
	errs := make(chan error, 4)
	go func() { errs <- writeChunks(c, up, 5) }()
	go func() { errs <- writeChunks(s, down, 6) }()
	check := func(r io.Reader, want []byte, dir string) {
		sum, err := readDigest(r, len(want))
		if err == nil && sum != sha256.Sum256(want) {
			err = fmt.Errorf("%s: data received differs from data sent", dir)
		}
		errs <- err
	}
	go check(s, up, "client to server")
	go check(c, down, "server to client")
	for range 4 {
		if err := within(t, "full-duplex transfer", errs); err != nil {
			t.Error(err)
		}
	}
}

// testLargeWrite checks that one Write far larger than any buffer completes
// and reports every byte.
func testLargeWrite(t *testing.T, l net.Listener, d transport.Dialer) {
	c, s := connect(t, l, d)
	data := randomBytes(7, 3*streamSize)
	type result struct {
		n   int
		err error
	}
	wrote := make(chan result, 1)
	go func() {
		n, err := c.Write(data)
		wrote <- result{n, err}
	}()
	sum, err := readDigest(s, len(data))
	if err != nil {
		t.Fatalf("reading: %v", err)
	}
	r := within(t, "large Write", wrote)
	if r.err != nil || r.n != len(data) {
		t.Fatalf("Write(%d bytes) = %d, %v", len(data), r.n, r.err)
	}
	if sum != sha256.Sum256(data) {
		t.Fatal("data received differs from data sent")
	}
}
