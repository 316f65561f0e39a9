package typed

import (
	"testing"
)

// benchUser is a small JSON document, the kind a read-through cache holds.
type benchUser struct {
	ID    int      `json:"id"`
	Name  string   `json:"name"`
	Email string   `json:"email"`
	Roles []string `json:"roles"`
}

func benchGet(b *testing.B, opt Options) {
	m := New[benchUser](newStore(b), JSON[benchUser]{}, opt)
	if err := m.Set("user:42", benchUser{42, "alice", "alice@example.com", []string{"admin", "ops"}}); err != nil {
		b.Fatal(err)
	}
	if _, err := m.Get("user:42"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Get("user:42"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTypedGetHit reads a value that is in the decode cache.
func BenchmarkTypedGetHit(b *testing.B) { benchGet(b, Options{}) }

// BenchmarkTypedGetNoCache decodes the JSON on every Get.
func BenchmarkTypedGetNoCache(b *testing.B) { benchGet(b, Options{MaxCached: -1}) }
