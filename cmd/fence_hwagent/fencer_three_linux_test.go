package main

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/internal/rig/pcmk"
)

// TestIntegrationFencerThreeNodes runs three members on one LUN with real
// quorum (no two_node): fence_hwagent is the stonith device of every node
// (pcmk_host_list names all three, each hwagent lists the other two in
// peers:), with hakit-disk and a Dummy, and the disk heartbeat on an SBD
// LUN. The member running them is killed: the real fencer fences it
// through fence_hwagent (its key goes from the LUN, the fencing survivor
// holds the reservation for lockout only), the two survivors keep quorum
// and one of them runs the group, with no failed start anywhere: a start
// on the survivor that did not fence goes through the handover (its
// request on the disk heartbeat, the holder's REGISTER AND MOVE).
func TestIntegrationFencerThreeNodes(t *testing.T) {
	c := pcmk.ForTest(t, pcmk.Config{Nodes: 3, SBD: true})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	victim, _ := pcmk.MustConfigureGroup(ctx, t, c)
	survivors := c.Others(victim)
	// Every member was unfenced by the fencer (fence_hwagent on, run on
	// each node): three keys on the LUN, the victim's holding it.
	vd, ok := oneDisk(ctx, victim)
	if !ok || !vd.Registered || vd.Holder != vd.OwnKey {
		t.Fatalf("before the kill, %s's agent reads %+v (ok %v): want its key registered and holding (hakit-disk started there)", victim.Name, vd, ok)
	}
	victimKey := vd.OwnKey
	for _, s := range survivors {
		d, ok := oneDisk(ctx, s)
		if !ok || !d.Registered || len(d.Keys) != 3 || d.Holder != victimKey {
			t.Fatalf("before the kill, %s's agent reads %+v (ok %v): want 3 keys registered and %s (%s) holding", s.Name, d, ok, victim.Name, victimKey)
		}
	}
	t.Logf("group on %s; keys %v; killing every process of %s", victim.Name, vd.Keys, victim.Name)

	kill := time.Now()
	if err := victim.Kill(); err != nil {
		t.Fatal(err)
	}
	// Fenced: the victim's key gone from the LUN (read by a survivor's
	// agent), and Pacemaker no longer holds the victim unclean (it records
	// a node as clean only after a successful fence).
	watch := survivors[0]
	var goneAt, fencedAt, startedAt time.Duration
	var on string
	var last pcmk.Status
	for fencedAt == 0 || startedAt == 0 {
		if ctx.Err() != nil || time.Since(kill) > 90*time.Second {
			t.Fatalf("after the kill: key gone after %v, fenced after %v, group started after %v (0 = not yet); last status %+v\n%s pacemaker.log: %s", goneAt, fencedAt, startedAt, last, watch.Name, watch.Tail("pacemaker.log"))
		}
		if goneAt == 0 {
			if d, ok := oneDisk(ctx, watch); ok && !slices.Contains(d.Keys, victimKey) {
				goneAt = time.Since(kill)
			}
		}
		if s, err := watch.Status(ctx); err == nil {
			last = s
			for _, n := range s.Nodes {
				if n.Name == victim.Name && !n.Online && !n.Unclean && goneAt != 0 && fencedAt == 0 {
					fencedAt = time.Since(kill)
				}
			}
			if r := s.RunningOn("dummy"); startedAt == 0 && r != "" && r != victim.Name && s.RunningOn("disk") == r {
				startedAt, on = time.Since(kill), r
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("kill of %s (3 members): its key gone from the LUN after %v, fenced in Pacemaker's view after %v, disk and dummy started on %s after %v", victim.Name, goneAt.Round(time.Millisecond), fencedAt.Round(time.Millisecond), on, startedAt.Round(time.Millisecond))

	// The fencer of a survivor ran fence_hwagent for the victim and it
	// succeeded.
	fenceOK := regexp.MustCompile(`Operation '(reboot|off)' targeting ` + victim.Name + ` by (node-[a-p]) for .*: OK`)
	var by string
	for _, s := range survivors {
		if m := fenceOK.FindStringSubmatch(s.Log("pacemaker.log")); m != nil {
			by = m[2]
		}
	}
	if by == "" || by == victim.Name {
		t.Errorf("no survivor's fencer log has a successful fence of %s (by %q)", victim.Name, by)
	}
	for _, s := range survivors {
		if out, err := s.Run(ctx, "stonith_admin", "--last", victim.Name); err != nil || !strings.Contains(out, "last fenced at") {
			t.Errorf("stonith_admin --last %s on %s: %q, %v", victim.Name, s.Name, out, err)
		}
		st, err := s.Status(ctx)
		if err != nil || !st.Quorate() || !st.Online(survivors[0].Name) || !st.Online(survivors[1].Name) {
			t.Errorf("%s after the fence: %+v, %v: want both survivors online with quorum", s.Name, st, err)
		}
		d, ok := oneDisk(ctx, s)
		if !ok || slices.Contains(d.Keys, victimKey) || len(d.Keys) != 2 || !d.Registered || (s.Name == on) != (d.Holder == d.OwnKey) {
			t.Errorf("after the fence, %s's agent reads %+v (ok %v): want %s's key %s gone, the two survivors' keys left and %s holding", s.Name, d, ok, victim.Name, victimKey, on)
		}
	}
	t.Logf("fenced by %s's fencer", by)
	// No failed action anywhere: no failed start of the disk (the
	// handover, not a refused acquire and a ban), no fail count.
	failed := regexp.MustCompile(`disk_start_0@(node-[a-p]) output \[ (.*)`)
	for _, s := range survivors {
		for _, m := range failed.FindAllStringSubmatch(s.Log("pacemaker.log"), -1) {
			t.Errorf("the disk's start failed on %s before it ran on %s: %s", m[1], on, strings.TrimSuffix(strings.TrimSuffix(m[2], " ]"), `\n`))
		}
		st, err := s.Status(ctx)
		if err != nil {
			t.Errorf("crm_mon on %s: %v", s.Name, err)
			continue
		}
		if len(st.Failures) != 0 || len(st.FailCounts()) != 0 {
			t.Errorf("%s's crm_mon: failed actions %+v, fail counts %v: want none", s.Name, st.Failures, st.FailCounts())
		}
	}
	// Who fenced and who runs: the handover ran when they differ.
	for _, s := range survivors {
		ectx, cancel := context.WithTimeout(ctx, time.Second)
		_ = client(s).Events(ectx, 0, func(e agent.Event) error {
			if strings.HasPrefix(e.Kind, "handover") {
				t.Logf("%s: event %s: %s", s.Name, e.Kind, e.Msg)
			}
			return nil
		})
		cancel()
	}
}
