package main

import (
	"bytes"
	"log/slog"
	"strconv"
	"strings"
	"testing"

	"github.com/replikv/replikv/internal/redistest"
)

// TestListenBind: redis.conf's bind forms: "-" makes an address the host
// lacks optional, "*" and "::*" are every IPv4 and IPv6 address, side by
// side on one port.
func TestListenBind(t *testing.T) {
	for _, tc := range []struct {
		binds []string
		n     int    // listeners at least
		log   string // in the logs
		err   string
	}{
		{binds: []string{"127.0.0.1", "-192.0.2.1"}, n: 1, log: "skipping an optional bind address"},
		{binds: []string{"*", "-::*"}, n: 1},
		{binds: []string{"192.0.2.1"}, err: "192.0.2.1:" + "PORT: no such local address; fix bind"},
	} {
		var logs bytes.Buffer
		o := defaultOptions()
		o.port, o.binds = redistest.FreePort(t), tc.binds
		ls, err := listen(o, slog.New(slog.NewTextHandler(&logs, nil)))
		for _, l := range ls {
			l.Close()
		}
		want := strings.ReplaceAll(tc.err, "PORT", strconv.Itoa(o.port))
		if (err == nil) != (want == "") || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Errorf("bind %q: %v, want %q", tc.binds, err, want)
		}
		if len(ls) < tc.n || !strings.Contains(logs.String(), tc.log) {
			t.Errorf("bind %q: %d listeners, logs:\n%s", tc.binds, len(ls), logs.String())
		}
	}
}
