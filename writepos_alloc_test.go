package replikv

import "testing"

// TestSetPosAllocs: reporting the position costs no allocation beyond the
// write's own (SetPos allocates exactly what SetWithOptions does).
func TestSetPosAllocs(t *testing.T) {
	s := newStore(t, Config{})
	v := []byte("value")
	plain := testing.AllocsPerRun(200, func() { s.SetWithOptions("k", v, SetOptions{}) })
	withPos := testing.AllocsPerRun(200, func() { s.SetPos("k", v, SetOptions{}) })
	if withPos > plain {
		t.Fatalf("SetPos: %.1f allocations a write, SetWithOptions %.1f", withPos, plain)
	}
}
