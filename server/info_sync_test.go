package server

import (
	"strings"
	"testing"

	"github.com/replikv/replikv"
)

// TestInfoReplicationShowsSyncProgress: INFO replication lists syncing
// replicas with their state and transfer progress, and the snapshot being
// produced for them.
func TestInfoReplicationShowsSyncProgress(t *testing.T) {
	in := replikv.Info{
		Role: "master",
		Replicas: []replikv.ReplicaInfo{
			{Addr: "10.0.0.1", Port: 6380, State: "wait_bgsave", SyncTotalBytes: -1},
			{Addr: "10.0.0.2", Port: 6381, State: "send_bulk", SyncSentBytes: 4096, SyncTotalBytes: -1},
			{Addr: "10.0.0.3", Port: 6382, State: "online", Offset: 77, SyncSentBytes: 9000, SyncTotalBytes: 9000},
		},
		SnapshotInProgress: true, SnapshotOffset: 77, SnapshotBytes: 4096, SnapshotReplicas: 2,
	}
	var b infoBuilder
	(&Server{}).infoReplication(&b, &in)
	text := b.String()
	for _, want := range []string{
		"connected_slaves:3\r\n",
		"slave0:ip=10.0.0.1,port=6380,state=wait_bgsave,offset=0,lag=0,sync_sent_bytes=0,sync_total_bytes=-1\r\n",
		"slave1:ip=10.0.0.2,port=6381,state=send_bulk,offset=0,lag=0,sync_sent_bytes=4096,sync_total_bytes=-1\r\n",
		"slave2:ip=10.0.0.3,port=6382,state=online,offset=77,lag=0\r\n",
		"fullsync_snapshot_offset:77\r\n",
		"fullsync_snapshot_bytes:4096\r\n",
		"fullsync_snapshot_replicas:2\r\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("INFO replication lacks %q:\n%s", want, text)
		}
	}
}
