package resp_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/replikv/replikv/resp"
)

// A replica reads what a primary sends after PSYNC: the FULLRESYNC line, a
// keepalive, the snapshot header and payload, then the command stream,
// whose bytes it counts in its replication offset.
func ExampleReader() {
	stream := "+FULLRESYNC 83ac8171fda2f58b206b26a49603b07eebab5f46 0\r\n" +
		"\n" + // keepalive while the primary saves
		"$5\r\nREDIS" + // snapshot framing: length, payload, no CRLF
		"*1\r\n$4\r\nping\r\n" +
		"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n"
	r := resp.NewReader(strings.NewReader(stream), resp.Limits{})

	line, _ := r.ReadLine()
	fmt.Printf("%s\n", line)
	for line, _ = r.ReadLine(); len(line) == 0; line, _ = r.ReadLine() {
		// skip keepalives
	}
	n, _ := strconv.ParseInt(string(line[1:]), 10, 64) // check it against a limit!
	payload := make([]byte, n)
	io.ReadFull(r, payload)
	fmt.Printf("payload %q\n", payload)

	var replOffset int64
	for {
		cmd, err := r.ReadCommand()
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			fmt.Println(err)
			return
		}
		replOffset += int64(len(cmd.Raw))
		fmt.Printf("%q, offset now %d\n", cmd.Args, replOffset)
	}
	// Output:
	// +FULLRESYNC 83ac8171fda2f58b206b26a49603b07eebab5f46 0
	// payload "REDIS"
	// ["ping"], offset now 14
	// ["SELECT" "0"], offset now 37
}

// Malformed input is reported with the byte where it went wrong.
func ExampleReader_errors() {
	r := resp.NewReader(strings.NewReader("*2\r\n$3\r\nGET\r\n$12a\r\nkey\r\n"), resp.Limits{})
	_, err := r.ReadCommand()
	fmt.Println(err)
	fmt.Println(errors.Is(err, resp.ErrProtocol))

	r = resp.NewReader(strings.NewReader("*1\r\n$107374182400\r\n"), resp.Limits{})
	_, err = r.ReadCommand()
	fmt.Println(err)
	// Output:
	// resp: protocol error at byte 13: invalid bulk length "12a"
	// true
	// resp: limit exceeded at byte 4: bulk length 107374182400 exceeds the limit of 536870912
}

// A client reads replies as Values.
func ExampleReader_ReadReply() {
	r := resp.NewReader(strings.NewReader("*3\r\n+OK\r\n:42\r\n$-1\r\n-ERR no\r\n"), resp.Limits{})
	for {
		v, err := r.ReadReply()
		if err != nil {
			break
		}
		fmt.Println(v.Kind, v)
	}
	// Output:
	// array [+OK, :42, (nil)]
	// error -ERR no
}

// The Append functions encode into a reusable buffer without allocating.
func ExampleAppendCommand() {
	buf := make([]byte, 0, 128)
	buf = resp.AppendCommandString(buf, "SELECT", "0")

	// Or piece by piece, with the deadline formatted in place.
	buf = resp.AppendArrayLen(buf, 5)
	buf = resp.AppendBulkString(buf, "SET")
	buf = resp.AppendBulk(buf, []byte("k"))
	buf = resp.AppendBulk(buf, []byte("v"))
	buf = resp.AppendBulkString(buf, "PXAT")
	buf = resp.AppendBulkInt(buf, 1795237680997)

	fmt.Printf("%q\n", buf)
	fmt.Println(len(buf) == resp.ArrayHeaderLen(2)+resp.BulkLen(6)+resp.BulkLen(1)+
		resp.ArrayHeaderLen(5)+resp.BulkLen(3)+2*resp.BulkLen(1)+resp.BulkLen(4)+resp.BulkLen(13))
	// Output:
	// "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*5\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n$4\r\nPXAT\r\n$13\r\n1795237680997\r\n"
	// true
}

// A server answers through a Writer and flushes once per batch.
func ExampleWriter() {
	var out bytes.Buffer
	w := resp.NewWriter(&out)
	w.WriteSimple("OK")
	w.WriteBulkString("value")
	w.WriteNull()
	w.WriteError("ERR unknown command 'FOO'")
	w.Flush()
	os.Stdout.WriteString(strings.ReplaceAll(out.String(), "\r\n", "|") + "\n")
	// Output:
	// +OK|$5|value|$-1|-ERR unknown command 'FOO'|
}
