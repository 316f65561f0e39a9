package backlog_test

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/replikv/replikv/backlog"
)

func Example() {
	r := backlog.New(16)
	r.Append([]byte("*1\r\n$4\r\nping\r\n")) // 14 bytes: [0, 14)
	r.Append([]byte("*1\r\n$4\r\nping\r\n")) // the ring keeps the newest 16
	fmt.Println(r.Range())

	// A replica that has the stream up to byte 22 continues from there.
	var out bytes.Buffer
	if _, err := r.Copy(&out, 22); err != nil {
		fmt.Println(err)
	}
	fmt.Printf("%q\n", out.String())

	// One that is further behind needs a full resync.
	_, err := r.Copy(&out, 5)
	fmt.Println(errors.Is(err, backlog.ErrNotCovered), err)
	// Output:
	// 12 28
	// "ping\r\n"
	// true backlog: offset 5 not covered: before the oldest byte held (ring holds [12, 28))
}
