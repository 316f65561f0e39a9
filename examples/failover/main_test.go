package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestRun runs the example: it fails when a coordinated failover loses an
// acknowledged write or a crash failover loses one confirmed by Wait.
func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(&out); err != nil {
		t.Fatalf("%v\noutput:\n%s", err, out.String())
	}
	for _, want := range []string{"0 missing on the new primary", "Wait(ctx, 1, pos): 0 lost"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	t.Log("\n" + out.String())
}
