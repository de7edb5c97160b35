package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hakit/hakit/internal/rig"
	"github.com/hakit/hakit/internal/rig/rigpair"
	"github.com/hakit/hakit/internal/testutil"
)

// ocfRig starts two agents on the rig with the disk in mode ("" for pr),
// builds hakit-disk, runs ocf-tester on it against node A's agent and
// returns the pair and a runner of hakit-disk on a node.
func ocfRig(t *testing.T, mode string) (*rigpair.Pair, func(node int, action string) (int, string)) {
	t.Helper()
	testutil.SkipUnlessRoot(t)
	testutil.SkipUnlessTools(t, "ocf-tester", "go")
	rp := rigpair.RigPairFor(t, "iqn.2026-11.io.hakit:node-a", "iqn.2026-11.io.hakit:node-b")
	rp.DiskMode = mode
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p, err := rigpair.StartPair(ctx, rp, testutil.Logger(t, slog.LevelWarn))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	for _, c := range p.Clients {
		if _, err := c.Action(ctx, "unfence"); err != nil {
			t.Fatal(err)
		}
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	// ocf-tester runs meta-data as nobody: the folder must be searchable.
	dir, err := os.MkdirTemp("", rig.NewName("ocf")+"-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "hakit-disk")
	if out, err := exec.CommandContext(ctx, gobin, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v: %s", err, out)
	}
	out, err := exec.CommandContext(ctx, "ocf-tester", "-n", "shared-disk", "-o", "config="+p.Paths[0], bin).CombinedOutput()
	t.Logf("ocf-tester:\n%s", out)
	if err != nil || !strings.Contains(string(out), "passed all tests") {
		t.Fatalf("ocf-tester: %v", err)
	}
	return p, func(node int, action string) (int, string) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, action)
		cmd.Env = append(os.Environ(), "OCF_RESKEY_config="+p.Paths[node])
		var errb bytes.Buffer
		cmd.Stderr = &errb
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), errb.String()
		} else if err != nil {
			t.Fatal(err)
		}
		return 0, errb.String()
	}
}

// TestIntegrationOCFTesterSCSI2 runs ocf-tester with the disk in hwagent's
// scsi2 mode, then: node A holds the disk, node B's start is refused while
// A holds it, and B starts once A stopped.
func TestIntegrationOCFTesterSCSI2(t *testing.T) {
	_, agentRun := ocfRig(t, "scsi2")
	for _, st := range []struct {
		node         int
		action, what string
		code         int
		msg          string
	}{
		{0, "start", "", 0, ""},
		{0, "monitor", "", 0, ""},
		{1, "monitor", " while node-a holds", 7, ""},
		{1, "start", " while node-a holds", 1, "another node holds"},
		{0, "stop", "", 0, ""},
		{1, "start", " after node-a stopped", 0, ""},
		{1, "monitor", "", 0, ""},
	} {
		code, msg := agentRun(st.node, st.action)
		if code != st.code || !strings.Contains(msg, st.msg) {
			t.Fatalf("%s on node-%c%s: exit %d %q, want %d and %q", st.action, 'a'+st.node, st.what, code, msg, st.code, st.msg)
		}
	}
}

// TestIntegrationOCFTester runs Debian's ocf-tester (resource-agents) on the
// built hakit-disk against node A's hwagent on the rig, then checks that a
// fenced node refuses to start.
func TestIntegrationOCFTester(t *testing.T) {
	p, agentRun := ocfRig(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Node A holds the disk; node B fences it: A's monitor says not
	// running, and A's start is refused.
	if code, msg := agentRun(0, "start"); code != 0 {
		t.Fatalf("start on node-a: %d %s", code, msg)
	}
	if _, err := p.Clients[1].Fence(ctx, "node-a"); err != nil {
		t.Fatal(err)
	}
	if code, msg := agentRun(0, "monitor"); code != 7 {
		t.Errorf("monitor on fenced node-a: %d %s, want 7 (not running)", code, msg)
	}
	code, msg := agentRun(0, "start")
	t.Logf("start on fenced node-a: exit %d: %s", code, strings.TrimSpace(msg))
	if code != 1 || !strings.Contains(msg, "fenced") {
		t.Errorf("start on fenced node-a: %d %q, want 1 and a message saying it was fenced", code, msg)
	}
	if d, err := p.Clients[1].Disks(ctx); err != nil || len(d) != 1 || d[0].Registered == false || d[0].PeerRegistered {
		t.Errorf("after the refused start: %+v, %v: want node-a's key still gone", d, err)
	}
	// Node B takes over.
	if code, msg := agentRun(1, "start"); code != 0 {
		t.Errorf("start on node-b: %d %s", code, msg)
	}
	if code, msg := agentRun(1, "monitor"); code != 0 {
		t.Errorf("monitor on node-b: %d %s", code, msg)
	}
}
