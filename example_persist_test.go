package replikv_test

import (
	"context"
	"fmt"
	"os"

	"github.com/replikv/replikv"
)

// A store saved to its directory comes back with its data after a restart.
func ExampleStore_Save() {
	dir, _ := os.MkdirTemp("", "replikv-example")
	defer os.RemoveAll(dir)

	s, _ := replikv.New(replikv.Config{Dir: dir})
	s.Set("greeting", []byte("hello"))
	if err := s.Save(context.Background(), ""); err != nil { // dir/dump.rdb, atomically
		fmt.Println(err)
	}
	s.Close()

	restarted, err := replikv.New(replikv.Config{Dir: dir}) // loads dir/dump.rdb
	if err != nil {
		fmt.Println(err)
		return
	}
	defer restarted.Close()
	v, _ := restarted.Get("greeting")
	fmt.Println(string(v))
	// Output: hello
}
