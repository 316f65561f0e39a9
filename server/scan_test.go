package server

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/replikv/replikv"
)

// TestSmallDefects covers issue 9's defect 9 against Redis 7.0's answers:
// EXPIRETIME of the largest deadline, SCAN cursors parsed like strtoul,
// and KEYS/SCAN MATCH ** leaving out the empty key.
func TestSmallDefects(t *testing.T) {
	n := startNode(t, replikv.Config{}, Config{})
	r := n.raw(t)
	r.expect([]exchange{
		{[]string{"SET", "k", "v"}, "+OK"},
		{[]string{"PEXPIREAT", "k", "9223372036854775807"}, ":1"},
		{[]string{"EXPIRETIME", "k"}, ":9223372036854776"},
		{[]string{"PEXPIRETIME", "k"}, ":9223372036854775807"},
		{[]string{"SET", "", "empty"}, "+OK"},
		{[]string{"KEYS", "**"}, `["k"]`},
		{[]string{"KEYS", "?*"}, `["k"]`},
		{[]string{"KEYS", ""}, `[""]`},
		{[]string{"SCAN", "0", "MATCH", "**"}, `["0", ["k"]]`},
		{[]string{"SCAN", "0", "MATCH", ""}, `["0", [""]]`},
		{[]string{"SCAN", "-1"}, `["0", []]`},
		{[]string{"SCAN", " 1"}, "-ERR invalid cursor"},
		{[]string{"SCAN", "+"}, "-ERR invalid cursor"},
		{[]string{"SCAN", "-"}, "-ERR invalid cursor"},
		{[]string{"SCAN", "1x"}, "-ERR invalid cursor"},
		{[]string{"SCAN", "18446744073709551616"}, "-ERR invalid cursor"},
	})
	if got := r.do("KEYS", "*"); got != `["", "k"]` && got != `["k", ""]` {
		t.Errorf("KEYS * = %s, want both keys", got)
	}
	for _, cur := range []string{"+0", "", "-0"} {
		if got := r.do("SCAN", cur); !strings.HasPrefix(got, `["0", [`) || !strings.Contains(got, `"k"`) {
			t.Errorf("SCAN %q = %s, want a whole iteration from 0", cur, got)
		}
	}
}

// TestParseCursor checks parseCursor against strtoul's results.
func TestParseCursor(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"0", 0, true}, {"", 0, true}, {"+0", 0, true}, {"-0", 0, true}, {"007", 7, true},
		{"-1", 1<<64 - 1, true}, {"18446744073709551615", 1<<64 - 1, true},
		{"-18446744073709551615", 1, true},
		{"18446744073709551616", 0, false}, {"-18446744073709551616", 0, false},
		{"+", 0, false}, {"-", 0, false}, {" 1", 0, false}, {"1 ", 0, false}, {"+-1", 0, false},
		{"0x10", 0, false}, {"1.5", 0, false},
	} {
		got, ok := parseCursor([]byte(tc.in))
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseCursor(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// scanAll iterates SCAN with COUNT count to the end and returns the keys
// and the largest batch.
func scanAll(t *testing.T, r *rawConn, count int) (keys []string, largest int) {
	t.Helper()
	cursor := "0"
	for range 1 << 20 {
		r.send("SCAN", cursor, "COUNT", strconv.Itoa(count))
		r.c.SetReadDeadline(time.Now().Add(5 * time.Second))
		v, err := r.rd.ReadReply()
		if err != nil || len(v.Array) != 2 {
			t.Fatalf("SCAN %s: %v %v", cursor, v, err)
		}
		cursor = string(v.Array[0].Str)
		largest = max(largest, len(v.Array[1].Array))
		for _, k := range v.Array[1].Array {
			keys = append(keys, string(k.Str))
		}
		if cursor == "0" {
			return keys, largest
		}
	}
	t.Fatal("SCAN did not end")
	return nil, 0
}

// TestScanCountBoundsBatch is defect 9's SCAN COUNT: with 20,000 keys in
// 64 shards (about 300 a shard), SCAN COUNT 1 returns one key a call, and
// an iteration still returns every key exactly once, also while other keys
// are written and deleted meanwhile.
func TestScanCountBoundsBatch(t *testing.T) {
	n := startNode(t, replikv.Config{Shards: 64}, Config{})
	const keys = 20000
	var stable []string
	for i := range keys {
		k := fmt.Sprintf("key:%d", i)
		if _, err := n.store.SetWithOptions(k, []byte("v"), replikv.SetOptions{}); err != nil {
			t.Fatal(err)
		}
		stable = append(stable, k)
	}
	slices.Sort(stable)
	r := n.raw(t)
	if got := r.do("SCAN", "0", "COUNT", "1"); strings.Count(got, `"key:`) != 1 {
		t.Errorf("SCAN 0 COUNT 1 = %.200s, want one key", got)
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // churn: other keys come and go during the iteration
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			k := "churn:" + strconv.Itoa(i%500)
			if i%2 == 0 {
				n.store.SetWithOptions(k, []byte("x"), replikv.SetOptions{})
			} else {
				n.store.Delete(k)
			}
		}
	}()
	for _, count := range []int{7, 100} {
		got, largest := scanAll(t, r, count)
		var mine []string
		for _, k := range got {
			if strings.HasPrefix(k, "key:") {
				mine = append(mine, k)
			}
		}
		slices.Sort(mine)
		if !slices.Equal(mine, stable) {
			t.Errorf("COUNT %d: %d keys returned (%d distinct wanted), not each once", count, len(mine), keys)
		}
		if largest > count+2 {
			t.Errorf("COUNT %d: a batch of %d keys", count, largest)
		}
	}
	close(stop)
	wg.Wait()
}
