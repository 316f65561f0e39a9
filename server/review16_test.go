package server

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/replikv/replikv"
	"github.com/replikv/replikv/resp"
	"github.com/replikv/replikv/transport"
)

// TestReview16DiffOddPubSub compares, byte for byte with redis-server,
// the replies of odd subscribed-mode sequences.
func TestReview16DiffOddPubSub(t *testing.T) {
	d := newDiffer(t)
	seqs := [][][]string{
		{{"UNSUBSCRIBE"}, {"PUNSUBSCRIBE"}, {"UNSUBSCRIBE", "a", "a"}, {"PING"}},
		{{"PSUBSCRIBE", "a\\*", "a[b", "[", "\\", "a[^b]c", "*"}, {"PUNSUBSCRIBE", "[", "nope"}, {"PING", "x"}, {"PUNSUBSCRIBE"}, {"PING"}},
		{{"PUBSUB", "NUMSUB"}, {"PUBSUB", "NUMPAT"}, {"PUBSUB", "CHANNELS", "*"}, {"PUBSUB"}, {"PUBSUB", "HELP", "x"}},
		{{"SUBSCRIBE", "a"}, {"RESET"}, {"UNSUBSCRIBE"}, {"PING"}},
		{{"SUBSCRIBE", "a"}, {"QUIT"}, {"PING"}},
		{{"SUBSCRIBE", "a"}, {"QUIT", "extra"}},
		{{"SUBSCRIBE", "a"}, {"SUBSCRIBE", "a"}, {"PSUBSCRIBE", "a"}, {"UNSUBSCRIBE", "a"}, {"PING"}, {"PUNSUBSCRIBE", "a"}, {"PING"}},
		{{"MULTI"}, {"SUBSCRIBE", "a"}, {"UNSUBSCRIBE"}, {"EXEC"}, {"PING"}},
		{{"CLIENT", "REPLY", "OFF"}, {"SUBSCRIBE", "a"}, {"CLIENT", "REPLY", "ON"}, {"PING"}},
		{{"SUBSCRIBE", "a"}, {"CLIENT", "REPLY", "OFF"}, {"PING"}},
		{{"CLIENT", "REPLY", "SKIP"}, {"SUBSCRIBE", "a", "a"}, {"PING"}, {"UNSUBSCRIBE"}, {"PING"}},
		{{"CLIENT", "REPLY", "OFF"}, {"UNSUBSCRIBE"}, {"PING"}, {"PUNSUBSCRIBE", "x"}, {"CLIENT", "REPLY", "ON"}, {"PING"}},
		{{"PING"}, {"CLIENT", "REPLY", "OFF"}, {"MULTI"}, {"SUBSCRIBE", "a"}, {"EXEC"}, {"PING"}},
		{{"SUBSCRIBE", "a"}, {"HELLO"}, {"ping"}},
		{{"PUBLISH", "", ""}, {"SUBSCRIBE", ""}, {"PSUBSCRIBE", ""}, {"UNSUBSCRIBE", ""}},
	}
	for _, seq := range seqs {
		var in []byte
		for _, c := range seq {
			in = resp.AppendCommandString(in, c...)
		}
		want, got := d.rawBoth(string(in))
		if want != got {
			t.Errorf("%q: replies differ\nredis:   %q\nreplikv: %q", seq, want, got)
		}
	}
}

