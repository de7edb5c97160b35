package agent

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A socket that is missing or not readable says what to do, not a bare
// system error.
func TestUnreachableHints(t *testing.T) {
	dir := t.TempDir()
	_, err := NewClient(filepath.Join(dir, "none.sock")).Status(context.Background())
	if err == nil || !strings.Contains(err.Error(), "is hwagent running?") {
		t.Errorf("missing socket: %v", err)
	}
	if os.Geteuid() == 0 {
		return // root may open anything
	}
	sock := filepath.Join(dir, "locked.sock")
	if err := os.WriteFile(sock, nil, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := NewClient(sock).Status(context.Background()); err == nil || !strings.Contains(err.Error(), "api.group") {
		t.Errorf("unreadable socket: %v", err)
	}
}
