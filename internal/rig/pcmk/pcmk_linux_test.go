package pcmk

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/internal/testutil"
)

func TestIntegrationCluster(t *testing.T) {
	testutil.SkipUnlessRoot(t)
	testutil.SkipUnlessTools(t, append(Tools, "go")...)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	c, err := StartBuilt(ctx, Config{Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cluster online %v after start", time.Since(start).Round(time.Millisecond))
	dir := c.Dir()
	var inits []int
	for _, n := range c.Nodes() {
		inits = append(inits, n.init)
	}
	a := c.Nodes()[0]
	if out, err := a.Run(ctx, "hostname"); err != nil || strings.TrimSpace(out) != "node-a" {
		t.Errorf("hostname in node-a: %q, %v", out, err)
	}
	if out, err := a.Run(ctx, "sh", "-c", "ls /usr/sbin/fence_hwagent && fence_hwagent -o metadata | head -3"); err != nil {
		t.Errorf("fence_hwagent in node-a: %q, %v", out, err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("%s left behind", dir)
	}
	for _, ns := range []string{c.sw, a.netns, c.Nodes()[1].netns} {
		if _, err := os.Stat("/run/netns/" + ns); err == nil {
			t.Errorf("namespace %s left behind", ns)
		}
	}
	for _, pid := range inits {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			t.Errorf("node init %d left behind", pid)
		}
	}
}

// Three nodes: a nodelist of three without two_node, real quorum, and a
// ring of serial cables (a-b, b-c, c-a): every node runs a heartbeat on
// each of its two cables, and cutting one cable makes only that member
// dead on it, at both ends. A Dummy runs on one node; that node is killed (fencing off: this test is
// the membership's, fencing through fence_hwagent is cmd/fence_hwagent's
// TestIntegrationFencerThreeNodes); the two survivors keep quorum and run
// the Dummy. A second kill leaves one node of three: no quorum, the Dummy
// stops (no-quorum-policy stop).
func TestIntegrationClusterThree(t *testing.T) {
	testutil.SkipUnlessRoot(t)
	testutil.SkipUnlessTools(t, append(Tools, "go", "corosync-quorumtool")...)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	start := time.Now()
	c, err := StartBuilt(ctx, Config{Nodes: 3, Serial: true, Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	nodes := c.Nodes()
	t.Logf("3 nodes online %v after start", time.Since(start).Round(time.Millisecond))
	if len(nodes) != 3 || nodes[2].Name != "node-c" || nodes[2].ID != 3 {
		t.Fatalf("nodes %+v", nodes)
	}
	for _, n := range nodes {
		if conf := n.Log("corosync.conf"); strings.Contains(conf, "two_node") || strings.Count(conf, "ring0_addr") != 3 {
			t.Errorf("%s corosync.conf: want a nodelist of 3 and no two_node:\n%s", n.Name, conf)
		}
		if y := n.Log("hwagent.yaml"); !strings.Contains(y, "peers:") || strings.Count(y, "\n  - {name: node-") != 2 || strings.Contains(y, "\n  - {name: "+n.Name+",") {
			t.Errorf("%s hwagent.yaml: want the two other members in peers:\n%s", n.Name, y)
		}
		if out, err := n.Run(ctx, "corosync-quorumtool", "-s"); err != nil || !strings.Contains(out, "Expected votes:   3") || !strings.Contains(out, "Quorate:          Yes") {
			t.Errorf("%s corosync-quorumtool -s: %v\n%s", n.Name, err, out)
		}
		if y := n.Log("hwagent.yaml"); strings.Count(y, "serial_port: ") != 2 {
			t.Errorf("%s hwagent.yaml: want a serial_port for each of its two neighbours:\n%s", n.Name, y)
		}
	}
	serialRing(ctx, t, c)
	a := nodes[0]
	for _, args := range [][]string{
		{"crm_attribute", "--type", "crm_config", "--name", "stonith-enabled", "--update", "false"},
		{"cibadmin", "-C", "-o", "resources", "-X", DummyXML},
	} {
		if _, err := a.Run(ctx, args[0], args[1:]...); err != nil {
			t.Fatal(err)
		}
	}
	var victim *Node
	if err := a.WaitFor(ctx, 60*time.Second, "dummy started", func(s Status) bool {
		for _, n := range nodes {
			if s.RunningOn("dummy") == n.Name {
				victim = n
			}
		}
		return victim != nil && s.Quorate()
	}); err != nil {
		t.Fatal(err)
	}
	survivors := c.Others(victim)
	kill := time.Now()
	if err := victim.Kill(); err != nil {
		t.Fatal(err)
	}
	var on string
	if err := survivors[0].WaitFor(ctx, 60*time.Second, "dummy moved to a survivor with quorum", func(s Status) bool {
		on = s.RunningOn("dummy")
		return s.Quorate() && !s.Online(victim.Name) && on != "" && on != victim.Name
	}); err != nil {
		t.Fatal(err)
	}
	t.Logf("kill of %s: dummy started on %s, the two survivors quorate, after %v", victim.Name, on, time.Since(kill).Round(time.Millisecond))
	// One of three left: no quorum, nothing runs.
	second, last := survivors[0], survivors[1]
	if second.Name != on {
		second, last = survivors[1], survivors[0]
	}
	if err := second.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := last.WaitFor(ctx, 60*time.Second, "no quorum and dummy stopped on the last node", func(s Status) bool {
		return s.Summary.DC.Present && !s.Quorate() && s.RunningOn("dummy") == ""
	}); err != nil {
		t.Fatal(err)
	}
	if out, err := last.Run(ctx, "corosync-quorumtool", "-s"); !strings.Contains(out, "Quorate:          No") {
		t.Errorf("%s corosync-quorumtool -s with 1 of 3: %v\n%s", last.Name, err, out)
	}
}

// serialStates is each member's state on node n's serial cables, as its
// agent reports them.
func serialStates(ctx context.Context, n *Node) (map[string]string, error) {
	links, err := agent.NewClient(filepath.Join(n.Dir, filepath.Base(HwagentSocket))).HeartbeatLinks(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, l := range links {
		out[l.Member] = l.Status.State.String()
	}
	return out, nil
}

// serialRing checks the three-node ring of cables: every link alive, then
// the a-b cable cut (a sees b dead and c alive, b sees a dead and c
// alive, c sees both alive), then reconnected.
func serialRing(ctx context.Context, t *testing.T, c *Cluster) {
	t.Helper()
	nodes := c.Nodes()
	a, b := nodes[0], nodes[1]
	want := func(what string, states map[*Node]map[string]string) {
		t.Helper()
		start := time.Now()
		for deadline := start.Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			var bad []string
			for n, w := range states {
				got, err := serialStates(ctx, n)
				if err != nil || !maps.Equal(got, w) {
					bad = append(bad, fmt.Sprintf("%s: %v %v, want %v", n.Name, got, err, w))
				}
			}
			if len(bad) == 0 {
				t.Logf("%s after %v", what, time.Since(start).Round(time.Millisecond))
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %s", what, strings.Join(bad, "; "))
			}
		}
	}
	alive := map[*Node]map[string]string{
		nodes[0]: {"node-b": "alive", "node-c": "alive"},
		nodes[1]: {"node-a": "alive", "node-c": "alive"},
		nodes[2]: {"node-a": "alive", "node-b": "alive"},
	}
	want("every cable of the ring alive", alive)
	cable := c.CableBetween(a, b)
	if cable == nil || c.CableBetween(a, nodes[2]) == nil || c.CableBetween(b, nodes[2]) == nil || cable != c.Cable() {
		t.Fatalf("CableBetween: want a cable between every two of three nodes, the a-b one Cable()")
	}
	cable.Cut()
	want("a-b cut: dead on that cable only", map[*Node]map[string]string{
		nodes[0]: {"node-b": "dead", "node-c": "alive"},
		nodes[1]: {"node-a": "dead", "node-c": "alive"},
		nodes[2]: {"node-a": "alive", "node-b": "alive"},
	})
	cable.Reconnect()
	want("a-b reconnected", alive)
}
