package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hakit/hakit/internal/rig/pcmk"
	"github.com/hakit/hakit/internal/testutil"
)

// attr reads one node attribute of node through attrd ("" when unset).
func attr(ctx context.Context, from *pcmk.Node, name, node string) string {
	out, err := from.Run(ctx, "attrd_updater", "-Q", "-n", name, "-N", node)
	if err != nil {
		return ""
	}
	// name="hakit-nic-carrier" host="node-a" value="1"
	i := strings.Index(out, `value="`)
	if i < 0 {
		return ""
	}
	v := out[i+len(`value="`):]
	return v[:strings.IndexByte(v, '"')]
}

// TestIntegrationHealthMovesGroup runs hakit-health as a clone in the real
// cluster, under ocf-tester first, with a location rule on
// hakit-nic-carrier: pulling the heartbeat NIC of the node running the
// group moves the group, with no fence.
func TestIntegrationHealthMovesGroup(t *testing.T) {
	testutil.SkipUnlessTools(t, "ocf-tester")
	c := pcmk.ForTest(t, pcmk.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	a := c.Nodes()[0]
	// ocf-tester inside a node, where attrd runs (the agent publishes
	// through attrd_updater).
	out, err := a.Run(ctx, "ocf-tester", "-n", "health-test", "-o", "config="+pcmk.HwagentConfig, "-o", "dampen=0", "/usr/lib/ocf/resource.d/hakit/hakit-health")
	if err != nil || !strings.Contains(out, "passed all tests") {
		t.Fatalf("ocf-tester: %v\n%s", err, out)
	}
	rule := `<rsc_location id="disk-needs-nic" rsc="disk">
  <rule id="disk-needs-nic-rule" score="-INFINITY">
    <expression id="disk-needs-nic-expr" attribute="hakit-nic-carrier" operation="eq" value="0"/>
  </rule>
</rsc_location>`
	holder, other := pcmk.MustConfigureGroup(ctx, t, c, pcmk.HealthXML, rule)
	for _, n := range c.Nodes() {
		for name, want := range map[string]string{"hakit-nic-carrier": "1", "hakit-disk": "1", "hakit-fenced": "0"} {
			pcmk.Eventually(ctx, t, 30*time.Second, n.Name+" "+name+"="+want, func() bool { return attr(ctx, a, name, n.Name) == want })
		}
		if v := attr(ctx, a, "hakit-serial", n.Name); v != "" {
			t.Errorf("%s: hakit-serial=%q, but no serial cable is configured (unknown: want it unset)", n.Name, v)
		}
	}
	pcmk.Eventually(ctx, t, 30*time.Second, "nic-peer 1 on both", func() bool {
		return attr(ctx, a, "hakit-nic-peer", holder.Name) == "1" && attr(ctx, a, "hakit-nic-peer", other.Name) == "1"
	})

	pull := time.Now()
	if err := c.SetLink(ctx, holder, pcmk.Crossover, false); err != nil {
		t.Fatal(err)
	}
	seen := pcmk.Eventually(ctx, t, 30*time.Second, holder.Name+" hakit-nic-carrier=0", func() bool { return attr(ctx, a, "hakit-nic-carrier", holder.Name) == "0" })
	if err := a.WaitFor(ctx, 60*time.Second, "the group on "+other.Name, func(s pcmk.Status) bool {
		return s.RunningOn("disk") == other.Name && s.RunningOn("dummy") == other.Name
	}); err != nil {
		t.Fatal(err)
	}
	moved := time.Since(pull)
	t.Logf("heartbeat NIC of %s pulled: attribute hakit-nic-carrier=0 after %v, the group running on %s after %v", holder.Name, seen.Round(time.Millisecond), other.Name, moved.Round(time.Millisecond))
	// A move, not a fence: both nodes stay members, the old holder keeps
	// its registration.
	s, err := a.Status(ctx)
	if err != nil || !s.Online(holder.Name) || !s.Online(other.Name) {
		t.Errorf("after the move: %+v, %v: want both nodes online", s, err)
	}
	if v := attr(ctx, a, "hakit-fenced", holder.Name); v != "0" {
		t.Errorf("%s hakit-fenced=%q after a move, want 0", holder.Name, v)
	}
	pcmk.Eventually(ctx, t, 30*time.Second, other.Name+" sees the peer silent on the NIC", func() bool { return attr(ctx, a, "hakit-nic-peer", other.Name) == "0" })

	if err := c.SetLink(ctx, holder, pcmk.Crossover, true); err != nil {
		t.Fatal(err)
	}
	back := pcmk.Eventually(ctx, t, 30*time.Second, holder.Name+" hakit-nic-carrier=1 again", func() bool { return attr(ctx, a, "hakit-nic-carrier", holder.Name) == "1" })
	t.Logf("NIC plugged back: hakit-nic-carrier=1 after %v", back.Round(time.Millisecond))
}
