package server

import (
	"net"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/replikv/replikv"
)

// TestClientFlagsLikeRedis: CLIENT INFO's flags after CLIENT NO-EVICT are
// Redis's (both served on a Unix socket), and CLIENT LIST shows a monitor
// with O.
func TestClientFlagsLikeRedis(t *testing.T) {
	_, sock := startRedisSock(t)
	n := startNode(t, replikv.Config{}, Config{})
	ksock := filepath.Join(t.TempDir(), "kv.sock")
	l, err := net.Listen("unix", ksock)
	if err != nil {
		t.Fatal(err)
	}
	go n.srv.Serve(l)
	rc, kc := dialRaw(t, "unix", sock), dialRaw(t, "unix", ksock)
	flags := regexp.MustCompile(` flags=([A-Za-z]+) `)
	for _, cmds := range [][]string{{"CLIENT", "NO-EVICT", "on"}, {"CLIENT", "NO-EVICT", "off"}} {
		rc.do(cmds...)
		kc.do(cmds...)
		rf := flags.FindStringSubmatch(rc.do("CLIENT", "INFO"))
		kf := flags.FindStringSubmatch(kc.do("CLIENT", "INFO"))
		if rf == nil || kf == nil || rf[1] != kf[1] {
			t.Errorf("after %v: flags %v (redis) vs %v (replikv)", cmds, rf, kf)
		}
	}
	mon := n.raw(t)
	if got := mon.do("MONITOR"); got != "+OK" && got != "OK" {
		t.Fatalf("MONITOR = %s", got)
	}
	if list := n.raw(t).do("CLIENT", "LIST"); !regexp.MustCompile(` flags=O `).MatchString(list) {
		t.Errorf("CLIENT LIST shows no monitor (flags=O):\n%s", list)
	}
}
