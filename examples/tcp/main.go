// Command tcp runs a primary and a replica as two processes over TCP on
// loopback.
//
//	go run ./examples/tcp                       # both: a primary here, a replica as a child process
//	go run ./examples/tcp -role primary -listen 127.0.0.1:7379
//	go run ./examples/tcp -role replica -primary 127.0.0.1:7379 -for 5s
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"time"

	"github.com/replikv/replikv"
	"github.com/replikv/replikv/transport"
)

func main() {
	role := flag.String("role", "", `"primary", "replica", or empty to run both`)
	listen := flag.String("listen", "127.0.0.1:0", "address the primary listens on")
	primaryAddr := flag.String("primary", "", "address of the primary (replica role)")
	runFor := flag.Duration("for", 3*time.Second, "how long the replica runs")
	flag.Parse()
	var err error
	switch *role {
	case "primary":
		err = runPrimary(*listen, nil)
	case "replica":
		err = runReplica(*primaryAddr, *runFor)
	case "":
		err = runBoth(*listen)
	default:
		err = fmt.Errorf("unknown role %q", *role)
	}
	if err != nil {
		log.Fatal(err)
	}
}

// runPrimary serves replicas on addr and writes a counter ten times a
// second until interrupted (or until stop is closed).
func runPrimary(addr string, stop <-chan struct{}) error {
	s, err := replikv.New(replikv.Config{})
	if err != nil {
		return err
	}
	defer s.Close()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Printf("primary: serving replicas on %s\n", l.Addr())
	go s.Serve(l)
	return writeLoop(s, stop)
}

func writeLoop(s *replikv.Store, stop <-chan struct{}) error {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt)
	defer signal.Stop(sig)
	for i := 0; i < 1000; i++ {
		if err := s.Set(fmt.Sprintf("item:%03d", i), []byte(time.Now().Format(time.RFC3339Nano))); err != nil {
			return err
		}
	}
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-sig:
			return nil
		case <-stop:
			return nil
		case <-t.C:
			if _, err := s.IncrBy("ticks", 1); err != nil {
				return err
			}
		}
	}
}

// runReplica follows the primary at addr for a while and reports.
func runReplica(addr string, d time.Duration) error {
	s, err := replikv.New(replikv.Config{})
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.ReplicaOf(transport.TCP(addr)); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.WaitSynced(ctx); err != nil {
		return fmt.Errorf("replica: %w", err)
	}
	in := s.Info()
	fmt.Printf("replica (pid %d): synced with %s:%d, %d keys at offset %d\n", os.Getpid(), in.Master.Host, in.Master.Port, in.Keys, in.Offset)
	deadline := time.After(d)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-deadline:
			return nil
		case <-t.C:
			ticks, _ := s.Get("ticks")
			in := s.Info()
			fmt.Printf("replica: ticks=%s offset=%d link=%s last I/O %v ago\n", ticks, in.Offset, in.Master.LinkStatus, in.Master.LastIO.Round(time.Millisecond))
		}
	}
}

// runBoth runs the primary here and a replica as a child process.
func runBoth(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	s, err := replikv.New(replikv.Config{})
	if err != nil {
		return err
	}
	defer s.Close()
	fmt.Printf("primary (pid %d): serving replicas on %s\n", os.Getpid(), l.Addr())
	go s.Serve(l)
	self, err := os.Executable()
	if err != nil {
		return err
	}
	child := exec.Command(self, "-role", "replica", "-primary", l.Addr().String(), "-for", "3s")
	child.Stdout, child.Stderr = os.Stdout, os.Stderr
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- writeLoop(s, stop) }()
	err = child.Run()
	close(stop)
	if werr := <-done; err == nil {
		err = werr
	}
	in := s.Info()
	fmt.Printf("primary: offset %d, full syncs served %d\n", in.Offset, in.SyncFull)
	return err
}
