package hw_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/agent/fence"
	"github.com/hakit/hakit/agent/hw"
	"github.com/hakit/hakit/internal/rig"
	"github.com/hakit/hakit/internal/rig/rigpair"
	"github.com/hakit/hakit/internal/testutil"
)

const (
	iqnA = "iqn.2026-11.io.hakit:node-a"
	iqnB = "iqn.2026-11.io.hakit:node-b"
)

func testLogger(t testing.TB) *slog.Logger {
	return testutil.Logger(t, slog.LevelInfo)
}

// rigPair builds the rig and starts two agents on it.
func rigPair(t *testing.T) (rigpair.RigPair, *rigpair.Pair) {
	t.Helper()
	disk := rig.DiskFor(t, rig.DiskConfig{Initiators: []string{iqnA, iqnB}})
	cable := rig.CableFor(t, rig.CableConfig{})
	nw := rig.NetFor(t, rig.NetConfig{})
	rp := rigpair.RigPair{Disk: disk, Cable: cable, Net: nw, IQN: [2]string{iqnA, iqnB}, Dir: t.TempDir()}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p, err := rigpair.StartPair(ctx, rp, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return rp, p
}

// collect follows c's events for the test.
func collect(t *testing.T, c *agent.Client) *collector {
	l := agent.Follow(c, 1, nil)
	t.Cleanup(l.Close)
	return &collector{l}
}

type collector struct{ l *agent.EventLog }

func (c *collector) wait(t *testing.T, what string, match func(agent.Event) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.l.Wait(ctx, what, match); err != nil {
		t.Fatal(err)
	}
}

func heartbeatState(t *testing.T, c *agent.Client) string {
	raw, err := c.Raw(context.Background(), agent.PathHeartbeat)
	if err != nil {
		t.Fatal(err)
	}
	var s struct{ State string }
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	return s.State
}

func TestIntegrationTwoAgentsOnRig(t *testing.T) {
	rp, p := rigPair(t)
	ctx := context.Background()
	a, b := p.Clients[0], p.Clients[1]
	evA, evB := collect(t, a), collect(t, b)

	for _, c := range []*agent.Client{a, b} {
		deadline := time.Now().Add(5 * time.Second)
		for heartbeatState(t, c) != "alive" {
			if time.Now().After(deadline) {
				t.Fatalf("serial heartbeat never alive: %s", heartbeatState(t, c))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	raw, err := a.Raw(ctx, agent.PathNICs)
	if err != nil {
		t.Fatal(err)
	}
	var ns hw.NICStatus
	if err := json.Unmarshal(raw, &ns); err != nil || ns.Probe == nil || ns.Probe.State != "reachable" {
		t.Fatalf("A's NIC view: %s (%v)", raw, err)
	}

	for _, c := range []*agent.Client{a, b} {
		if _, err := c.Action(ctx, "register"); err != nil {
			t.Fatal(err)
		}
	}
	r, err := a.Action(ctx, "acquire")
	if err != nil {
		t.Fatal(err)
	}
	if d := r.Disks[0]; !d.Owner || !d.PeerRegistered || d.Identity == "" {
		t.Fatalf("A after acquire: %+v", d)
	}
	disksB, err := b.Disks(ctx)
	if err != nil || disksB[0].Owner || !disksB[0].Registered || disksB[0].Identity != r.Disks[0].Identity {
		t.Fatalf("B's view: %+v %v", disksB, err)
	}

	// Pull the serial cable: both sides declare the peer dead.
	rp.Cable.Cut()
	for _, c := range []*collector{evA, evB} {
		c.wait(t, "heartbeat dead", func(e agent.Event) bool { return e.Source == "heartbeat" && e.Kind == "dead" })
	}
	// Heartbeat link down on B's side: A sees its carrier go.
	if err := rp.Net.SetLink(ctx, rig.B, false); err != nil {
		t.Fatal(err)
	}
	evA.wait(t, "link down", func(e agent.Event) bool {
		return e.Source == "nic" && strings.HasPrefix(e.Kind, "link-") && e.Kind != "link-up"
	})

	// B fences A through fence_hwagent as Pacemaker would.
	var out, errb bytes.Buffer
	stdin := "action=off\nplug=node-a\nconfig=" + p.Paths[1] + "\n"
	if code := fence.Run(ctx, nil, strings.NewReader(stdin), &out, &errb, fence.Deps{}); code != fence.ExitOK {
		t.Fatalf("fence_hwagent off: exit %d: %s %s", code, out.String(), errb.String())
	}
	evA.wait(t, "self-fence", func(e agent.Event) bool { return e.Source == "guard" && e.Kind == "fenced" })
	st, err := a.Status(ctx)
	if err != nil || !st.Fenced {
		t.Fatalf("A status after fence: fenced=%v %v", st.Fenced, err)
	}
	out.Reset()
	stdin = "action=status\nplug=node-a\nconfig=" + p.Paths[1] + "\n"
	if code := fence.Run(ctx, nil, strings.NewReader(stdin), &out, &errb, fence.Deps{}); code != fence.ExitOff {
		t.Fatalf("status of fenced A: exit %d, want 2: %s %s", code, out.String(), errb.String())
	}
	disksB, err = b.Disks(ctx)
	if err != nil || !disksB[0].Owner || disksB[0].PeerRegistered {
		t.Fatalf("B after fencing A: %+v %v", disksB, err)
	}
	// A unfences itself (fence_hwagent on, run on A).
	out.Reset()
	stdin = "action=on\nplug=node-a\nconfig=" + p.Paths[0] + "\n"
	if code := fence.Run(ctx, nil, strings.NewReader(stdin), &out, &errb, fence.Deps{}); code != fence.ExitOK {
		t.Fatalf("fence_hwagent on: exit %d: %s %s", code, out.String(), errb.String())
	}

	// With the agents stopped, fence_hwagent acts on the disk directly.
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	errb.Reset()
	direct := func(cfg *agent.Config) (fence.Backend, func() error, error) {
		d, err := hw.NewDirect(cfg, nil)
		if err != nil {
			return nil, nil, err
		}
		return d, d.Close, nil
	}
	stdin = "action=on\nplug=node-b\nverbose=1\nconfig=" + p.Paths[1] + "\n"
	if code := fence.Run(ctx, nil, strings.NewReader(stdin), &out, &errb, fence.Deps{Direct: direct}); code != fence.ExitOK || !strings.Contains(errb.String(), "directly") {
		t.Fatalf("direct fence_hwagent on: exit %d: %s %s", code, out.String(), errb.String())
	}
}
