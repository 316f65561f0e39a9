package main

import (
	"bufio"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestBinaryOutOfDescriptors is issue 9's defect 3 and its acceptance
// test: under a limit of 256 open files the binary lowers maxclients to
// fit (as Redis does), stays up under 1,000 connection attempts, and
// answers the ones over its limit with "max number of clients reached".
func TestBinaryOutOfDescriptors(t *testing.T) {
	bin := buildBinary(t)
	if _, err := exec.LookPath("prlimit"); err != nil {
		t.Skip("needs prlimit")
	}
	n := startCmd(t, exec.Command("prlimit", "--nofile=256:256", bin, "--port", "0"))
	var open []net.Conn
	defer func() {
		for _, c := range open {
			c.Close()
		}
	}()
	accepted, refused := 0, 0
	for i := range 1000 {
		c, err := net.Dial("tcp", n.addr)
		if err != nil {
			t.Fatalf("attempt %d: %v", i, err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write([]byte("PING\r\n")); err != nil {
			t.Fatalf("attempt %d: %v", i, err)
		}
		line, err := bufio.NewReader(c).ReadString('\n')
		switch {
		case line == "+PONG\r\n":
			accepted++
			c.SetDeadline(time.Time{})
			open = append(open, c) // hold it: the clients add up
		case line == "-ERR max number of clients reached\r\n":
			refused++
			c.Close()
		default:
			t.Fatalf("attempt %d (%d accepted, %d refused): %q, %v", i, accepted, refused, line, err)
		}
	}
	t.Logf("ulimit -n 256: %d of 1000 connections accepted, %d answered \"max number of clients reached\"", accepted, refused)
	if accepted != 256-reservedFDs || refused != 1000-accepted {
		t.Errorf("%d accepted, %d refused; want %d accepted (256 minus %d reserved)", accepted, refused, 256-reservedFDs, reservedFDs)
	}
	for _, c := range open {
		c.Close()
	}
	open = nil
	// Still up, and the freed places can be used again.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", n.addr)
		if err != nil {
			t.Fatalf("after the attempts: %v", err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		c.Write([]byte("PING\r\n"))
		line, _ := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if line == "+PONG\r\n" {
			break
		}
		if time.Now().After(deadline) || !strings.Contains(line, "max number of clients") {
			t.Fatalf("PING after the attempts: %q", line)
		}
	}
	warned := false
	for len(n.logs) > 0 && !warned {
		warned = strings.Contains(<-n.logs, "maxclients reduced")
	}
	if !warned {
		t.Error("no log line says maxclients was reduced")
	}
	n.stop(t)
}
