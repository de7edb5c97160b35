package hw_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/agent/fence"
	"github.com/hakit/hakit/agent/hw"
	"github.com/hakit/hakit/internal/rig"
)

// members starts n agents (m1..mN, ids 1..N) on one tgtd LUN, each with
// its own initiator name and a peers: configuration naming the others.
func members(t *testing.T, n int) (paths []string, clients []*agent.Client) {
	t.Helper()
	var iqns []string
	for i := 1; i <= n; i++ {
		iqns = append(iqns, fmt.Sprintf("iqn.2026-11.io.hakit:m%d", i))
	}
	disk := rig.DiskFor(t, rig.DiskConfig{Initiators: iqns})
	dir := t.TempDir()
	log := testLogger(t)
	for i := 1; i <= n; i++ {
		var b strings.Builder
		fmt.Fprintf(&b, "node: {name: m%d, id: %d}\ncluster: {id: 42}\npeers:\n", i, i)
		for j := 1; j <= n; j++ {
			if j != i {
				fmt.Fprintf(&b, "  - {name: m%d, id: %d, socket: %s}\n", j, j, filepath.Join(dir, fmt.Sprintf("m%d.sock", j)))
			}
		}
		fmt.Fprintf(&b, "disks:\n  - device: %s\n    initiator: %s\n    allow_preempt_without_abort: true\nstate_dir: %s\ntimers: {keepalive_ms: 100, disk_status_ms: 200}\napi: {socket: %s}\nself_fence: {action: event}\nfence: {priority: %d, delay_step_ms: 0}\n",
			disk.URL(), iqns[i-1], filepath.Join(dir, fmt.Sprintf("m%d-state", i)), filepath.Join(dir, fmt.Sprintf("m%d.sock", i)), i-1)
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
		paths, clients = append(paths, p), append(clients, c)
	}
	return paths, clients
}

// keysOn reads the LUN now through member c's agent and returns which
// members are registered and who holds the reservation.
func keysOn(t *testing.T, c *agent.Client) (registered []string, holder string) {
	t.Helper()
	ds, err := c.Disks(context.Background())
	if err != nil || len(ds) != 1 || ds[0].Error != "" {
		t.Fatalf("disks: %+v %v", ds, err)
	}
	for _, k := range ds[0].Members {
		if k.Registered {
			registered = append(registered, k.Name)
		}
		if k.Holder {
			holder = k.Name
		}
	}
	slices.Sort(registered) // each member lists itself first
	return registered, holder
}

// Four agents on one tgtd LUN: m1 holds the disk and fences m2, m3 and m4
// in turn through fence_hwagent (as Pacemaker's fencer runs it on m1).
// After each step the LUN is read back through every agent still
// registered: exactly the fenced members' keys are gone, m1 still holds
// the reservation, and the victim's own agent latches itself fenced.
func TestIntegrationFourMembersFenceEachInTurn(t *testing.T) {
	paths, cs := members(t, 4)
	ctx := context.Background()
	for _, c := range cs {
		if _, err := c.Action(ctx, agent.ActionRegister); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cs[0].Action(ctx, agent.ActionAcquire); err != nil {
		t.Fatal(err)
	}
	want := []string{"m1", "m2", "m3", "m4"}
	if reg, holder := keysOn(t, cs[3]); !slices.Equal(reg, want) || holder != "m1" {
		t.Fatalf("before: registered %v holder %q", reg, holder)
	}
	var out, errb bytes.Buffer
	stdin := "action=list\nconfig=" + paths[0] + "\n"
	if code := fence.Run(ctx, nil, strings.NewReader(stdin), &out, &errb, fence.Deps{}); code != fence.ExitOK || out.String() != "m1,\nm2,\nm3,\nm4,\n" {
		t.Fatalf("list: exit %d %q %s", code, out.String(), errb.String())
	}
	for v := 1; v < 4; v++ {
		victim := fmt.Sprintf("m%d", v+1)
		out.Reset()
		errb.Reset()
		start := time.Now()
		stdin := "action=off\nplug=" + victim + "\nconfig=" + paths[0] + "\n"
		if code := fence.Run(ctx, nil, strings.NewReader(stdin), &out, &errb, fence.Deps{}); code != fence.ExitOK {
			t.Fatalf("off %s: exit %d: %s %s", victim, code, out.String(), errb.String())
		}
		took := time.Since(start)
		want = slices.DeleteFunc(want, func(n string) bool { return n == victim })
		for i := range cs {
			if i > 0 && i <= v {
				continue // fenced: its reads go through an unregistered nexus
			}
			if reg, holder := keysOn(t, cs[i]); !slices.Equal(reg, want) || holder != "m1" {
				t.Fatalf("after fencing %s, read through m%d: registered %v holder %q, want %v held by m1", victim, i+1, reg, holder, want)
			}
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			st, err := cs[v].Status(ctx)
			if err == nil && st.Fenced {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never found itself fenced: %+v %v", victim, st, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		out.Reset()
		stdin = "action=status\nplug=" + victim + "\nconfig=" + paths[0] + "\n"
		if code := fence.Run(ctx, nil, strings.NewReader(stdin), &out, &errb, fence.Deps{}); code != fence.ExitOff {
			t.Fatalf("status %s after off: exit %d %s", victim, code, out.String())
		}
		t.Logf("fenced %s in %v (fence_hwagent off through m1's agent, with its read-back)", victim, took.Round(time.Millisecond))
	}
	st, err := cs[0].Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range st.Members {
		if m.Self != (m.Name == "m1") || m.Fenced == m.Self || m.Registered != m.Self || (len(m.Holder) == 1) != m.Self {
			t.Errorf("m1's status of %s: %+v", m.Name, m)
		}
	}
	// Each fenced member unfences itself through its own agent; m1 sees
	// every key back.
	for _, c := range cs[1:] {
		if _, err := c.Unfence(ctx, ""); err != nil {
			t.Fatal(err)
		}
	}
	if reg, holder := keysOn(t, cs[0]); !slices.Equal(reg, []string{"m1", "m2", "m3", "m4"}) || holder != "m1" {
		t.Fatalf("after the unfences: registered %v holder %q", reg, holder)
	}
}
