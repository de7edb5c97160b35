package rigpair

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/agent/hw"
	"github.com/hakit/hakit/internal/rig"
)

// Members are n agents running in this process on one tgtd LUN: members
// m1..mN (ids 1..N), each with its own initiator name and a peers:
// configuration naming every other member with its socket.
type Members struct {
	Paths   []string
	Configs []*agent.Config
	Clients []*agent.Client
}

// MembersFor starts n members for a test and stops them when it ends.
// extra(i, j) is added to member mi's entry for peer mj (as ", key:
// value") and, for j 0, to mi's top level (whole lines).
func MembersFor(t testing.TB, n int, extra func(i, j int) string, log *slog.Logger) *Members {
	t.Helper()
	if extra == nil {
		extra = func(int, int) string { return "" }
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var iqns []string
	for i := 1; i <= n; i++ {
		iqns = append(iqns, fmt.Sprintf("iqn.2026-11.io.hakit:m%d", i))
	}
	disk := rig.DiskFor(t, rig.DiskConfig{Initiators: iqns})
	dir := t.TempDir()
	ms := &Members{}
	for i := 1; i <= n; i++ {
		var b strings.Builder
		fmt.Fprintf(&b, "node: {name: m%d, id: %d}\ncluster: {id: 42}\npeers:\n", i, i)
		for j := 1; j <= n; j++ {
			if j != i {
				fmt.Fprintf(&b, "  - {name: m%d, id: %d, socket: %s%s}\n", j, j, filepath.Join(dir, fmt.Sprintf("m%d.sock", j)), extra(i, j))
			}
		}
		fmt.Fprintf(&b, "disks:\n  - device: %s\n    initiator: %s\n    allow_preempt_without_abort: true\nstate_dir: %s\ntimers: {keepalive_ms: 100, disk_status_ms: 200}\napi: {socket: %s}\nself_fence: {action: event}\nfence: {priority: %d, delay_step_ms: 0}\n%s",
			disk.URL(), iqns[i-1], filepath.Join(dir, fmt.Sprintf("m%d-state", i)), filepath.Join(dir, fmt.Sprintf("m%d.sock", i)), i-1, extra(i, 0))
		p := filepath.Join(dir, fmt.Sprintf("m%d.yaml", i))
		if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := agent.LoadConfig(p)
		if err != nil {
			t.Fatal(err)
		}
		deps, closeHW, err := hw.Build(cfg, log.With("node", cfg.Node.Name))
		if err != nil {
			t.Fatal(err)
		}
		a, err := agent.New(cfg, deps)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- a.Run(ctx); closeHW() }()
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("agent m%d: %v", i, err)
			}
		})
		c := agent.NewClient(cfg.API.Socket)
		deadline := time.Now().Add(10 * time.Second)
		for _, err := c.Ping(ctx); err != nil; _, err = c.Ping(ctx) {
			if time.Now().After(deadline) {
				t.Fatalf("agent m%d does not answer: %v", i, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		ms.Paths, ms.Configs, ms.Clients = append(ms.Paths, p), append(ms.Configs, cfg), append(ms.Clients, c)
	}
	return ms
}
