package replikv_test

import (
	"context"
	"encoding/json"
	"errors"
	"expvar"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/replikv/replikv"
	"github.com/replikv/replikv/transport"
)

// serveNode starts a store that serves replicas as name on the network.
func serveNode(network *transport.MemNetwork, name string) *replikv.Store {
	s, err := replikv.New(replikv.Config{})
	if err != nil {
		panic(err)
	}
	l, err := network.Listen(name)
	if err != nil {
		panic(err)
	}
	go s.Serve(l) // returns when s closes
	return s
}

// readThrough is a cache of decoded values in front of a replica, kept
// in step with it by a Watcher rather than by TTLs.
type readThrough struct {
	s     *replikv.Store
	mu    sync.Mutex
	m     map[string]string
	loads int // reads that missed the cache
}

func (c *readThrough) Get(key string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.m[key]; ok {
		return v, nil
	}
	v, err := c.s.Get(key)
	if err != nil {
		return "", err
	}
	c.loads++
	c.m[key] = string(v) // decode once (here: a string)
	return c.m[key], nil
}

// invalidate forgets what ev changed.
func (c *readThrough) invalidate(ev replikv.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch ev.Op {
	case replikv.OpSet, replikv.OpDelete, replikv.OpExpire:
		delete(c.m, ev.Key)
	case replikv.OpFlush, replikv.OpReset: // everything may have changed
		clear(c.m)
	}
}

