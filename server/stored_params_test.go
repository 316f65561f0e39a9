package server

import (
	"errors"
	"testing"

	"github.com/replikv/replikv"
)

// TestStoredParams checks the stored-only settings through the setters
// CONFIG SET uses and New: values, zero versus default, and refusals; and
// that ApplyServerParam (a configuration file's path) does not know them.
func TestStoredParams(t *testing.T) {
	var c Config
	for name, value := range map[string]string{"repl-diskless-sync": "no", "repl-diskless-sync-delay": "7"} {
		if err := ApplyServerParam(&c, name, value); !errors.Is(err, ErrUnknownParam) {
			t.Errorf("ApplyServerParam %s: %v, want ErrUnknownParam", name, err)
		}
		if err := setDynamicParam(&c, name, value); err != nil {
			t.Fatalf("%s %s: %v", name, value, err)
		}
	}
	want := Config{NoDisklessSync: true, DisklessSyncDelay: 7}
	checkEq(t, "settings applied", c, want)
	if err := setDynamicParam(&c, "repl-diskless-sync-delay", "-1"); !errors.Is(err, ErrBadValue) {
		t.Errorf("repl-diskless-sync-delay -1: %v", err)
	}
	checkEq(t, "settings after a refused value", c, want)

	store, err := replikv.New(replikv.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	c.Store = store
	srv, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	got := map[string]string{}
	for _, v := range srv.configValues() {
		got[v.name] = v.value
	}
	for name, value := range map[string]string{"repl-diskless-sync": "no", "repl-diskless-sync-delay": "7"} {
		if got[name] != value {
			t.Errorf("CONFIG GET %s = %q, want %q", name, got[name], value)
		}
	}
}

// TestMemoryParams: maxmemory and its companions are the Store's settings
// (ApplyParam, as a configuration file and CONFIG SET apply them), with
// Redis's units, ranges and reasons.
func TestMemoryParams(t *testing.T) {
	var c replikv.Config
	for name, value := range map[string]string{"maxmemory": "100mb", "maxmemory-policy": "Volatile-TTL",
		"maxmemory-samples": "10", "lfu-log-factor": "0", "lfu-decay-time": "5"} {
		if err := ApplyParam(&c, name, value); err != nil {
			t.Fatalf("%s %s: %v", name, value, err)
		}
	}
	want := replikv.Config{MaxMemory: 100 << 20, EvictionPolicy: replikv.VolatileTTL, MaxMemorySamples: 10,
		LFULogFactor: -1, LFUDecayTime: 5}
	checkEq(t, "memory settings", c, want)
	for _, bad := range [][2]string{{"maxmemory", "1.5gb"}, {"maxmemory", "-1"}, {"maxmemory-policy", "lru"},
		{"maxmemory-samples", "0"}, {"maxmemory-samples", "2147483648"}, {"lfu-log-factor", "-1"}, {"lfu-decay-time", "x"}} {
		if err := ApplyParam(&c, bad[0], bad[1]); !errors.Is(err, ErrBadValue) {
			t.Errorf("%s %s: %v, want ErrBadValue", bad[0], bad[1], err)
		}
	}
	checkEq(t, "memory settings after refused values", c, want)
	p := findStoreParam("lfu-log-factor")
	if got := p.get(&c); got != "0" {
		t.Errorf("lfu-log-factor reads %q, want 0", got)
	}
}
