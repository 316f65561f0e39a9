package server

import (
	"strconv"
	"strings"
	"testing"

	"github.com/replikv/replikv"
	"github.com/replikv/replikv/resp"
)

// clientFields parses a CLIENT LIST line into its fields.
func clientFields(line string) map[string]string {
	f := map[string]string{}
	for _, kv := range strings.Fields(line) {
		k, v, _ := strings.Cut(kv, "=")
		f[k] = v
	}
	return f
}

// TestClientBuffers checks CLIENT INFO and CLIENT LIST's buffer fields:
// qbuf and argv-mem of the command running (as Redis shows them), the
// input of a client that sent part of a large command, and CLIENT INFO's
// final line feed.
func TestClientBuffers(t *testing.T) {
	n := startNode(t, replikv.Config{}, Config{})
	r := n.raw(t)
	info := r.bulk("CLIENT", "INFO")
	if !strings.HasSuffix(info, " resp=2\n") || strings.Count(info, "\n") != 1 {
		t.Errorf("CLIENT INFO = %q, want one line ending in a line feed", info)
	}
	f := clientFields(info)
	cmdLen := len(resp.AppendCommandString(nil, "CLIENT", "INFO"))
	if f["qbuf"] != strconv.Itoa(cmdLen) || f["argv-mem"] != "10" || f["omem"] != "0" {
		t.Errorf("CLIENT INFO: qbuf=%s argv-mem=%s omem=%s, want %d, 10 and 0", f["qbuf"], f["argv-mem"], f["omem"], cmdLen)
	}
	free, _ := strconv.Atoi(f["qbuf-free"])
	tot, _ := strconv.Atoi(f["tot-mem"])
	if free <= 0 || tot < free+cmdLen {
		t.Errorf("CLIENT INFO: qbuf-free=%s tot-mem=%s", f["qbuf-free"], f["tot-mem"])
	}
	// A client that sent part of a large command: its input is held.
	big := n.raw(t)
	part := "*2\r\n$3\r\nGET\r\n$100000\r\n" + strings.Repeat("k", 50000)
	if _, err := big.c.Write([]byte(part)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the partial command to be buffered", func() bool {
		for _, line := range strings.Split(strings.TrimSpace(r.bulk("CLIENT", "LIST")), "\n") {
			f := clientFields(line)
			if f["cmd"] == "NULL" {
				q, _ := strconv.Atoi(f["qbuf"])
				tot, _ := strconv.Atoi(f["tot-mem"])
				return q == len(part) && f["argv-mem"] == "0" && tot > q
			}
		}
		return false
	})
}
