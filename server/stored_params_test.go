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
	for name, value := range map[string]string{
		"repl-diskless-sync": "no", "repl-diskless-sync-delay": "7", "maxmemory": "1mb", "maxmemory-policy": "Volatile-TTL"} {
		if err := ApplyServerParam(&c, name, value); !errors.Is(err, ErrUnknownParam) {
			t.Errorf("ApplyServerParam %s: %v, want ErrUnknownParam", name, err)
		}
		if err := setDynamicParam(&c, name, value); err != nil {
			t.Fatalf("%s %s: %v", name, value, err)
		}
	}
	want := Config{NoDisklessSync: true, DisklessSyncDelay: 7,
		MaxMemory: 1 << 20, MaxMemoryPolicy: "volatile-ttl"}
	checkEq(t, "settings applied", c, want)
	if err := setDynamicParam(&c, "maxmemory-policy", "lru"); !errors.Is(err, ErrBadValue) {
		t.Errorf("maxmemory-policy lru: %v", err)
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
	for name, value := range map[string]string{"repl-diskless-sync": "no",
		"repl-diskless-sync-delay": "7", "maxmemory": "1048576", "maxmemory-policy": "volatile-ttl"} {
		if got[name] != value {
			t.Errorf("CONFIG GET %s = %q, want %q", name, got[name], value)
		}
	}
	for _, bad := range []Config{{MaxMemory: -1}, {MaxMemoryPolicy: "lru"}} {
		bad.Store = store
		if _, err := New(bad); !errors.Is(err, ErrConfig) {
			t.Errorf("New(%+v): %v, want ErrConfig", bad, err)
		}
	}
}
