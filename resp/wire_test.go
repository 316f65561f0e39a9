package resp

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

// The transcripts in testdata are copies of /work/shared/testdata/redis7:
// every byte a real redis-server 7.0.15 sent on a replication link.

type segment struct {
	Kind  string   `json:"kind"`
	Start int64    `json:"start"`
	End   int64    `json:"end"`
	Text  string   `json:"text"`
	Argv  []string `json:"argv"`
}

type transcript struct {
	Segments []segment `json:"segments"`
	Items    []struct {
		Start  int64    `json:"start"`
		End    int64    `json:"end"`
		Argv   []string `json:"argv"`
		Inline string   `json:"inline"`
	} `json:"items"`
}

func loadTranscript(t *testing.T, name string) ([]byte, transcript) {
	t.Helper()
	bin, err := os.ReadFile("testdata/" + name + ".bin")
	if err != nil {
		t.Fatal(err)
	}
	js, err := os.ReadFile("testdata/" + name + ".json")
	if err != nil {
		t.Fatal(err)
	}
	var tr transcript
	if err := json.Unmarshal(js, &tr); err != nil {
		t.Fatal(err)
	}
	return bin, tr
}

// readers returns the ways a test feeds bytes to a Reader: all at once, one
// byte per Read, and in halves with an error beside the data.
func readers(b []byte) map[string]func() io.Reader {
	return map[string]func() io.Reader{
		"whole":    func() io.Reader { return bytes.NewReader(b) },
		"onebyte":  func() io.Reader { return iotest.OneByteReader(bytes.NewReader(b)) },
		"dataerr":  func() io.Reader { return iotest.DataErrReader(bytes.NewReader(b)) },
		"halfread": func() io.Reader { return iotest.HalfReader(bytes.NewReader(b)) },
	}
}

// TestReplicaSideTranscript plays what a replica received from a real
// master through the Reader, the way a replica would: replies, keepalives,
// the FULLRESYNC line, the payload header, the raw payload, then commands.
// Every position is checked against the transcript's segments.
func TestReplicaSideTranscript(t *testing.T) {
	for _, name := range []string{"wire_master_to_replica_disk", "wire_master_to_replica_diskless"} {
		bin, tr := loadTranscript(t, name)
		for how, mk := range readers(bin) {
			t.Run(name+"/"+how, func(t *testing.T) {
				r := NewReader(mk(), Limits{})
				var payloadLen int64
				var mark string
				for _, seg := range tr.Segments {
					if got := r.Offset(); got != seg.Start {
						t.Fatalf("%s: Offset() = %d, want %d", seg.Kind, got, seg.Start)
					}
					switch seg.Kind {
					case "reply":
						v, err := r.ReadReply()
						if err != nil || v.String() != seg.Text {
							t.Fatalf("reply = %v, %v; want %s", v, err, seg.Text)
						}
					case "keepalive_newline", "fullresync", "bulk_header":
						line, err := r.ReadLine()
						want := seg.Text
						if err != nil || string(line) != want {
							t.Fatalf("%s: ReadLine = %q, %v; want %q", seg.Kind, line, err, want)
						}
						if seg.Kind == "bulk_header" {
							if m, ok := strings.CutPrefix(want, "$EOF:"); ok {
								mark = m
							} else if payloadLen, err = strconv.ParseInt(want[1:], 10, 64); err != nil {
								t.Fatal(err)
							}
						}
					case "rdb":
						n := seg.End - seg.Start
						if mark == "" && n != payloadLen {
							t.Fatalf("payload %d bytes, header said %d", n, payloadLen)
						}
						got, err := io.ReadAll(io.LimitReader(r, n))
						if err != nil || !bytes.Equal(got, bin[seg.Start:seg.End]) {
							t.Fatalf("payload: %d bytes, %v", len(got), err)
						}
					case "eof_mark":
						got := make([]byte, len(mark))
						if _, err := io.ReadFull(r, got); err != nil || string(got) != mark {
							t.Fatalf("mark = %q, %v; want %q", got, err, mark)
						}
					case "command":
						cmd, err := r.ReadCommand()
						if err != nil {
							t.Fatalf("command at %d: %v", seg.Start, err)
						}
						if !bytes.Equal(cmd.Raw, bin[seg.Start:seg.End]) || cmd.Inline || cmd.Empty {
							t.Fatalf("command at %d: Raw %q Inline %v Empty %v", seg.Start, cmd.Raw, cmd.Inline, cmd.Empty)
						}
						if got := argStrings(cmd.Args); !equalStrings(got, seg.Argv) {
							t.Fatalf("command at %d: Args %q, want %q", seg.Start, got, seg.Argv)
						}
					default:
						t.Fatalf("unknown segment kind %q", seg.Kind)
					}
					if got := r.Offset(); got != seg.End {
						t.Fatalf("after %s: Offset() = %d, want %d", seg.Kind, got, seg.End)
					}
				}
				if _, err := r.ReadCommand(); err != io.EOF {
					t.Fatalf("at the end: %v, want io.EOF", err)
				}
			})
		}
	}
}

// TestPrimarySideTranscript reads what a real replica sent to a primary,
// including its bare "\n" keepalive, as a server would.
func TestPrimarySideTranscript(t *testing.T) {
	for _, name := range []string{"wire_replica_to_master_conn1", "wire_replica_to_master_conn2"} {
		bin, tr := loadTranscript(t, name)
		if len(tr.Items) == 0 {
			t.Fatalf("%s: no items", name)
		}
		for how, mk := range readers(bin) {
			t.Run(name+"/"+how, func(t *testing.T) {
				r := NewReader(mk(), Limits{})
				for _, it := range tr.Items {
					cmd, err := r.ReadCommand()
					if err != nil {
						t.Fatalf("at %d: %v", it.Start, err)
					}
					if !bytes.Equal(cmd.Raw, bin[it.Start:it.End]) || r.Offset() != it.End {
						t.Fatalf("at %d: Raw %q, Offset %d; want end %d", it.Start, cmd.Raw, r.Offset(), it.End)
					}
					if it.Inline != "" {
						if !cmd.Inline || !cmd.Empty || string(cmd.Raw) != it.Inline {
							t.Fatalf("at %d: want the keepalive %q, got %+v", it.Start, it.Inline, cmd)
						}
						continue
					}
					if got := argStrings(cmd.Args); !equalStrings(got, it.Argv) {
						t.Fatalf("at %d: Args %q, want %q", it.Start, got, it.Argv)
					}
				}
				if _, err := r.ReadCommand(); err != io.EOF {
					t.Fatalf("at the end: %v, want io.EOF", err)
				}
			})
		}
	}
}

func argStrings(args [][]byte) []string {
	s := make([]string, len(args))
	for i, a := range args {
		s[i] = string(a)
	}
	return s
}

func equalStrings(a, b []string) bool { return slices.Equal(a, b) }
