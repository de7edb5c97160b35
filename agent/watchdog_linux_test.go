package agent

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestOpenWatchdogErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "watchdog")
	if _, err := OpenWatchdog(missing, 10*time.Second); !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing device: %v", err)
	}
	// A file, or a character device that is not a watchdog, is refused
	// before the agent relies on it.
	file := filepath.Join(t.TempDir(), "not-a-watchdog")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenWatchdog(file, 7*time.Second); err == nil || !strings.Contains(err.Error(), "not a character device") {
		t.Errorf("regular file: %v", err)
	}
	if _, err := OpenWatchdog("/dev/null", 7*time.Second); err == nil || !strings.Contains(err.Error(), "not a watchdog device") {
		t.Errorf("/dev/null: %v", err)
	}
}
