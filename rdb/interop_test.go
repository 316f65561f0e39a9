package rdb

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestRedisCheckRDB has Redis's own checker load what the Writer produces.
// It runs when redis-check-rdb (Debian package redis-tools) is installed.
func TestRedisCheckRDB(t *testing.T) {
	bin, err := exec.LookPath("redis-check-rdb")
	if err != nil {
		t.Skip("redis-check-rdb not installed (apt-get install redis-tools)")
	}
	entries := roundTripEntries()
	for _, opt := range []WriterOptions{
		{ReplID: "2ed4d4fe8d6b7cda6779d0be19a68698eccbe1e3", ReplOffset: 1 << 40},
		{Version: 10, NoCompression: true, NoReplInfo: true},
	} {
		var buf bytes.Buffer
		writeEntries(t, &buf, opt, entries, nil)
		path := filepath.Join(t.TempDir(), "dump.rdb")
		if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(bin, path).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "RDB looks OK") {
			t.Fatalf("version %d: redis-check-rdb failed: %v\n%s", opt.Version, err, out)
		}
		// Expiries in the past count as "already expired"; all keys are read.
		if !strings.Contains(string(out), "[info] "+strconv.Itoa(len(entries))+" keys read") {
			t.Errorf("redis-check-rdb did not read %d keys:\n%s", len(entries), out)
		}
	}
}
