package agent_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/agent/agenttest"
	"github.com/hakit/hakit/agent/hw"
	"github.com/hakit/hakit/internal/testutil"
)

// membersConfig is node self's configuration in a cluster of members
// named m1..mN (ids 1..N), in peers: form.
func membersConfig(t *testing.T, dir string, self, n int) *agent.Config {
	t.Helper()
	return membersConfigWith(t, dir, self, n, "")
}

// membersConfigWith is membersConfig with extra YAML appended.
func membersConfigWith(t *testing.T, dir string, self, n int, extra string) *agent.Config {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "node: {name: m%d, id: %d}\ncluster: {id: 7}\npeers:\n", self, self)
	for i := 1; i <= n; i++ {
		if i != self {
			fmt.Fprintf(&b, "  - {name: m%d, id: %d}\n", i, i)
		}
	}
	fmt.Fprintf(&b, "timers: {keepalive_ms: 100, disk_status_ms: 100}\napi: {socket: %s}\nstate_dir: %s\nself_fence: {action: event}\n",
		filepath.Join(dir, fmt.Sprintf("m%d.sock", self)), filepath.Join(dir, fmt.Sprintf("m%d-state", self)))
	b.WriteString(extra)
	cfg, err := agent.ParseConfig("m", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// memberDisks are the n members' views of one LUN, each knowing every key.
func memberDisks(lun *agenttest.LUN, n int) []*agenttest.Disk {
	var ms []agenttest.Member
	for i := 1; i <= n; i++ {
		ms = append(ms, agenttest.Member{Name: fmt.Sprintf("m%d", i), ID: i, Key: agenttest.Key(7, i)})
	}
	var out []*agenttest.Disk
	for i := 1; i <= n; i++ {
		out = append(out, &agenttest.Disk{LUN: lun, Name: "lun0", Own: agenttest.Key(7, i), Peer: agenttest.Key(7, 1+i%n), Members: ms})
	}
	return out
}

func memberState(st agent.Status, name string) agent.MemberStatus {
	i := slices.IndexFunc(st.Members, func(m agent.MemberStatus) bool { return m.Name == name })
	if i < 0 {
		return agent.MemberStatus{}
	}
	return st.Members[i]
}

// Four members: m1 fences m2, m3 and m4 in turn through the API; each
// fence's read-back shows only that member's key gone, the status lists
// every member (fenced, registered, holder), and each fence event names
// its victim.
func TestFourMembersFenceEach(t *testing.T) {
	testutil.SkipUnlessRoot(t) // the socket is chowned to root
	ctx := context.Background()
	lun := agenttest.NewLUN("naa.600140500000000000000000000000cc")
	disks := memberDisks(lun, 4)
	n := startNode(t, membersConfig(t, t.TempDir(), 1, 4), agent.Deps{Disks: []agent.Disk{disks[0]}})
	events := subscribe(t, n)
	if _, err := n.client.Action(ctx, agent.ActionRegister); err != nil {
		t.Fatal(err)
	}
	for _, d := range disks[1:] {
		if err := d.Register(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := n.client.Action(ctx, agent.ActionAcquire); err != nil {
		t.Fatal(err)
	}
	var ae *agent.APIError
	if _, err := n.client.Fence(ctx, "m1"); !errors.As(err, &ae) || ae.Code != http.StatusConflict {
		t.Errorf("fencing itself = %v, want 409", err)
	}
	if _, err := n.client.Fence(ctx, "m5"); !errors.As(err, &ae) || ae.Code != http.StatusNotFound || !strings.Contains(ae.Msg, "m1 m2 m3 m4") {
		t.Errorf("fencing m5 = %v, want 404 naming the members", err)
	}
	for i, victim := range []string{"m2", "3", "m4"} { // a member by name or id
		name := fmt.Sprintf("m%d", i+2)
		res, err := n.client.Fence(ctx, victim)
		if err != nil {
			t.Fatalf("fence %s: %v", victim, err)
		}
		if res.Node != name || len(res.Disks) != 1 {
			t.Fatalf("fence %s: %+v", victim, res)
		}
		for _, k := range res.Disks[0].Members {
			if gone := k.ID >= 2 && k.ID <= i+2; k.Registered == gone {
				t.Errorf("after fencing %s, %s registered=%v", name, k.Name, k.Registered)
			}
		}
		if want := len(lun.Keys()); want != 4-(i+1) {
			t.Errorf("after fencing %s the LUN has %d keys", name, want)
		}
		waitFor(t, "fence event naming "+name, func() bool {
			for {
				select {
				case e := <-events:
					if e.Source == "disk" && e.Kind == "fence" {
						return e.Data["node"] == name
					}
				default:
					return false
				}
			}
		})
	}
	st, err := n.client.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Members) != 4 {
		t.Fatalf("status members %+v", st.Members)
	}
	self := memberState(st, "m1")
	if !self.Self || !self.Registered || self.Fenced || len(self.Holder) != 1 {
		t.Errorf("m1 in status: %+v", self)
	}
	for _, name := range []string{"m2", "m3", "m4"} {
		if m := memberState(st, name); !m.Fenced || m.Registered || len(m.Holder) != 0 || m.Key == "" {
			t.Errorf("%s in status: %+v", name, m)
		}
	}
	// unfence acts on this node only.
	if _, err := n.client.Unfence(ctx, "m3"); !errors.As(err, &ae) || ae.Code != http.StatusConflict || !strings.Contains(ae.Msg, agent.ErrNotThisNode.Error()) {
		t.Errorf("unfence m3 on m1 = %v, want 409 %q", err, agent.ErrNotThisNode)
	}
}

// subscribe streams the node's events from now on.
func subscribe(t *testing.T, n *node) <-chan agent.Event {
	t.Helper()
	ch := make(chan agent.Event, 256)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() { _ = n.client.Events(ctx, -1, func(e agent.Event) error { ch <- e; return nil }) }()
	time.Sleep(50 * time.Millisecond) // the stream is open
	return ch
}

// actor is one way of reaching Agent.Do: the API or the direct path.
type actor struct {
	act   func(ctx context.Context, a agent.Action, node string) (agent.ActionResult, error)
	hub   *agent.Hub
	latch agent.StateFile
}

// The API and fence_hwagent's direct path run the same script with the
// same answers, because both go through Agent.Do: a latched (fenced) node
// refuses acquire, a fence of itself or of a stranger is refused, an
// unfence the read-back does not confirm leaves it fenced, a confirmed one
// clears the latch, and a fence names its victim in the event.
func TestOneActionPath(t *testing.T) {
	testutil.SkipUnlessRoot(t) // the API socket is chowned to root
	ctx := context.Background()
	mk := func(t *testing.T, direct bool) (actor, *atomic.Bool) {
		dir := t.TempDir()
		cfg := membersConfig(t, dir, 1, 3)
		latch := agent.SelfFenceState(cfg.StateDir)
		if err := latch.Store(agent.Latch{Reason: "test: fenced before this start", Since: time.Now()}); err != nil {
			t.Fatal(err)
		}
		lun := agenttest.NewLUN("naa.600140500000000000000000000000dd")
		disks := memberDisks(lun, 3)
		for _, d := range disks[1:] {
			if err := d.Register(ctx); err != nil {
				t.Fatal(err)
			}
		}
		lose := &atomic.Bool{}
		deps := agent.Deps{Disks: []agent.Disk{lossyUnfence{Disk: disks[0], lose: lose}}, Logger: testLogger(t)}
		if direct {
			d, err := hw.NewDirectDeps(cfg, deps, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = d.Close() })
			return actor{act: func(ctx context.Context, a agent.Action, node string) (agent.ActionResult, error) {
				if a == agent.ActionFence {
					return d.Fence(ctx, node)
				}
				if node != "" {
					return agent.ActionResult{}, fmt.Errorf("%s %s: %w", a, node, agent.ErrNotThisNode)
				}
				return d.Action(ctx, a)
			}, hub: d.Hub(), latch: latch}, lose
		}
		n := startNode(t, cfg, deps)
		return actor{act: func(ctx context.Context, a agent.Action, node string) (agent.ActionResult, error) {
			switch a {
			case agent.ActionFence:
				return n.client.Fence(ctx, node)
			case agent.ActionUnfence:
				return n.client.Unfence(ctx, node)
			}
			return n.client.Action(ctx, a)
		}, hub: n.a.Hub(), latch: latch}, lose
	}
	type step struct {
		act     agent.Action
		node    string
		lose    bool
		wantErr error
	}
	script := []step{
		{act: agent.ActionAcquire, wantErr: agent.ErrFenced},
		{act: agent.ActionFence, node: "m1", wantErr: agent.ErrSelfFence},
		{act: agent.ActionFence, node: "zz", wantErr: agent.ErrUnknownNode},
		{act: agent.ActionUnfence, lose: true, wantErr: agent.ErrStillFenced},
		{act: agent.ActionAcquire, wantErr: agent.ErrFenced},
		{act: agent.ActionUnfence},
		{act: agent.ActionAcquire},
		{act: agent.ActionFence, node: "m3"},
	}
	for _, direct := range []bool{false, true} {
		t.Run(map[bool]string{false: "api", true: "direct"}[direct], func(t *testing.T) {
			a, lose := mk(t, direct)
			for i, s := range script {
				lose.Store(s.lose)
				res, err := a.act(ctx, s.act, s.node)
				switch {
				case s.wantErr == nil && err != nil:
					t.Fatalf("step %d %s %s: %v", i, s.act, s.node, err)
				case s.wantErr != nil && (err == nil || !strings.Contains(err.Error(), s.wantErr.Error())):
					t.Fatalf("step %d %s %s = %v, want %q", i, s.act, s.node, err, s.wantErr)
				}
				if s.act == agent.ActionUnfence && s.wantErr == nil {
					if _, latched, _ := a.latch.Load(); latched {
						t.Errorf("step %d: the latch survived a confirmed unfence", i)
					}
				}
				if s.act == agent.ActionFence && s.wantErr == nil {
					if res.Node != "m3" || len(res.Disks) != 1 || slices.ContainsFunc(res.Disks[0].Members, func(k agent.MemberKey) bool { return k.ID == 3 && k.Registered }) {
						t.Errorf("fence m3: %+v", res)
					}
				}
			}
			backlog, _, cancel := a.hub.Subscribe(0)
			cancel()
			var kinds []string
			for _, e := range backlog {
				if e.Source == "disk" && strings.HasPrefix(e.Kind, "unfence") || e.Source == "disk" && e.Kind == "fence" {
					kinds = append(kinds, fmt.Sprintf("%s:%v", e.Kind, e.Data["node"]))
				}
			}
			if want := []string{"unfence-failed:m1", "unfence:m1", "fence:m3"}; !slices.Equal(kinds, want) {
				t.Errorf("events %v, want %v", kinds, want)
			}
		})
	}
}

// The direct path arms no watchdog: a node that sees its own key vanish
// between two reads there (self_fence.action watchdog) stores the latch,
// and the next agent start comes up fenced.
func TestDirectSelfFenceWithoutWatchdog(t *testing.T) {
	ctx := context.Background()
	cfg := membersConfig(t, t.TempDir(), 1, 3)
	cfg.SelfFence.Action = "watchdog"
	lun := agenttest.NewLUN("naa.600140500000000000000000000000ee")
	disks := memberDisks(lun, 3)
	for _, d := range disks {
		if err := d.Register(ctx); err != nil {
			t.Fatal(err)
		}
	}
	d, err := hw.NewDirectDeps(cfg, agent.Deps{Disks: []agent.Disk{disks[0]}, Logger: testLogger(t)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ds, _ := d.Disks(ctx); len(ds) != 1 || !ds[0].Registered {
		t.Fatalf("first read %+v", ds)
	}
	if err := disks[1].FenceNode(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if ds, _ := d.Disks(ctx); len(ds) != 1 || ds[0].Registered {
		t.Fatalf("second read %+v", ds)
	}
	if _, latched, err := agent.SelfFenceState(cfg.StateDir).Load(); err != nil || !latched {
		t.Errorf("latch stored = %v, %v", latched, err)
	}
}
