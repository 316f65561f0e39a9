package replikv

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/replikv/replikv/transport"
)

// Our pipelined handshake (PING, AUTH and the REPLCONFs in one write, then
// PSYNC) against a real redis-server that wants a password: the first sync
// and a partial resync after the link is killed.
func TestInteropHandshakeWithAuth(t *testing.T) {
	m := startRedis(t)
	ctx := context.Background()
	must(t, m.client.Set(ctx, "before", "1", 0).Err())
	must(t, m.client.ConfigSet(ctx, "requirepass", "secret").Err())
	old := m.client
	m.client = redis.NewClient(&redis.Options{Addr: m.addr(), Password: "secret", Protocol: 2, DisableIdentity: true})
	old.Close()

	cfg := interopConfig()
	cfg.MasterAuth = "secret"
	r := newStore(t, cfg)
	must(t, r.ReplicaOf(transport.TCP(m.addr())))
	waitSyncedFor(t, r, 60*time.Second)
	if v, err := r.Get("before"); err != nil || string(v) != "1" {
		t.Fatalf("before = %q, %v", v, err)
	}

	partial := m.infoInt(t, "stats", "sync_partial_ok")
	must(t, m.client.ClientKillByFilter(ctx, "TYPE", "replica").Err())
	poll(t, 10*time.Second, "a partial resync", func() bool {
		return m.infoInt(t, "stats", "sync_partial_ok") == partial+1 && r.LinkStatus() == LinkUp
	})
	must(t, m.client.Set(ctx, "after", "2", 0).Err())
	poll(t, 10*time.Second, "the write after the partial resync", func() bool {
		v, err := r.Get("after")
		return err == nil && string(v) == "2"
	})
	if mi := r.Info().Master; mi.PartialSyncs != 1 || mi.FullSyncs != 1 {
		t.Fatalf("replica counted %d partial, %d full", mi.PartialSyncs, mi.FullSyncs)
	}
}
