package iscsi

import (
	"log/slog"
	"testing"

	"github.com/hakit/hakit/internal/testutil"
)

func testLogger(t testing.TB) *slog.Logger {
	return testutil.Logger(t, slog.LevelDebug)
}

func discardLogger() *slog.Logger { return testutil.Discard() }
