package hw_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/agent/hw"
	"github.com/hakit/hakit/internal/testutil"
)

// runSBD runs one of the real sbd's non-daemon verbs (never watch, which
// would arm this machine's watchdog).
func runSBD(t *testing.T, args ...string) {
	t.Helper()
	for _, a := range args {
		if a == "watch" {
			t.Fatal("refusing to run sbd watch")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "sbd", args...).CombinedOutput(); err != nil {
		t.Fatalf("sbd %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// TestIntegrationSBDPoisonPill: hwagent watches its slot on a loop device
// the real sbd created; `sbd message a test` is answered (cleared, sender
// logged); `sbd message a reset` makes the agent self-fence (action exit)
// and latch it.
func TestIntegrationSBDPoisonPill(t *testing.T) {
	testutil.SkipUnlessTools(t, "sbd")
	dev := testutil.LoopDevice(t, 4<<20)
	runSBD(t, "-d", dev, "-1", "1", "-2", "0", "-3", "1", "-4", "1", "create")
	dir := t.TempDir()
	y := fmt.Sprintf("node: {name: a, id: 1}\npeer: {name: b, id: 2}\ncluster: {id: 7}\n"+
		"timers: {keepalive_ms: 100, disk_status_ms: 100}\napi: {socket: %s}\nstate_dir: %s\nself_fence: {action: exit}\nsbd: {device: %s}\n",
		filepath.Join(dir, "a.sock"), filepath.Join(dir, "state"), dev)
	cfg, err := agent.ParseConfig("a.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	deps, closeAll, err := hw.Build(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll()
	deps.Notifier = agent.NewNotifier("", 0)
	a, err := agent.New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, events, unsub := a.Hub().Subscribe(0)
	defer unsub()
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	waitEvent := func(kind string) agent.Event {
		t.Helper()
		for {
			select {
			case e := <-events:
				if e.Source == "sbd" && e.Kind == kind {
					return e
				}
			case err := <-done:
				t.Fatalf("agent ended waiting for sbd %s: %v", kind, err)
			case <-ctx.Done():
				t.Fatalf("no sbd %s event", kind)
			}
		}
	}
	waitEvent("watching")
	runSBD(t, "-d", dev, "-n", "node-b", "message", "a", "test")
	if e := waitEvent("test"); !strings.Contains(e.Msg, "node-b") {
		t.Errorf("test event does not name the sender: %s", e.Msg)
	}
	sent := time.Now()
	runSBD(t, "-d", dev, "-n", "node-b", "message", "a", "reset")
	select {
	case err := <-done:
		if !errors.Is(err, agent.ErrSelfFenced) {
			t.Fatalf("Run = %v, want ErrSelfFenced", err)
		}
		t.Logf("agent exited self-fenced %s after sbd message reset started (sbd itself returns after msgwait, 1s)", time.Since(sent).Round(time.Millisecond))
	case <-time.After(10 * time.Second):
		t.Fatal("agent did not self-fence after sbd's reset message")
	}
	st := agent.SelfFenceState(cfg.StateDir)
	if l, ok, err := st.Load(); err != nil || !ok || !strings.Contains(l.Reason, "sbd reset message from node-b") {
		t.Errorf("latch %+v %v %v, want the sbd reset from node-b", l, ok, err)
	}
}
