package replikv_test

import (
	"errors"
	"fmt"

	"github.com/replikv/replikv"
)

// A bounded cache: above MaxMemory the primary evicts the least
// frequently used keys before each write (each eviction is a DEL in the
// stream, so replicas hold the same keys); under the default policy,
// noeviction, writes fail with ErrOOM instead.
func ExampleConfig_maxMemory() {
	cache, err := replikv.New(replikv.Config{
		MaxMemory:      64 << 10, // 64 KiB of keys, values and per-key overhead
		EvictionPolicy: replikv.AllKeysLFU,
	})
	if err != nil {
		panic(err)
	}
	defer cache.Close()
	value := make([]byte, 100)
	cache.Set("hot", value)
	for i := 0; i < 10000; i++ {
		cache.Get("hot") // a frequently read key...
		cache.Set(fmt.Sprintf("once-%d", i), value)
	}
	_, err = cache.Get("hot") // ...survives a stream of one-off keys
	in := cache.Info()
	fmt.Println("hot kept:", err == nil)
	fmt.Println("within the limit:", in.UsedMemory <= in.MaxMemory+200)
	fmt.Println("evicted some:", in.EvictedKeys > 9000)

	strict, _ := replikv.New(replikv.Config{MaxMemory: 1000}) // noeviction
	defer strict.Close()
	for i := 0; ; i++ {
		if err := strict.Set(fmt.Sprint(i), value); errors.Is(err, replikv.ErrOOM) {
			fmt.Println("noeviction refused write", i)
			break
		}
	}
	// Output:
	// hot kept: true
	// within the limit: true
	// evicted some: true
	// noeviction refused write 7
}
