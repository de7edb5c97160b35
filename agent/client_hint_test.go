package agent

import (
	"context"
	"net/http"
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

// An API error reads as the agent's message, without the HTTP status
// text ("502 Bad Gateway") that says nothing to a person.
func TestAPIErrorText(t *testing.T) {
	e := &APIError{Socket: "/run/hakit/hwagent.sock", Path: PathFence, Code: http.StatusBadGateway, Msg: "fence: lun0: PREEMPT AND ABORT: reservation conflict"}
	if got, want := e.Error(), "hwagent /run/hakit/hwagent.sock /v1/fence: fence: lun0: PREEMPT AND ABORT: reservation conflict"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	e.Msg = ""
	if got, want := e.Error(), "hwagent /run/hakit/hwagent.sock /v1/fence: HTTP 502 Bad Gateway"; got != want {
		t.Errorf("no message: got %s, want %s", got, want)
	}
}
