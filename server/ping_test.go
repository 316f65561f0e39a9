package server

import (
	"testing"
	"time"

	"github.com/replikv/replikv"
)

// TestServerPingsReplicas: replicas handed over by the RESP server get the
// primary's PINGs, so an idle primary keeps them (issue 11: only
// Store.Serve started the ping loop). CONFIG SET repl-ping-replica-period
// changes the period at runtime.
func TestServerPingsReplicas(t *testing.T) {
	ps := startPair(t, replikv.Config{PingPeriod: 50 * time.Millisecond}, replikv.Config{})
	_, start := ps.replica.store.Position()
	eventually(t, "PINGs to reach the idle replica", func() bool {
		_, off := ps.replica.store.Position()
		return off >= start+3*14 // *1\r\n$4\r\nPING\r\n is 14 bytes
	})

	pc := ps.primary.client(t, nil)
	c := ctx(t)
	if err := pc.ConfigSet(c, "repl-ping-replica-period", "7").Err(); err != nil {
		t.Fatal(err)
	}
	if got := ps.primary.store.Config().PingPeriod; got != 7*time.Second {
		t.Fatalf("PingPeriod after CONFIG SET = %v", got)
	}
	for _, name := range []string{"repl-ping-replica-period", "repl-ping-slave-period"} {
		if got := pc.ConfigGet(c, name).Val()[name]; got != "7" {
			t.Errorf("CONFIG GET %s = %q", name, got)
		}
	}
	if err := pc.ConfigSet(c, "repl-ping-replica-period", "0").Err(); err == nil {
		t.Error("CONFIG SET repl-ping-replica-period 0 succeeded")
	}
}
