package redistest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Sentinel is a redis-sentinel process started by a test.
type Sentinel struct {
	Port   string
	Dir    string // its working directory, with its config file and sentinel.log
	Client *redis.Client
}

// Log returns the sentinel's log so far.
func (s *Sentinel) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "sentinel.log"))
	return string(b)
}

// Monitor is a primary a sentinel monitors.
type Monitor struct {
	Name   string
	Host   string
	Port   int
	Quorum int
}

// StartSentinel runs redis-sentinel on a free loopback port, monitoring
// the primary at host:port under name with quorum, a down-after of 3 s
// and a failover timeout of 5 s (the sentinel lines "sentinel set"
// would give, written into its config file), and waits until it answers
// PING. It is killed when the test ends, and its log is shown if the test
// failed. Without redis-sentinel the test skips, or fails under
// REPLIKV_REQUIRE_REDIS=1.
func StartSentinel(t testing.TB, name, host string, port, quorum int) *Sentinel {
	t.Helper()
	return StartSentinelFor(t, Monitor{name, host, port, quorum})
}

// StartSentinelFor is StartSentinel for several primaries.
func StartSentinelFor(t testing.TB, ms ...Monitor) *Sentinel {
	t.Helper()
	bin := Require(t, "redis-sentinel")
	s := &Sentinel{Port: strconv.Itoa(FreePort(t)), Dir: t.TempDir()}
	conf := filepath.Join(s.Dir, "sentinel.conf")
	text := fmt.Sprintf("port %s\nbind 127.0.0.1\nprotected-mode no\ndir %s\nlogfile %s\n",
		s.Port, s.Dir, filepath.Join(s.Dir, "sentinel.log"))
	// A down-after of 3 s, not 1: Sentinel pings an instance once a
	// second, starting about a second after it learns of it, so with 1 s
	// a sentinel that had just switched to a new primary could see it
	// "down" before its first PONG on a loaded machine, and fail over a
	// second time (seen in CI: TestSentinelFailover).
	for _, m := range ms {
		text += fmt.Sprintf("sentinel monitor %s %s %d %d\nsentinel down-after-milliseconds %s 3000\nsentinel failover-timeout %s 5000\n",
			m.Name, m.Host, m.Port, m.Quorum, m.Name, m.Name)
	}
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	s.Client = runUntilPing(t, exec.Command(bin, conf), s.Port, "redis-sentinel", 30*time.Second, s.Log)
	return s
}
