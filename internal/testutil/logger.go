package testutil

import (
	"log/slog"
	"testing"
)

// Logger is the test logger of every package: text lines at level and
// above into the test's own output (shown with -v or when the test
// fails, attributed to it).
func Logger(t testing.TB, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: level}))
}

// Discard is a logger that writes nothing, for fuzz targets and
// benchmarks whose output would drown the result.
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
