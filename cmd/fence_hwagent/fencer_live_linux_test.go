package main

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/internal/rig/pcmk"
)

// The tests in this file each start a cluster of their own (about 25 s):
// they fence live members, cut links and restart Pacemaker, which the
// shared cluster of the other tests could not survive.

func client(n *pcmk.Node) *agent.Client {
	return agent.NewClient(filepath.Join(n.Dir, "hwagent.sock"))
}

// oneDisk reads the node's one disk from its agent.
func oneDisk(ctx context.Context, n *pcmk.Node) (agent.DiskStatus, bool) {
	d, err := client(n).Disks(ctx)
	if err != nil || len(d) != 1 || d[0].Error != "" {
		return agent.DiskStatus{}, false
	}
	return d[0], true
}

func fenced(ctx context.Context, n *pcmk.Node) bool {
	st, err := client(n).Status(ctx)
	return err == nil && st.Fenced
}

// TestIntegrationFencerLiveMember fences the node that runs the disk, a
// live cluster member, with `stonith_admin --fence` from the other node;
// then that node's Pacemaker is started again: the fencer unfences it
// (automatic unfencing) and `stonith_admin --unfence` succeeds.
func TestIntegrationFencerLiveMember(t *testing.T) {
	c := pcmk.ForTest(t, pcmk.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	victim, survivor := pcmk.MustConfigureGroup(ctx, t, c)
	vd, ok := oneDisk(ctx, victim)
	if !ok || !vd.Registered || vd.Holder != vd.OwnKey {
		t.Fatalf("before the fence %s's agent reads %+v: want it registered and holding", victim.Name, vd)
	}

	logAt := len(victim.Log("pacemaker.log"))
	start := time.Now()
	out, err := survivor.Run(ctx, "stonith_admin", "--fence", victim.Name, "--timeout", "30")
	took := time.Since(start)
	if err != nil {
		t.Fatalf("stonith_admin --fence %s: %v\n%s pacemaker.log: %s", victim.Name, err, survivor.Name, survivor.Tail("pacemaker.log"))
	}
	t.Logf("stonith_admin --fence %s on %s: %v: %s", victim.Name, survivor.Name, took.Round(time.Millisecond), strings.TrimSpace(out))
	if d, ok := oneDisk(ctx, survivor); !ok || d.PeerRegistered || !d.Registered {
		t.Errorf("right after the fence %s's agent reads %+v: want %s's key gone and its own there", survivor.Name, d, victim.Name)
	}
	// Two outcomes are Pacemaker's own, depending on who is first: the
	// fenced node's Pacemaker stops itself (fence-reaction=stop) and its
	// agent latches fenced; or, while it is still a member, the DC unfences
	// it at once (fence_hwagent on, run on the node). Its key may come back
	// only through such an 'on'.
	unfencedBy := regexp.MustCompile(`Operation 'on' targeting ` + victim.Name + ` by ` + victim.Name + ` for .*: OK`)
	var reUnfenced bool
	seen := pcmk.Eventually(ctx, t, 15*time.Second, victim.Name+"'s agent reports fenced, or the fencer unfences it", func() bool {
		if fenced(ctx, victim) {
			return true
		}
		d, ok := oneDisk(ctx, victim)
		if ok && d.Registered {
			// The agent sees the key as soon as fence_hwagent's on has
			// registered it; the fencer logs the operation's result a
			// moment later, when fence_hwagent has exited.
			logged := false
			for end := time.Now().Add(10 * time.Second); !logged && time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
				logged = unfencedBy.MatchString(victim.Log("pacemaker.log")[logAt:])
			}
			if !logged {
				t.Fatalf("%s's key is back after the fence with no 'on' by the fencer (none logged within 10 s): %+v", victim.Name, d)
			}
			reUnfenced = true
			return true
		}
		return false
	})
	if reUnfenced {
		t.Logf("%s was still a member: the DC unfenced it through the fencer %v after the fence returned", victim.Name, seen.Round(time.Millisecond))
	} else {
		t.Logf("%s's agent reports fenced %v after the fence returned", victim.Name, seen.Round(time.Millisecond))
		if _, err := client(victim).Action(ctx, "acquire"); err == nil {
			t.Errorf("acquire on the fenced %s succeeded", victim.Name)
		}
		// Pacemaker on the fenced node stops itself; the survivor runs the
		// disk and the dummy.
		pcmk.Eventually(ctx, t, 30*time.Second, victim.Name+"'s pacemakerd stops", func() bool { return !victim.PacemakerRunning(ctx) })
		// The DC may have scheduled an unfence of the victim while it was
		// still a member ("Fence (on) ... required by fence-hw monitor");
		// once the victim has stopped, that 'on' can run nowhere and the
		// transition waits for its fencing timeout (60 s) before it starts
		// the group here: wait past it.
		if err := survivor.WaitFor(ctx, 100*time.Second, "disk and dummy on the survivor", func(s pcmk.Status) bool {
			return s.RunningOn("disk") == survivor.Name && s.RunningOn("dummy") == survivor.Name
		}); err != nil {
			t.Fatalf("%v\n%s", err, survivor.Tail("pacemaker.log"))
		}
		if d, ok := oneDisk(ctx, survivor); !ok || d.Holder != d.OwnKey || d.PeerRegistered {
			t.Errorf("%s's agent reads %+v: want it holding, %s's key absent", survivor.Name, d, victim.Name)
		}
		if !fenced(ctx, victim) && !unfencedBy.MatchString(victim.Log("pacemaker.log")[logAt:]) {
			t.Errorf("%s's agent no longer reports fenced, with nothing unfencing it", victim.Name)
		}
	}

	// The fenced node comes back: Pacemaker unfences it (fence_hwagent on,
	// run on the node itself) before it may run anything there.
	back := time.Now()
	if !victim.PacemakerRunning(ctx) {
		if err := victim.StartPacemaker(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.WaitOnline(ctx, survivor, 90*time.Second); err != nil {
		t.Fatalf("%v\n%s pacemaker.log: %s", err, victim.Name, victim.Tail("pacemaker.log"))
	}
	pcmk.Eventually(ctx, t, 60*time.Second, victim.Name+" unfenced by the fencer", func() bool {
		d, ok := oneDisk(ctx, victim)
		return ok && d.Registered && !fenced(ctx, victim)
	})
	t.Logf("%s: Pacemaker started again, online and unfenced (key back, agent clear) after %v", victim.Name, time.Since(back).Round(time.Millisecond))
	if log := victim.Log("pacemaker.log"); !regexp.MustCompile(`Operation '?on'? .*targeting ` + victim.Name + `.*OK`).MatchString(log) {
		t.Errorf("%s's log shows no successful unfence (on) of itself", victim.Name)
	}
	// An explicit unfence of the member through the fencer.
	if out, err := survivor.Run(ctx, "stonith_admin", "--unfence", victim.Name, "--timeout", "30"); err != nil {
		t.Errorf("stonith_admin --unfence %s: %v", victim.Name, err)
	} else {
		t.Logf("stonith_admin --unfence %s: %s", victim.Name, strings.TrimSpace(out))
	}
	vd, ok = oneDisk(ctx, victim)
	sd, ok2 := oneDisk(ctx, survivor)
	if !ok || !ok2 || !vd.Registered || !sd.Registered || vd.Holder != sd.Holder || vd.Holder == "" {
		t.Errorf("after the unfence: %s reads %+v, %s reads %+v: want both registered and one holder", victim.Name, vd, survivor.Name, sd)
	}
}

// TestIntegrationFencerHealedPartition cuts the heartbeat link of the
// node that runs the disk (the storage path stays): the other node fences
// it and takes the group. The group prefers the fenced node; once the
// link is back, no resource runs there while its key is off the disk.
func TestIntegrationFencerHealedPartition(t *testing.T) {
	// A fence delay step of 3 s (hwagent's default is 5 s): 500 ms is
	// less than the head start a DC has over the other partition on a
	// loaded machine, and node-b then won the race.
	c := pcmk.ForTest(t, pcmk.Config{DelayStepMS: 3000})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	a, b := c.Nodes()[0], c.Nodes()[1]
	// node-b: fence priority 1, so it waits delay_step_ms (3 s) before it
	// fences, and node-a wins the race.
	holder, _ := pcmk.MustConfigureGroup(ctx, t, c, `<rsc_location id="dummy-prefers-b" rsc="dummy" node="node-b" score="100"/>`)
	if holder != b {
		t.Fatalf("the group runs on %s: want node-b (its location preference)", holder.Name)
	}
	cut := time.Now()
	if err := c.SetLink(ctx, b, pcmk.Ring, false); err != nil {
		t.Fatal(err)
	}
	fence := pcmk.Eventually(ctx, t, 60*time.Second, "node-a fences node-b", func() bool {
		d, ok := oneDisk(ctx, a)
		return ok && !d.PeerRegistered && d.Holder != "" && d.Holder == d.OwnKey
	})
	if err := a.WaitFor(ctx, 60*time.Second, "the group on node-a", func(s pcmk.Status) bool {
		return s.RunningOn("disk") == a.Name && s.RunningOn("dummy") == a.Name
	}); err != nil {
		t.Fatalf("%v\nnode-a pacemaker.log: %s", err, a.Tail("pacemaker.log"))
	}
	up := time.Since(cut)
	pcmk.Eventually(ctx, t, 10*time.Second, "node-b's agent reports fenced", func() bool { return fenced(ctx, b) })
	t.Logf("heartbeat link of node-b cut: node-b's key gone and node-a holding after %v, the group on node-a after %v", fence.Round(time.Millisecond), up.Round(time.Millisecond))

	logAtHeal := len(b.Log("pacemaker.log"))
	heal := time.Now()
	if err := c.SetLink(ctx, b, pcmk.Ring, true); err != nil {
		t.Fatal(err)
	}
	// For 20 s after the heal, every view of the cluster is checked. Until
	// node-b has merged, its own view may still show the group where it
	// was before the cut (stale: its key is gone, so the LUN refuses its
	// writes); once a view shows nothing on node-b, none may show a
	// resource there again while node-b's key is off the disk.
	var views, stale int
	cleared := time.Duration(0)
	for time.Since(heal) < 20*time.Second && ctx.Err() == nil {
		for _, n := range c.Nodes() {
			s, err := n.Status(ctx)
			if err != nil {
				continue // Pacemaker not running there
			}
			views++
			onB := s.RunningOn("disk") == b.Name || s.RunningOn("dummy") == b.Name
			switch {
			case onB && cleared == 0:
				stale++
			case onB:
				if d, ok := oneDisk(ctx, b); !ok || !d.Registered || fenced(ctx, b) {
					t.Fatalf("%v after the heal (%v after node-b's view cleared), %s's view has the group on node-b while node-b's agent reads %+v (fenced %v): %+v", time.Since(heal).Round(time.Millisecond), cleared.Round(time.Millisecond), n.Name, d, fenced(ctx, b), s)
				}
			case n == b && cleared == 0:
				cleared = time.Since(heal)
			}
		}
		da, okA := oneDisk(ctx, a)
		db, okB := oneDisk(ctx, b)
		if okA && okB && da.Owner && db.Owner {
			t.Fatalf("both agents report owning the disk: %+v / %+v", da, db)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("after the heal: node-b's own view showed the group on node-b (stale) %d times, cleared %v after the heal; %d views in 20 s, none with a resource on node-b after that; node-b's pacemakerd running: %v, its agent fenced: %v", stale, cleared.Round(time.Millisecond), views, b.PacemakerRunning(ctx), fenced(ctx, b))
	if cleared == 0 && b.PacemakerRunning(ctx) {
		t.Errorf("node-b's view never stopped showing the group on node-b")
	}
	// Pacemaker on the rejoined node-b (still running: self_fence is
	// event) tries to bring the group back where it prefers to run; the
	// start must be refused, never succeed.
	after := b.Log("pacemaker.log")[logAtHeal:]
	refused := strings.Count(after, "Result of start operation for disk on node-b: error")
	if regexp.MustCompile(`Result of start operation for (disk|dummy) on node-b: ok`).MatchString(after) {
		t.Errorf("a resource started on the fenced node-b after the heal:\n%s", pcmk.GrepAgents(after))
	}
	t.Logf("node-b's log after the heal: %d start(s) of disk on node-b refused by hakit-disk (node fenced)", refused)
	if s, err := a.Status(ctx); err != nil || s.RunningOn("disk") == "" || s.RunningOn("dummy") != s.RunningOn("disk") {
		t.Errorf("after the heal node-a reads %+v, %v: want the group running on one node", s, err)
	}
}

// TestIntegrationFencerSCSI2 runs the cluster with the disk in scsi2 mode:
// a fence of the live owner fails (it defends its reservation), and once
// the owner is powered off the fencer's fence succeeds and the group
// moves.
func TestIntegrationFencerSCSI2(t *testing.T) {
	c := pcmk.ForTest(t, pcmk.Config{SCSI2: true})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	owner, other := pcmk.MustConfigureGroup(ctx, t, c)
	if d, ok := oneDisk(ctx, owner); !ok || d.Mode != agent.ModeSCSI2 || !d.Owner {
		t.Fatalf("%s's agent reads %+v: want a scsi2 disk it owns", owner.Name, d)
	}

	start := time.Now()
	_, err := other.Run(ctx, "stonith_admin", "--fence", owner.Name, "--timeout", "30")
	t.Logf("stonith_admin --fence %s (live, defending) on %s: %v after %v", owner.Name, other.Name, err, time.Since(start).Round(time.Millisecond))
	if err == nil {
		t.Fatalf("the fence of the live scsi2 owner %s succeeded", owner.Name)
	}
	if d, ok := oneDisk(ctx, owner); !ok || !d.Owner {
		t.Errorf("after the failed fence %s's agent reads %+v: want it still owning", owner.Name, d)
	}
	if s, err := other.Status(ctx); err != nil || s.RunningOn("dummy") != owner.Name {
		t.Errorf("after the failed fence: %+v, %v: want the group still on %s", s, err, owner.Name)
	}
	if !regexp.MustCompile(`alive and keeps the disk`).MatchString(other.Log("pacemaker.log")) {
		t.Errorf("%s's fencer log does not say why the fence failed", other.Name)
	}

	kill := time.Now()
	if err := owner.Kill(); err != nil {
		t.Fatal(err)
	}
	held := pcmk.Eventually(ctx, t, 60*time.Second, other.Name+" holds the disk", func() bool {
		d, ok := oneDisk(ctx, other)
		return ok && d.Owner
	})
	if err := other.WaitFor(ctx, 60*time.Second, "the group on the survivor", func(s pcmk.Status) bool {
		return s.RunningOn("disk") == other.Name && s.RunningOn("dummy") == other.Name
	}); err != nil {
		t.Fatalf("%v\n%s", err, other.Tail("pacemaker.log"))
	}
	t.Logf("scsi2: kill of %s: %s holds the disk after %v, the group runs there after %v", owner.Name, other.Name, held.Round(time.Millisecond), time.Since(kill).Round(time.Millisecond))
	if log := other.Log("pacemaker.log"); !regexp.MustCompile(`Operation '(reboot|off)' targeting ` + owner.Name + ` by ` + other.Name + ` for .*: OK`).MatchString(log) {
		t.Errorf("%s's fencer log has no successful fence of %s", other.Name, owner.Name)
	}
}
