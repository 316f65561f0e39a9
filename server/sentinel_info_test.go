package server

import (
	"strings"
	"testing"

	"github.com/replikv/replikv"
	"github.com/replikv/replikv/transport"
)

// TestSentinelInfoFields checks the INFO fields Redis Sentinel parses
// (see docs/sentinel.md), with replica-priority changed by CONFIG SET and
// the address a replica announces (replica-announce-ip, the listening
// port) shown in the primary's slaveN line.
func TestSentinelInfoFields(t *testing.T) {
	p := startNode(t, replikv.Config{MinReplicasToWrite: 1}, Config{})
	r := startNode(t, replikv.Config{AnnounceIP: "10.9.8.7", ListeningPort: 7777}, Config{})
	if err := r.store.ReplicaOf(transport.TCP(p.addr)); err != nil {
		t.Fatal(err)
	}
	pc, rc := p.raw(t), r.raw(t)
	eventually(t, "the replica online", func() bool {
		return strings.Contains(pc.do("INFO", "replication"), "state=online") && r.store.LinkStatus() == replikv.LinkUp
	})
	info := pc.do("INFO")
	for _, want := range []string{"run_id:", "role:master", "slave0:ip=10.9.8.7,port=7777,state=online,offset=", ",lag=", "min_slaves_good_slaves:1"} {
		if !strings.Contains(info, want) {
			t.Errorf("primary's INFO lacks %q:\n%s", want, info)
		}
	}
	host, port, _ := strings.Cut(p.addr, ":")
	info = rc.do("INFO")
	for _, want := range []string{"run_id:", "role:slave", "master_host:" + host, "master_port:" + port, "master_link_status:up", "slave_priority:100", "slave_repl_offset:"} {
		if !strings.Contains(info, want) {
			t.Errorf("replica's INFO lacks %q:\n%s", want, info)
		}
	}
	checkEq(t, "CONFIG SET replica-priority", rc.do("CONFIG", "SET", "replica-priority", "0"), "+OK")
	checkEq(t, "CONFIG GET slave-priority", rc.do("CONFIG", "GET", "slave-priority"), `["slave-priority", "0"]`)
	if info := rc.do("INFO", "replication"); !strings.Contains(info, "slave_priority:0") {
		t.Errorf("after CONFIG SET replica-priority 0:\n%s", info)
	}
	p.srv.Close()
	p.store.Close()
	eventually(t, "the link down", func() bool {
		info := rc.do("INFO", "replication")
		return strings.Contains(info, "master_link_status:down") && strings.Contains(info, "master_link_down_since_seconds:")
	})
}
