package typed_test

import (
	"fmt"
	"time"

	"github.com/replikv/replikv"
	"github.com/replikv/replikv/typed"
)

type User struct {
	Name  string   `json:"name"`
	Roles []string `json:"roles"`
}

func Example() {
	s, _ := replikv.New(replikv.Config{})
	defer s.Close()
	users := typed.New[User](s, typed.JSON[User]{}, typed.Options{})

	users.Set("user:1", User{Name: "alice", Roles: []string{"admin"}})
	u, _ := users.Get("user:1") // decoded and cached
	u, _ = users.Get("user:1")  // from the cache: u.Roles is shared, read only
	raw, _ := s.Get("user:1")   // the plain key in the store
	fmt.Println(u.Name, u.Roles, string(raw))

	// A write by anyone gives a new value: the next Get decodes it.
	s.Set("user:1", []byte(`{"name":"alice","roles":["admin","ops"]}`))
	u, _ = users.Get("user:1")
	fmt.Println(u.Roles)
	// Output:
	// alice [admin] {"name":"alice","roles":["admin"]}
	// [admin ops]
}

func ExampleMap_SetTTL() {
	s, _ := replikv.New(replikv.Config{})
	defer s.Close()
	sessions := typed.New[string](s, typed.String{}, typed.Options{MaxCached: 1000})
	sessions.SetTTL("session:42", "alice", time.Hour)
	who, _ := sessions.Get("session:42")
	ttl, _ := s.TTL("session:42")
	fmt.Println(who, ttl.Round(time.Minute))
	// Output: alice 1h0m0s
}

func ExampleMap_All() {
	s, _ := replikv.New(replikv.Config{})
	defer s.Close()
	counts := typed.New[int](s, typed.JSON[int]{}, typed.Options{})
	counts.Set("a", 1)
	counts.Set("b", 2)
	total := 0
	for _, n := range counts.All() {
		total += n
	}
	fmt.Println(total)
	// Output: 3
}
