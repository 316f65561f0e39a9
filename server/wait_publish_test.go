//go:build unix

package server

import (
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/replikv/replikv"
)

// TestWaitCoversPublish: PUBLISH is propagated to replicas, so a WAIT
// after it waits for them to have it, as in Redis 7.0. A real Redis
// replica is stopped (SIGSTOP) after it acknowledged the client's last
// SET: WAIT after a PUBLISH must then time out with 0, and count the
// replica once it runs again. Before, WAIT took the offset of the last
// write command, which the replica had, and answered 1 at once.
func TestWaitCoversPublish(t *testing.T) {
	n := startNode(t, replikv.Config{}, Config{})
	host, port, _ := strings.Cut(n.addr, ":")
	rc := startRedis(t, "--replicaof", host, port)
	c := n.client(t, nil)
	ctx := ctx(t)
	eventually(t, "the Redis replica to sync", func() bool {
		return infoField(rc.Info(ctx, "replication").Val(), "master_link_status") == "up"
	})
	pid, err := strconv.Atoi(infoField(rc.Info(ctx, "server").Val(), "process_id"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Do(ctx, "WAIT", "1", "5000").Result(); got != int64(1) {
		t.Fatalf("WAIT after SET = %v, %v; want 1", got, err)
	}
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := true
	defer func() {
		if stopped {
			syscall.Kill(pid, syscall.SIGCONT)
		}
	}()
	if err := c.Publish(ctx, "ch", "m").Err(); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	if got, err := c.Do(ctx, "WAIT", "1", "300").Result(); got != int64(0) {
		t.Fatalf("WAIT after PUBLISH, replica stopped = %v, %v after %v; want 0 at the timeout", got, err, time.Since(began))
	}
	syscall.Kill(pid, syscall.SIGCONT)
	stopped = false
	if got, err := c.Do(ctx, "WAIT", "1", "10000").Result(); got != int64(1) {
		t.Fatalf("WAIT after PUBLISH, replica running = %v, %v; want 1", got, err)
	}
}
