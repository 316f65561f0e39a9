package server

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"testing"

	"github.com/replikv/replikv"
	"github.com/replikv/replikv/resp"
)

// benchPipeline sends batches of 100 pipelined GETs on each of a few
// connections in parallel and reads the replies: the server's cost per
// command, network included, what the per-command accounting (INFO
// commandstats, latencystats) adds to.
func benchPipeline(b *testing.B, cmd []string) {
	n := startNode(b, replikv.Config{}, Config{})
	if err := n.store.Set("key", []byte("value")); err != nil {
		b.Fatal(err)
	}
	const batch = 100
	one := resp.AppendCommandString(nil, cmd...)
	req := bytes.Repeat(one, batch)
	b.SetParallelism(2)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c, err := net.Dial("tcp", n.addr)
		if err != nil {
			b.Error(err)
			return
		}
		defer c.Close()
		rd := resp.NewReader(bufio.NewReader(c), resp.Limits{})
		for pb.Next() {
			if _, err := c.Write(req); err != nil {
				b.Error(err)
				return
			}
			for range batch {
				if _, err := rd.ReadReply(); err != nil && err != io.EOF {
					b.Error(err)
					return
				}
			}
		}
	})
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/cmd")
}

func BenchmarkServerGet(b *testing.B)  { benchPipeline(b, []string{"GET", "key"}) }
func BenchmarkServerSet(b *testing.B)  { benchPipeline(b, []string{"SET", "key", "value"}) }
func BenchmarkServerPing(b *testing.B) { benchPipeline(b, []string{"PING"}) }

// BenchmarkCommandAccounting is what the per-command accounting adds to
// each command: "counters" updates the counters of one hot command (GET)
// from every core at once, the worst case for shared counters; "clock"
// adds the two clock readings around the command.
func BenchmarkCommandAccounting(b *testing.B) {
	cs := newCommandStats()
	get := commands["get"]
	b.Run("counters", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				cs.called(get, 1500, false)
			}
		})
	})
	b.Run("clock", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				start := monoNow()
				cs.called(get, monoNow()-start, false)
			}
		})
	})
}
