package agent_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/agent/agenttest"
	"github.com/hakit/hakit/internal/testutil"
)

// TestMutatingCallsLogged: each action through the API leaves a log line
// naming its path and the caller's uid and pid, and one with its outcome.
func TestMutatingCallsLogged(t *testing.T) {
	testutil.SkipUnlessRoot(t) // the socket is chowned to root
	var logBuf testutil.SyncBuffer
	lun := agenttest.NewLUN("naa.600140500000000000000000000000ab")
	d := &agenttest.Disk{LUN: lun, Name: "lun0", Own: agenttest.Key(7, 1), Peer: agenttest.Key(7, 2)}
	cfg := testConfig(t, t.TempDir(), "a", "b", 1, 2)
	n := startNode(t, cfg, agent.Deps{Disks: []agent.Disk{d}, Logger: slog.New(slog.NewTextHandler(&logBuf, nil))})
	ctx := context.Background()
	for _, name := range []agent.Action{agent.ActionRegister, agent.ActionAcquire, agent.ActionRelease, agent.ActionUnfence} {
		if _, err := n.client.Action(ctx, name); err != nil {
			t.Logf("%s: %v", name, err) // the outcome does not matter here
		}
	}
	if _, err := n.client.Fence(ctx, "b"); err != nil {
		t.Logf("fence: %v", err)
	}
	if _, err := n.client.Fence(ctx, "a"); err == nil {
		t.Error("self-fence accepted")
	}
	log := logBuf.String()
	caller := fmt.Sprintf("uid=%d gid=%d pid=%d", os.Getuid(), os.Getgid(), os.Getpid())
	for _, p := range []string{agent.PathRegister, agent.PathAcquire, agent.PathRelease, agent.PathUnfence, agent.PathFence} {
		want := fmt.Sprintf(`msg="api call" method=POST path=%s %s`, p, caller)
		if !strings.Contains(log, want) {
			t.Errorf("no %q in the log", want)
		}
	}
	for _, a := range []string{"register", "acquire", "release", "unfence", "fence"} {
		want := fmt.Sprintf(`msg="api action done" action=%s uid=%d pid=%d`, a, os.Getuid(), os.Getpid())
		if !strings.Contains(log, want) {
			t.Errorf("no %q in the log", want)
		}
	}
	// The refused self-fence is on record too (two fence calls).
	if c := strings.Count(log, "path="+agent.PathFence+" "+caller); c != 2 {
		t.Errorf("%d logged fence calls, want 2", c)
	}
	if strings.Contains(log, "path="+agent.PathStatus) {
		t.Error("reads are logged as calls")
	}
}
