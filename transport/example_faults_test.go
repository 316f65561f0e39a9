package transport_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/replikv/replikv/transport"
)

// A test network of a primary "p" and a replica "r1", with a partition
// between them and then a cut after a byte budget.
func ExampleFaults() {
	network := transport.NewMemNetwork()
	faults := transport.NewFaults(1)
	raw, err := network.Listen("p")
	if err != nil {
		log.Fatal(err)
	}
	l := faults.Listener("p", raw)
	defer l.Close()
	r1 := faults.Dialer("r1", "p", network.Dialer("p"))

	faults.Partition("r1", "p")
	_, err = r1.Dial(context.Background())
	fmt.Println("partitioned:", errors.Is(err, transport.ErrPartitioned))
	faults.Heal("r1", "p")

	faults.CutAfter("r1", "p", 4) // r1 may send 4 bytes per connection
	c, err := r1.Dial(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	s, err := l.Accept()
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	n, err := c.Write([]byte("PING\r\n"))
	fmt.Println("wrote", n, "cut:", errors.Is(err, transport.ErrCut))
	buf := make([]byte, 16)
	n, _ = s.Read(buf)
	fmt.Printf("primary read %q\n", buf[:n])
	_, err = s.Read(buf)
	fmt.Println("then cut:", errors.Is(err, transport.ErrCut))
	// Output:
	// partitioned: true
	// wrote 4 cut: true
	// primary read "PING"
	// then cut: true
}
