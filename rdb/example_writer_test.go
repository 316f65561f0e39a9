package rdb_test

import (
	"bytes"
	"fmt"
	"io"
	"time"

	"github.com/replikv/replikv/rdb"
)

func ExampleWriter() {
	var buf bytes.Buffer
	w, err := rdb.NewWriter(&buf, rdb.WriterOptions{
		ReplID:     "2ed4d4fe8d6b7cda6779d0be19a68698eccbe1e3",
		ReplOffset: 1000,
		CTime:      time.Unix(1700000000, 0),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	w.SelectDB(0, 2, 1)
	w.WriteString("greeting", []byte("hello"), 0)
	w.WriteString("counter", []byte("42"), 4102444800000) // stored as an int8, with an expiry
	if err := w.Close(); err != nil {
		fmt.Println(err)
		return
	}

	// Read it back.
	r, err := rdb.NewReader(&buf, rdb.ReaderOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for {
		e, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s=%s expire=%d\n", e.Key, e.Value, e.ExpireMs)
	}
	fmt.Println("version", r.Version(), "repl-offset", r.Aux()["repl-offset"])
	// Output:
	// greeting=hello expire=0
	// counter=42 expire=4102444800000
	// version 9 repl-offset 1000
}
