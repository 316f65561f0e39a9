package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/replikv/replikv/rdb"
)

// checkLoadable reads the whole file with the rdb reader (checksum
// included) and, when installed, redis-check-rdb; it returns the keys.
func checkLoadable(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd, err := rdb.NewReader(f, rdb.ReaderOptions{})
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	n := 0
	for {
		if _, err := rd.Next(); err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatalf("%s after %d keys: %v", path, n, err)
			}
			break
		}
		n++
	}
	if bin, err := exec.LookPath("redis-check-rdb"); err == nil {
		if out, err := exec.Command(bin, path).CombinedOutput(); err != nil || !bytes.Contains(out, []byte("RDB looks OK")) {
			t.Fatalf("redis-check-rdb %s: %v\n%s", path, err, out)
		}
	}
	return n
}

func client(n *node) *redis.Client {
	return redis.NewClient(&redis.Options{Addr: n.addr, Protocol: 2, DisableIdentity: true, MaxRetries: -1})
}

// TestBinaryKillDuringSave: SIGKILL at random moments of a BGSAVE of a
// large dataset, again and again, always leaves a loadable dump.rdb, and
// the binary starts from it.
func TestBinaryKillDuringSave(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "dump.rdb")
	n := startBinary(t, bin, "--dir", dir)
	c := client(n)
	ctx := context.Background()
	const keys = 200000
	pipe := c.Pipeline()
	for i := range keys {
		pipe.Set(ctx, "key:"+strconv.Itoa(i), strings.Repeat("v", 100), 0)
		if i%5000 == 4999 {
			if _, err := pipe.Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	start := time.Now()
	if err := c.Save(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	c.Close()
	checkLoadable(t, path)
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 8 {
		c := client(n)
		c.Set(ctx, "round", round, 0)
		if err := c.BgSave(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rng.Int64N(int64(took) + 1))) // a random moment of the save
		n.cmd.Process.Signal(syscall.SIGKILL)
		n.cmd.Wait()
		c.Close()
		if got := checkLoadable(t, path); got < keys {
			t.Fatalf("round %d: %d keys in the file, want at least %d", round, got, keys)
		}
		n = startBinary(t, bin, "--dir", dir) // loads it
		c = client(n)
		if got, err := c.DBSize(ctx).Result(); err != nil || got < keys {
			t.Fatalf("round %d: restarted with %d keys (%v)", round, got, err)
		}
		c.Close()
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "temp-") {
			t.Logf("temporary file of a killed save left: %s (as Redis leaves temp-<pid>.rdb)", e.Name())
		}
	}
}

// TestBinaryPersistence: --save makes SIGTERM save; the restart loads the
// keys with their TTLs; a truncated file makes the binary refuse to start,
// naming the file, exit 1, and leave the file as it was.
func TestBinaryPersistence(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	n := startBinary(t, bin, "--dir", dir, "--save", "3600 1")
	c := client(n)
	ctx := context.Background()
	c.Set(ctx, "a", "1", 0)
	c.Set(ctx, "b", "2", time.Hour)
	c.Close()
	n.stop(t) // SIGTERM: saves, as redis-server with save points
	path := filepath.Join(dir, "dump.rdb")
	if got := checkLoadable(t, path); got != 2 {
		t.Fatalf("%d keys saved on SIGTERM, want 2", got)
	}
	n = startBinary(t, bin, "--dir", dir)
	c = client(n)
	if v := c.Get(ctx, "a").Val(); v != "1" {
		t.Fatalf("a = %q after restart", v)
	}
	if ttl := c.PTTL(ctx, "b").Val(); ttl < 59*time.Minute {
		t.Fatalf("b's TTL %v after restart", ttl)
	}
	c.Close()
	n.stop(t)

	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	bad := good[:len(good)-5]
	if err := os.WriteFile(path, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--port", freePort(t), "--dir", dir)
	out, err := cmd.CombinedOutput()
	if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 1 {
		t.Fatalf("start on a truncated file: %v, want exit status 1\n%s", err, out)
	}
	if !bytes.Contains(out, []byte(path)) || !bytes.Contains(out, []byte("corrupt snapshot")) {
		t.Fatalf("the message does not name the file and the reason:\n%s", out)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(after, bad) {
		t.Fatal("the refused file was changed")
	}
}

// TestBinarySigtermSaveFailsKeepsServing: with save points set, SIGTERM
// saves first; when that save fails (here dump.rdb has become a
// directory) the binary does not exit and lose the data in memory, as
// redis-server does not: it logs the failure and goes on serving. Once
// the cause is gone a second SIGTERM saves and exits 0.
func TestBinarySigtermSaveFailsKeepsServing(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	n := startBinary(t, bin, "--dir", dir, "--save", "3600 1")
	c := client(n)
	defer c.Close()
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "dump.rdb")
	if err := os.Mkdir(path, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := n.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	timeout := time.After(30 * time.Second)
	for logged := false; !logged; {
		select {
		case line, ok := <-n.logs:
			if !ok {
				t.Fatal("the binary exited after a failed save on SIGTERM")
			}
			logged = strings.Contains(line, "cannot save before exiting: not exiting")
		case <-timeout:
			t.Fatal("no log of the failed save")
		}
	}
	if v, err := c.Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Fatalf("after the failed save: GET k = %q, %v; want the server still serving its data", v, err)
	}
	if err := c.Set(ctx, "k2", "v2", 0).Err(); err != nil {
		t.Fatalf("after the failed save, writes: %v", err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	n.stop(t) // saves and exits 0
	if got := checkLoadable(t, path); got != 2 {
		t.Fatalf("%d keys saved by the second SIGTERM, want 2", got)
	}
}