// TestReview16GlobChannels compares the channels PUBSUB CHANNELS pattern
// lists, and the pattern subscribers PUBLISH reaches, with redis-server's
// for glob patterns with [, \ and *.
func TestReview16GlobChannels(t *testing.T) {
	d := newDiffer(t)
	channels := []string{"a*", "ab", "a[", "[", "\\", "acc", "abc", "a-", "a]", "ayc", "a\\", "]", "b", "a-b", "xb", "a^c", "a!c", "a", "aa"}
	patterns := []string{"a\\*", "a[b", "a[", "[", "\\", "a[^b]c", "a[!b]c", "a[b-]", "a[-b]", "a[z-a]c", "*\\", "a\\", "[\\]]", "a[\\-]b", "?", "**b", "a[]]", "a[^]", "[a-", "a\\[", "*[", "a[a-c-e]", "\\a?"}
	o := d.redis.Options()
	rs, err := net.Dial(o.Network, o.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	ks, err := net.Dial("tcp", d.node.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer ks.Close()
	sub := append([]string{"SUBSCRIBE"}, channels...)
	for _, c := range []net.Conn{rs, ks} {
		c.Write(resp.AppendCommandString(nil, sub...))
	}
	eventually(t, "subscriptions", func() bool {
		return len(d.redis.PubSubChannels(ctx(t), "*").Val()) == len(channels) && len(d.kv.PubSubChannels(ctx(t), "*").Val()) == len(channels)
	})
	for _, p := range patterns {
		want, got := d.redis.PubSubChannels(ctx(t), p).Val(), d.kv.PubSubChannels(ctx(t), p).Val()
		slices.Sort(want)
		slices.Sort(got)
		checkEq(t, "PUBSUB CHANNELS "+p, got, want)
	}
	// PSUBSCRIBE each pattern on its own connection, then count.
	for _, p := range patterns {
		for _, addr := range [][2]string{{o.Network, o.Addr}, {"tcp", d.node.addr}} {
			c, err := net.Dial(addr[0], addr[1])
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.Write(resp.AppendCommandString(nil, "PSUBSCRIBE", p))
		}
	}
	eventually(t, "patterns", func() bool {
		return d.redis.PubSubNumPat(ctx(t)).Val() == int64(len(patterns)) && d.kv.PubSubNumPat(ctx(t)).Val() == int64(len(patterns))
	})
	for _, c := range channels {
		d.do("PUBLISH", c, "m")
	}
}

// TestReview16ReplyAfterUnsubscribeNotLimited: a client that subscribed
// and then unsubscribed from everything is a normal client again (Redis's
// client-output-buffer-limit pubsub applies to CLIENT_PUBSUB clients
// only; the normal class is unlimited by default): a reply larger than
// the pubsub hard limit must reach it, not disconnect it.
func TestReview16ReplyAfterUnsubscribeNotLimited(t *testing.T) {
	n := startNode(t, replikv.Config{}, Config{PubSubLimits: PubSubLimits{Hard: 1 << 20, Soft: 512 << 10, SoftFor: time.Hour}})
	c := n.client(t, nil)
	big := strings.Repeat("v", 2<<20)
	if err := c.Set(ctx(t), "big", big, 0).Err(); err != nil {
		t.Fatal(err)
	}
	r := n.raw(t)
	checkEq(t, "SUBSCRIBE", r.do("SUBSCRIBE", "ch"), `["subscribe", "ch", :1]`)
	checkEq(t, "UNSUBSCRIBE", r.do("UNSUBSCRIBE"), `["unsubscribe", "ch", :0]`)
	r.send("GET", "big")
	r.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	v, err := r.rd.ReadReply()
	if err != nil {
		t.Fatalf("GET of a 2 MiB value after UNSUBSCRIBE: %v (the client was dropped by the pubsub limit)", err)
	}
	checkEq(t, "GET length", len(v.Str), len(big))
}

// TestReview16ChurnNoLeak: subscribers subscribing, unsubscribing,
// resetting and disconnecting while PUBLISH fans out and CLIENT KILL TYPE
// pubsub runs; no goroutine outlives them.
func TestReview16ChurnNoLeak(t *testing.T) {
	n := startNode(t, replikv.Config{}, Config{PubSubLimits: PubSubLimits{Hard: 256 << 10, Soft: 128 << 10, SoftFor: 50 * time.Millisecond}})
	// Warm up the server's own goroutines.
	pc := n.client(t, nil)
	pc.Ping(ctx(t))
	time.Sleep(100 * time.Millisecond)
	base := runtime.NumGoroutine()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // publisher
		defer wg.Done()
		c, err := net.Dial("tcp", n.addr)
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		msg := strings.Repeat("m", 1024)
		buf := make([]byte, 64<<10)
		for {
			select {
			case <-stop:
				return
			default:
			}
			c.Write(resp.AppendCommandString(nil, "PUBLISH", "ch1", msg))
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			c.Read(buf)
		}
	}()
	wg.Add(1)
	go func() { // killer
		defer wg.Done()
		c, err := net.Dial("tcp", n.addr)
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		buf := make([]byte, 1024)
		for {
			select {
			case <-stop:
				return
			case <-time.After(7 * time.Millisecond):
			}
			c.Write(resp.AppendCommandString(nil, "CLIENT", "KILL", "TYPE", "pubsub"))
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			c.Read(buf)
		}
	}()
	for w := 0; w < 6; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 30; i++ {
				c, err := net.Dial("tcp", n.addr)
				if err != nil {
					t.Error(err)
					return
				}
				var in []byte
				in = resp.AppendCommandString(in, "SUBSCRIBE", "ch1", "ch2")
				in = resp.AppendCommandString(in, "PSUBSCRIBE", "ch*")
				switch (w + i) % 4 {
				case 0:
					in = resp.AppendCommandString(in, "UNSUBSCRIBE")
					in = resp.AppendCommandString(in, "PUNSUBSCRIBE")
				case 1:
					in = resp.AppendCommandString(in, "RESET")
				case 2:
					in = resp.AppendCommandString(in, "QUIT")
				}
				c.Write(in)
				if w%2 == 0 { // some read a little, some never
					c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
					b := make([]byte, 4096)
					c.Read(b)
				} else {
					time.Sleep(10 * time.Millisecond)
				}
				c.Close()
			}
		}(w)
	}
	time.Sleep(50 * time.Millisecond)
	// Let the subscribers finish, then stop the others.
	done := make(chan struct{})
	go func() {
		for runtime.NumGoroutine() > 0 {
			if pc.PubSubNumSub(ctx(t), "ch1").Val()["ch1"] == 0 {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		close(done)
	}()
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()
	<-done
	deadline := time.Now().Add(10 * time.Second)
	for {
		ns := pc.PubSubNumSub(ctx(t), "ch1", "ch2").Val()
		np := pc.PubSubNumPat(ctx(t)).Val()
		g := runtime.NumGoroutine()
		if ns["ch1"] == 0 && ns["ch2"] == 0 && np == 0 && g <= base {
			break
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("after the churn: numsub %v numpat %d goroutines %d (base %d)\n%s", ns, np, g, base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestReview16ConfigRewriteErrors: without a config file, Redis's error;
// with a file in a directory that cannot be written, an error and the
// file untouched; comments, odd spacing and unknown lines kept.
func TestReview16ConfigRewriteErrors(t *testing.T) {
	n := startNode(t, replikv.Config{}, Config{})
	checkEq(t, "no file", n.raw(t).do("CONFIG", "REWRITE"), "-ERR The server is running without a config file")

	if os.Geteuid() != 0 {
		dir := t.TempDir()
		file := filepath.Join(dir, "r.conf")
		orig := "# keep me\n  replicaof 10.0.0.1 6379 \nfoo bar\n"
		os.WriteFile(file, []byte(orig), 0o644)
		os.Chmod(dir, 0o555)
		defer os.Chmod(dir, 0o755)
		m := startNode(t, replikv.Config{}, Config{ConfigFile: file})
		got := m.raw(t).do("CONFIG", "REWRITE")
		if !strings.HasPrefix(got, "-ERR") {
			t.Errorf("CONFIG REWRITE in a read-only dir = %s, want an error", got)
		}
		b, _ := os.ReadFile(file)
		checkEq(t, "file untouched", string(b), orig)
	}

	dir := t.TempDir()
	file := filepath.Join(dir, "r.conf")
	orig := "# keep me\r\n\tSLAVEOF 10.0.0.1 6379\r\nfoo \"bar baz\"\r\nreplicaof 1.2.3.4 5\r\n# replicaof in a comment\r\nreplica-announce-ip x # trailing"
	os.WriteFile(file, []byte(orig), 0o600)
	m := startNode(t, replikv.Config{}, Config{ConfigFile: file, AnnounceIP: "10.1.1.1"})
	checkEq(t, "rewrite", m.raw(t).do("CONFIG", "REWRITE"), "+OK")
	b, _ := os.ReadFile(file)
	checkEq(t, "rewritten", string(b), "# keep me\r\nfoo \"bar baz\"\r\n# replicaof in a comment\r\nreplica-announce-ip 10.1.1.1\n")
	fi, _ := os.Stat(file)
	checkEq(t, "mode kept", fi.Mode().Perm(), os.FileMode(0o600))
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	checkEq(t, "no temp files left", names, []string{"r.conf"})
}

// TestReview16PublishInExecOrderOnReplica: MULTI / SET / PUBLISH / SET /
// EXEC on the primary; a subscriber on the replica that reads the keys on
// each message sees the first SET and not necessarily the second, and
// messages arrive in order.
func TestReview16PublishInExecOrderOnReplica(t *testing.T) {
	p := startNode(t, replikv.Config{}, Config{})
	r := startNode(t, replikv.Config{}, Config{})
	sub := r.srv.Subscribe(100, "ch")
	defer sub.Close()
	rc := r.client(t, nil)
	if err := r.store.ReplicaOf(transport.TCP(p.addr)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the link", func() bool { return r.store.LinkStatus() == replikv.LinkUp })
	time.Sleep(200 * time.Millisecond) // the feed polls for the role
	pc := p.client(t, nil)
	for i := 0; i < 20; i++ {
		_, err := pc.TxPipelined(ctx(t), func(tx redis.Pipeliner) error {
			tx.Set(ctx(t), "k", fmt.Sprint(i), 0)
			tx.Publish(ctx(t), "ch", fmt.Sprint(i))
			tx.Publish(ctx(t), "ch", fmt.Sprint(i)+"b")
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	timeout := time.After(10 * time.Second)
	for len(got) < 40 {
		select {
		case m := <-sub.C:
			if !strings.HasSuffix(string(m.Payload), "b") {
				v := rc.Get(ctx(t), "k").Val()
				if v < string(m.Payload) && len(v) == len(m.Payload) {
					t.Errorf("message %s arrived before its SET (k=%s)", m.Payload, v)
				}
			}
			got = append(got, string(m.Payload))
		case <-timeout:
			t.Fatalf("got %d messages of 40: %v", len(got), got)
		}
	}
	var want []string
	for i := 0; i < 20; i++ {
		want = append(want, fmt.Sprint(i), fmt.Sprint(i)+"b")
	}
	if !slices.Equal(got, want) {
		t.Errorf("order: got %v", got)
	}
}

// TestReview16ReplicaSubscriberGetsNextPublish: once SUBSCRIBE has been
// confirmed on a replica (or Server.Subscribe returned), a PUBLISH the
// primary runs after it reaches the subscriber, as with Redis; the
// replica's feed must not start from wherever the stream is when its
// goroutine gets round to it.
func TestReview16ReplicaSubscriberGetsNextPublish(t *testing.T) {
	p := startNode(t, replikv.Config{}, Config{})
	r := startNode(t, replikv.Config{}, Config{})
	if err := r.store.ReplicaOf(transport.TCP(p.addr)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the link", func() bool { return r.store.LinkStatus() == replikv.LinkUp })
	pc := p.client(t, nil)
	pc.Ping(ctx(t))
	lost := 0
	for i := 0; i < 20; i++ {
		sub := r.srv.Subscribe(10, "ch")
		pc.Publish(ctx(t), "ch", fmt.Sprint(i))
		select {
		case m := <-sub.C:
			checkEq(t, "message", string(m.Payload), fmt.Sprint(i))
		case <-time.After(2 * time.Second):
			lost++
		}
		sub.Close()
	}
	if lost > 0 {
		t.Errorf("%d of 20 messages published after the subscription never reached it", lost)
	}
}

// TestReview16SlowSubscribersHeapBounded: subscribers that never read are
// dropped at the hard limit, and the heap does not grow past what their
// limits allow while a publisher floods them.
func TestReview16SlowSubscribersHeapBounded(t *testing.T) {
	const hard = 2 << 20
	n := startNode(t, replikv.Config{}, Config{PubSubLimits: PubSubLimits{Hard: hard, Soft: hard, SoftFor: time.Hour}})
	pc := n.client(t, nil)
	pc.Ping(ctx(t))
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	const subs = 5
	var conns []net.Conn
	for i := 0; i < subs; i++ {
		c, err := net.Dial("tcp", n.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.(*net.TCPConn).SetReadBuffer(4 << 10)
		c.Write(resp.AppendCommandString(nil, "SUBSCRIBE", "ch"))
		conns = append(conns, c)
	}
	eventually(t, "subscribers", func() bool { return pc.PubSubNumSub(ctx(t), "ch").Val()["ch"] == subs })
	msg := strings.Repeat("x", 64<<10)
	var peak uint64
	for i := 0; i < 1000 && pc.PubSubNumSub(ctx(t), "ch").Val()["ch"] > 0; i++ {
		pc.Publish(ctx(t), "ch", msg)
		if i%20 == 0 {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
	}
	checkEq(t, "subscribers left", pc.PubSubNumSub(ctx(t), "ch").Val()["ch"], int64(0))
	// Each queue may hold up to hard bytes plus append's slack, and the
	// writer's buffer in flight as much again.
	if limit := base + subs*4*hard + 16<<20; peak > limit {
		t.Errorf("heap peaked at %d MiB, base %d MiB, limit %d MiB", peak>>20, base>>20, limit>>20)
	}
	t.Logf("heap base %d MiB peak %d MiB", base>>20, peak>>20)
}

// TestReview16ReplicaPriorityZero: CONFIG SET replica-priority 0 (never
// promote) shows as slave_priority:0 and is what CONFIG REWRITE writes.
func TestReview16ReplicaPriorityZero(t *testing.T) {
	p := startNode(t, replikv.Config{}, Config{})
	file := filepath.Join(t.TempDir(), "r.conf")
	os.WriteFile(file, []byte("replica-priority 5\n"), 0o644)
	r := startNode(t, replikv.Config{}, Config{ConfigFile: file, ReplicaPriority: 5})
	if err := r.store.ReplicaOf(transport.TCP(p.addr)); err != nil {
		t.Fatal(err)
	}
	c := r.raw(t)
	checkEq(t, "CONFIG SET", c.do("CONFIG", "SET", "replica-priority", "0"), "+OK")
	checkEq(t, "CONFIG GET", c.do("CONFIG", "GET", "replica-priority"), `["replica-priority", "0"]`)
	info := r.client(t, nil).Info(ctx(t), "replication").Val()
	checkEq(t, "slave_priority", infoField(info, "slave_priority"), "0")
	checkEq(t, "rewrite", c.do("CONFIG", "REWRITE"), "+OK")
	b, _ := os.ReadFile(file)
	checkEq(t, "file", string(b), "replica-priority 0\n# Generated by CONFIG REWRITE\nreplicaof 127.0.0.1 "+p.addr[strings.LastIndex(p.addr, ":")+1:]+"\n")
}

// TestReview16SubscriberNotIdleTimedOut: Redis never closes a client in
// subscribed mode for being idle (clientsCronHandleTimeout skips
// CLIENT_PUBSUB): with timeout set, a subscriber that only listens, as
// Sentinel's hello link does, keeps receiving.
func TestReview16SubscriberNotIdleTimedOut(t *testing.T) {
	n := startNode(t, replikv.Config{}, Config{IdleTimeout: 500 * time.Millisecond})
	sub := n.raw(t)
	checkEq(t, "SUBSCRIBE", sub.do("SUBSCRIBE", "ch"), `["subscribe", "ch", :1]`)
	psub := n.raw(t)
	checkEq(t, "PSUBSCRIBE", psub.do("PSUBSCRIBE", "c*"), `["psubscribe", "c*", :1]`)
	time.Sleep(1500 * time.Millisecond)
	pc := n.client(t, nil)
	checkEq(t, "PUBLISH receivers", pc.Publish(ctx(t), "ch", "m").Val(), int64(2))
	checkEq(t, "message", sub.read(), `["message", "ch", "m"]`)
	// Unsubscribed, the client is normal again and times out.
	checkEq(t, "UNSUBSCRIBE", sub.do("UNSUBSCRIBE"), `["unsubscribe", "ch", :0]`)
	sub.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := sub.rd.ReadReply(); err == nil {
		t.Error("an unsubscribed idle client was not closed")
	}
}

// TestReview16ClientListSubCounts: CLIENT LIST shows a subscriber's
// channels and patterns in sub= and psub=, as Redis does.
func TestReview16ClientListSubCounts(t *testing.T) {
	n := startNode(t, replikv.Config{}, Config{})
	s := n.raw(t)
	s.do("SUBSCRIBE", "a", "b")
	s.read()
	checkEq(t, "PSUBSCRIBE", s.do("PSUBSCRIBE", "p*"), `["psubscribe", "p*", :3]`)
	list := n.raw(t).do("CLIENT", "LIST", "TYPE", "pubsub")
	if !strings.Contains(list, " sub=2 psub=1 ") {
		t.Errorf("CLIENT LIST = %s, want sub=2 psub=1", list)
	}
	if normal := n.raw(t).do("CLIENT", "LIST", "TYPE", "normal"); strings.Contains(normal, "flags=P") {
		t.Errorf("CLIENT LIST TYPE normal lists the subscriber: %s", normal)
	}
}

// TestReview16InfoPubsubCounts: INFO stats has Redis 7.0's
// pubsub_channels and pubsub_patterns.
func TestReview16InfoPubsubCounts(t *testing.T) {
	n := startNode(t, replikv.Config{}, Config{})
	s := n.raw(t)
	checkEq(t, "PSUBSCRIBE", s.do("PSUBSCRIBE", "p*"), `["psubscribe", "p*", :1]`)
	checkEq(t, "SUBSCRIBE", s.do("SUBSCRIBE", "a"), `["subscribe", "a", :2]`)
	info := n.client(t, nil).Info(ctx(t), "stats").Val()
	checkEq(t, "pubsub_channels", infoField(info, "pubsub_channels"), "1")
	checkEq(t, "pubsub_patterns", infoField(info, "pubsub_patterns"), "1")
}
