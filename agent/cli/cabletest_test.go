package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/agent/agenttest"
	"github.com/hakit/hakit/internal/exitcode"
	"github.com/hakit/hakit/serialhb"
	"github.com/hakit/hakit/serialhb/hbcli"
)

// lossyCable is a heartbeat whose cable test loses every ping.
type lossyCable struct {
	agenttest.Static[agent.HeartbeatStatus]
}

func (lossyCable) Test(context.Context) (agent.CableTestResult, error) {
	return agent.CableTestResult{Port: "/dev/ttyS1", Member: "c", Sent: 50, Loss: 1}, nil
}

// hwagent cabletest prints the report, naming the cable, and exits 4
// when pings were lost.
func TestCableTestThroughTheAgent(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "a.sock")
	cfgPath := filepath.Join(dir, "a.yaml")
	y := fmt.Sprintf("node: {name: a, id: 1}\npeer: {name: b, id: 2}\ncluster: {id: 7}\napi: {socket: %s}\nstate_dir: %s\n", sock, filepath.Join(dir, "state"))
	if err := os.WriteFile(cfgPath, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := agent.LoadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	a, err := agent.New(cfg, agent.Deps{
		Heartbeat: lossyCable{agenttest.Static[agent.HeartbeatStatus]{V: agent.HeartbeatStatus{LinkStatus: serialhb.LinkStatus{State: serialhb.StateAlive}, PortOpen: true}}},
		Notifier:  agent.NewNotifier("", 0),
		Logger:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	for i := 0; ; i++ {
		if _, err := agent.NewClient(sock).Status(context.Background()); err == nil {
			break
		} else if i > 200 {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	out, _, err := run("cabletest", "--socket", sock)
	if code := ExitCode(err); code != exitcode.CableLoss || !strings.Contains(out, "port     /dev/ttyS1") || !strings.Contains(out, "member   c") || !strings.Contains(out, "loss 100.0%") {
		t.Errorf("exit %d (%v), want %d, and the report naming the cable:\n%s", code, err, exitcode.CableLoss, out)
	}
	if !errors.Is(err, hbcli.ErrCableLoss) {
		t.Errorf("%v, want hbcli.ErrCableLoss", err)
	}
}
