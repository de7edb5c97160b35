package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/internal/rig/pcmk"
)

// sbdFenceXML is fence_hwagent's poison-pill method as a stonith device
// (no provides=unfencing: a slot cannot be unfenced, it is cleared by hand).
const sbdFenceXML = `<primitive id="fence-sbd" class="stonith" type="fence_hwagent">
  <instance_attributes id="fence-sbd-ia">
    <nvpair id="fence-sbd-ia-config" name="config" value="` + pcmk.HwagentConfig + `"/>
    <nvpair id="fence-sbd-ia-method" name="method" value="sbd"/>
  </instance_attributes>
  <operations>
    <op id="fence-sbd-monitor" name="monitor" interval="10s"/>
  </operations>
</primitive>`

// TestIntegrationFencerSBD runs method=sbd under the real fencer, on an
// SBD device that is LUN 2 of the rig's target (msgwait 4 s): both agents
// see each other alive on the disk heartbeat; the fencer validates the
// method; `stonith_admin --fence node-b` from node-a writes the poison
// pill and returns only after msgwait; node-b's hwagent reads it and
// self-fences (latched: fenced, naming the sender).
func TestIntegrationFencerSBD(t *testing.T) {
	c := pcmk.ForTest(t, pcmk.Config{SBD: true})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	a, b := c.Nodes()[0], c.Nodes()[1]
	for _, pair := range [][2]*pcmk.Node{{a, b}, {b, a}} {
		n, peer := pair[0], pair[1]
		took := pcmk.Eventually(ctx, t, 30*time.Second, n.Name+" sees "+peer.Name+" alive on the disk path", func() bool {
			st, err := client(n).Status(ctx)
			if err != nil {
				return false
			}
			p, ok := st.DiskPeer(peer.Name)
			return ok && p.State == agent.PeerAlive
		})
		t.Logf("%s: %s alive on the disk heartbeat of %s %v after the cluster was up", n.Name, peer.Name, c.SBDURL(), took.Round(time.Millisecond))
	}
	if out, err := a.Run(ctx, "stonith_admin", "--validate", "--agent", "fence_hwagent", "--option", "config="+pcmk.HwagentConfig, "--option", "method=sbd"); err != nil {
		t.Fatalf("stonith_admin --validate method=sbd: %v", err)
	} else {
		t.Logf("stonith_admin --validate method=sbd: %s", strings.TrimSpace(out))
	}
	configureSBDFence(ctx, t, a)
	start := time.Now()
	out, err := a.Run(ctx, "stonith_admin", "--fence", b.Name, "--timeout", "30")
	took := time.Since(start)
	if err != nil {
		t.Fatalf("stonith_admin --fence %s (method=sbd): %v\n%s", b.Name, err, a.Tail("pacemaker.log"))
	}
	t.Logf("stonith_admin --fence %s (method=sbd) on %s: %v: %s", b.Name, a.Name, took.Round(time.Millisecond), strings.TrimSpace(out))
	if msgwait := time.Duration(pcmk.SBDHeader.Msgwait) * time.Second; took < msgwait {
		t.Errorf("the fence returned after %v, before msgwait %v: the victim may not have read its pill yet", took, msgwait)
	}
	pcmk.Eventually(ctx, t, 10*time.Second, b.Name+"'s agent reports fenced", func() bool { return fenced(ctx, b) })
	if log := b.Log("hwagent.log"); !strings.Contains(log, "sbd poison pill") || !strings.Contains(log, "from="+a.Name) {
		t.Errorf("%s's hwagent.log does not show the poison pill from %s:\n%s", b.Name, a.Name, b.Tail("hwagent.log"))
	}
	if _, err := client(b).Action(ctx, "acquire"); err == nil {
		t.Errorf("acquire on the fenced %s succeeded", b.Name)
	}
}