// A read-through cache on a replica, invalidated by the replica's change
// feed: a write on the primary reaches the cache as soon as the replica
// applies it.
func ExampleStore_Watch() {
	network := transport.NewMemNetwork()
	primary := serveNode(network, "primary")
	defer primary.Close()
	primary.Set("user:1", []byte("alice"))
	primary.Set("user:2", []byte("bob"))

	replica, _ := replikv.New(replikv.Config{})
	defer replica.Close()
	replica.ReplicaOf(network.Dialer("primary"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := replica.WaitSynced(ctx); err != nil {
		panic(err)
	}

	// Watch before filling the cache, so no change falls in between.
	w, err := replica.Watch(ctx, replikv.WatchOptions{})
	if err != nil {
		panic(err)
	}
	cache := &readThrough{s: replica, m: map[string]string{}}
	handled := make(chan replikv.Event)
	go func() {
		for ev, err := range w.Events() {
			if err != nil {
				close(handled) // ErrClosed after w.Close; a service would re-watch and clear on other errors
				return
			}
			cache.invalidate(ev)
			handled <- ev // only for this example's output
		}
	}()
	show := func(key string) {
		v, err := cache.Get(key)
		fmt.Printf("  %s=%q err=%v (loads %d)\n", key, v, err, cache.loads)
	}

	show("user:1")
	show("user:1") // cached
	primary.Set("user:1", []byte("alicia"))
	fmt.Println((<-handled).Op, "user:1")
	show("user:1")
	primary.ExpireAt("user:1", time.Now().Add(time.Hour))
	fmt.Println((<-handled).Op)
	primary.Delete("user:1")
	fmt.Println((<-handled).Op)
	show("user:1")
	show("user:2")
	primary.FlushAll()
	fmt.Println((<-handled).Op)
	show("user:2")

	w.Close()
	<-handled
	// Output:
	//   user:1="alice" err=<nil> (loads 1)
	//   user:1="alice" err=<nil> (loads 1)
	// set user:1
	//   user:1="alicia" err=<nil> (loads 2)
	// expire
	// delete
	//   user:1="" err=replikv: key not found (loads 2)
	//   user:2="bob" err=<nil> (loads 3)
	// flush
	//   user:2="" err=replikv: key not found (loads 3)
}

// exportedStore is the store the "replikv" expvar reports: expvar names
// are published once per process, so a service that replaces its store
// re-points this instead.
var exportedStore atomic.Pointer[replikv.Store]

var publishStats sync.Once

// statsMap is Stats as the JSON object /debug/vars shows.
func statsMap(s *replikv.Store) map[string]any {
	st := s.Stats()
	return map[string]any{
		"role":                  st.Role.String(),
		"gets":                  st.Gets,
		"hits":                  st.Hits,
		"misses":                st.Misses,
		"sets":                  st.Sets,
		"expired":               st.Expired,
		"keys":                  st.Keys,
		"expires":               st.Expires,
		"bytes_used":            st.BytesUsed,
		"link_ups":              st.LinkUps,
		"link_downs":            st.LinkDowns,
		"full_syncs":            st.FullSyncs,
		"partial_syncs":         st.PartialSyncs,
		"full_syncs_served":     st.FullSyncsServed,
		"partial_syncs_served":  st.PartialSyncsServed,
		"partial_syncs_refused": st.PartialSyncsRefused,
	}
}

// Stats exported through expvar: importing expvar serves every published
// variable as JSON at /debug/vars on http.DefaultServeMux.
func ExampleStore_Stats() {
	s, _ := replikv.New(replikv.Config{})
	defer s.Close()
	exportedStore.Store(s)
	publishStats.Do(func() {
		expvar.Publish("replikv", expvar.Func(func() any { return statsMap(exportedStore.Load()) }))
	})

	s.Set("a", []byte("1"))
	s.SetTTL("bb", []byte("22"), time.Hour)
	s.Get("a")
	s.Get("bb")
	s.Get("missing")

	// What a scraper of /debug/vars reads.
	var vars map[string]any
	json.Unmarshal([]byte(expvar.Get("replikv").String()), &vars)
	for _, k := range []string{"role", "gets", "hits", "misses", "sets", "keys", "expires", "bytes_used"} {
		fmt.Printf("%s=%v ", k, vars[k])
	}
	fmt.Println()
	// Output: role=primary gets=3 hits=2 misses=1 sets=2 keys=2 expires=1 bytes_used=6
}

// node is a store a writer may find as the primary.
type node struct {
	name string
	s    *replikv.Store
}

// failoverWriter writes to whichever node is the primary: a write the
// node it knows refuses because it is no longer the primary (ErrReadOnly:
// demoted; ErrClosed: gone) is retried on the node now in that role.
type failoverWriter struct {
	nodes   []node
	mu      sync.Mutex
	primary node
}

// Set writes to the primary and returns the node that took the write and
// the error that made it look elsewhere, if any.
func (w *failoverWriter) Set(key string, value []byte) (took string, refused error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for range len(w.nodes) + 1 {
		err := w.primary.s.Set(key, value)
		if err == nil {
			return w.primary.name, refused
		}
		if !errors.Is(err, replikv.ErrReadOnly) && !errors.Is(err, replikv.ErrClosed) {
			return "", err
		}
		refused = err
		// In a service the nodes come from discovery (or Redis Sentinel);
		// the new primary is the one whose Role says so.
		for _, n := range w.nodes {
			if n.s.Role() == replikv.RolePrimary {
				w.primary = n
			}
		}
	}
	return "", refused
}

// Failover-aware writes: a planned switchover (b promoted, a demoted),
// then b shut down and a promoted again. The writer follows the primary
// role and loses no write.
func ExampleStore_Promote() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	network := transport.NewMemNetwork()
	a := serveNode(network, "a")
	defer a.Close()
	b := serveNode(network, "b")
	defer b.Close()
	b.ReplicaOf(network.Dialer("a"))
	if err := b.WaitSynced(ctx); err != nil {
		panic(err)
	}
	w := &failoverWriter{nodes: []node{{"a", a}, {"b", b}}, primary: node{"a", a}}
	report := func(key string) {
		took, refused := w.Set(key, []byte("paid"))
		fmt.Printf("%s written on %s", key, took)
		if refused != nil {
			fmt.Printf(" after: %v", refused)
		}
		fmt.Println()
	}

	report("order:1")

	// Switchover: b has everything a acknowledged, takes over; a follows b.
	_, off := a.Position()
	a.WaitReplicas(ctx, 1, off)
	b.Promote()
	a.ReplicaOf(network.Dialer("b"))
	if err := a.WaitSynced(ctx); err != nil {
		panic(err)
	}
	report("order:2")

	// b goes away, once a has acknowledged its last write; a takes over.
	// (Shutdown waits for the replicas b lists as online; a.WaitSynced
	// returning does not mean b lists a yet, so wait for a's ACK first.)
	_, off = b.Position()
	b.WaitReplicas(ctx, 1, off)
	if err := b.Shutdown(ctx); err != nil {
		panic(err)
	}
	a.Promote()
	report("order:3")

	for i := 1; i <= 3; i++ {
		v, err := a.Get(fmt.Sprintf("order:%d", i))
		fmt.Print(string(v), err, " ")
	}
	fmt.Println()
	// Output:
	// order:1 written on a
	// order:2 written on b after: replikv: read-only replica
	// order:3 written on a after: replikv: store closed
	// paid<nil> paid<nil> paid<nil>
}
