package replikv

import (
	"log/slog"
	"os"
	"testing"
)

// tlogWriter sends log lines to the test log.
type tlogWriter struct{ t testing.TB }

func (w tlogWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

// dbgLogger logs a test node to the test log when REPLIKV_DEBUG is set.
func dbgLogger(t testing.TB, name string) *slog.Logger {
	if os.Getenv("REPLIKV_DEBUG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(tlogWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug - 4})).With("node", name)
}
