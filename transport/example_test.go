package transport_test

import (
	"bufio"
	"context"
	"fmt"
	"log"
	"net"

	"github.com/replikv/replikv/transport"
)

// A primary and a replica in one process, talking over a MemNetwork.
func ExampleMemNetwork() {
	network := transport.NewMemNetwork()
	l, err := network.Listen("primary")
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()

	// The primary answers one line.
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		line, _ := bufio.NewReader(c).ReadString('\n')
		fmt.Fprintf(c, "+PONG (got %q)\n", line)
	}()

	d := network.Dialer("primary")
	c, err := d.Dial(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	fmt.Fprint(c, "PING\n")
	reply, _ := bufio.NewReader(c).ReadString('\n')
	fmt.Print(reply)
	fmt.Println(d, network.Conns("primary"))

	host, port := transport.HostPort(d)
	fmt.Printf("master_host:%s master_port:%d\n", host, port)
	// Output:
	// +PONG (got "PING\n")
	// mem:primary 1
	// master_host:mem:primary master_port:0
}

// A replica dialing its primary over TCP on loopback.
func ExampleTCP() {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		fmt.Fprint(c, "+OK\r\n")
	}()

	d := transport.TCP(l.Addr().String())
	c, err := d.Dial(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	reply, _ := bufio.NewReader(c).ReadString('\n')
	fmt.Printf("%q\n", reply)

	host, _ := transport.HostPort(d)
	fmt.Println(host)
	// Output:
	// "+OK\r\n"
	// 127.0.0.1
}