// configureSBDFence makes fence-sbd the cluster's one stonith device.
func configureSBDFence(ctx context.Context, t *testing.T, n *pcmk.Node) {
	t.Helper()
	for _, args := range [][]string{
		{"crm_attribute", "--type", "crm_config", "--name", "stonith-enabled", "--update", "true"},
		{"cibadmin", "-C", "-o", "resources", "-X", sbdFenceXML},
	} {
		if _, err := n.Run(ctx, args[0], args[1:]...); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.WaitFor(ctx, 60*time.Second, "fence-sbd started", func(s pcmk.Status) bool { return s.RunningOn("fence-sbd") != "" }); err != nil {
		t.Fatalf("%v\n%s", err, n.Tail("pacemaker.log"))
	}
}

// TestIntegrationFencerSBDFrozenVictim: node-a's hwagent is frozen
// (SIGSTOP), so its disk-heartbeat block stands still. node-b (fence
// priority 1 x 3000 ms) fences it through the fencer with method=sbd: the
// fence delay is skipped because the disk path says node-a is dead, the
// pill is still written and msgwait still waited; once node-a's agent
// wakes (SIGCONT) it reads the pill and self-fences, the case for which
// a fence is never skipped.
func TestIntegrationFencerSBDFrozenVictim(t *testing.T) {
	c := pcmk.ForTest(t, pcmk.Config{SBD: true, DelayStepMS: 3000})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	a, b := c.Nodes()[0], c.Nodes()[1]
	diskPeer := func(n *pcmk.Node, name string) string {
		st, err := client(n).Status(ctx)
		if err != nil {
			return ""
		}
		p, _ := st.DiskPeer(name)
		return p.State
	}
	pcmk.Eventually(ctx, t, 30*time.Second, b.Name+" sees "+a.Name+" alive on the disk path", func() bool { return diskPeer(b, a.Name) == agent.PeerAlive })
	configureSBDFence(ctx, t, a)
	if _, err := a.Run(ctx, "pkill", "-STOP", "-x", "hwagent"); err != nil {
		t.Fatal(err)
	}
	frozen := time.Now()
	took := pcmk.Eventually(ctx, t, 10*time.Second, b.Name+" sees "+a.Name+" dead on the disk path", func() bool { return diskPeer(b, a.Name) == agent.PeerDead })
	t.Logf("%s: %s's hwagent frozen; dead on the disk path %v later", b.Name, a.Name, took.Round(time.Millisecond))
	logAt := len(b.Log("pacemaker.log"))
	start := time.Now()
	out, err := b.Run(ctx, "stonith_admin", "--fence", a.Name, "--timeout", "30")
	fenceTook := time.Since(start)
	if err != nil {
		t.Fatalf("stonith_admin --fence %s (method=sbd): %v\n%s", a.Name, err, b.Tail("pacemaker.log"))
	}
	t.Logf("stonith_admin --fence %s (method=sbd) on %s: %v: %s", a.Name, b.Name, fenceTook.Round(time.Millisecond), strings.TrimSpace(out))
	msgwait := time.Duration(pcmk.SBDHeader.Msgwait) * time.Second
	if fenceTook < msgwait || fenceTook > msgwait+3*time.Second {
		t.Errorf("the fence took %v: want msgwait %v without the 3 s fence delay", fenceTook, msgwait)
	}
	if log := b.Log("pacemaker.log")[logAt:]; !strings.Contains(log, "skipped: "+a.Name+" is dead on the disk path") {
		t.Errorf("%s's pacemaker.log does not show the fence delay skipped", b.Name)
	}
	if fenced(ctx, b) {
		t.Errorf("%s reports itself fenced", b.Name)
	}
	if _, err := a.Run(ctx, "pkill", "-CONT", "-x", "hwagent"); err != nil {
		t.Fatal(err)
	}
	woke := time.Now()
	pcmk.Eventually(ctx, t, 10*time.Second, a.Name+"'s agent, woken, reads its pill and reports fenced", func() bool { return fenced(ctx, a) })
	t.Logf("%s's hwagent woke %v after it was frozen and self-fenced %v after waking", a.Name, woke.Sub(frozen).Round(time.Millisecond), time.Since(woke).Round(time.Millisecond))
	if log := a.Log("hwagent.log"); !strings.Contains(log, "sbd poison pill") || !strings.Contains(log, "from="+b.Name) {
		t.Errorf("%s's hwagent.log does not show the poison pill from %s:\n%s", a.Name, b.Name, a.Tail("hwagent.log"))
	}
}
