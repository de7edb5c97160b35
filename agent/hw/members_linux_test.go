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
	"github.com/hakit/hakit/internal/rig/rigpair"
	"github.com/hakit/hakit/nic"
)

// members starts n agents on one tgtd LUN (rigpair.MembersFor).
func members(t *testing.T, n int) (paths []string, clients []*agent.Client) {
	return membersWith(t, n, nil)
}

func membersWith(t *testing.T, n int, extra func(i, j int) string) (paths []string, clients []*agent.Client) {
	ms := rigpair.MembersFor(t, n, extra, testLogger(t))
	return ms.Paths, ms.Clients
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
func TestIntegrationFourMembersFenceEachInTurn(t *testing.T) { fenceEachInTurn(t, 4) }

// Sixteen members, the most a configuration names: the same, fifteen
// fences in turn.
func TestIntegrationSixteenMembersFenceEachInTurn(t *testing.T) { fenceEachInTurn(t, agent.MaxMembers) }

func fenceEachInTurn(t *testing.T, n int) {
	paths, cs := members(t, n)
	ctx := context.Background()
	for _, c := range cs {
		if _, err := c.Action(ctx, agent.ActionRegister); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cs[0].Action(ctx, agent.ActionAcquire); err != nil {
		t.Fatal(err)
	}
	var want []string
	var list strings.Builder
	for i := 1; i <= n; i++ {
		want = append(want, fmt.Sprintf("m%d", i))
		fmt.Fprintf(&list, "m%d,\n", i)
	}
	all := slices.Clone(want)
	slices.Sort(want)
	if reg, holder := keysOn(t, cs[n-1]); !slices.Equal(reg, want) || holder != "m1" {
		t.Fatalf("before: registered %v holder %q", reg, holder)
	}
	var out, errb bytes.Buffer
	stdin := "action=list\nconfig=" + paths[0] + "\n"
	if code := fence.Run(ctx, nil, strings.NewReader(stdin), &out, &errb, fence.Deps{}); code != fence.ExitOK || out.String() != list.String() {
		t.Fatalf("list: exit %d %q %s", code, out.String(), errb.String())
	}
	var total time.Duration
	for v := 1; v < n; v++ {
		victim := fmt.Sprintf("m%d", v+1)
		out.Reset()
		errb.Reset()
		start := time.Now()
		stdin := "action=off\nplug=" + victim + "\nconfig=" + paths[0] + "\n"
		if code := fence.Run(ctx, nil, strings.NewReader(stdin), &out, &errb, fence.Deps{}); code != fence.ExitOK {
			t.Fatalf("off %s: exit %d: %s %s", victim, code, out.String(), errb.String())
		}
		took := time.Since(start)
		total += took
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
	t.Logf("%d members: %d fences in %v, %v each on average", n, n-1, total.Round(time.Millisecond), (total / time.Duration(n-1)).Round(time.Millisecond))
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
	slices.Sort(all)
	if reg, holder := keysOn(t, cs[0]); !slices.Equal(reg, all) || holder != "m1" {
		t.Fatalf("after the unfences: registered %v holder %q", reg, holder)
	}
}

// memberOf finds name in a status's members.
func memberOf(st agent.Status, name string) agent.MemberStatus {
	for _, m := range st.Members {
		if m.Name == name {
			return m
		}
	}
	return agent.MemberStatus{}
}

// Three members, m1 cabled to m2 and to m3 (two point-to-point cables, no
// cable between m2 and m3): m1 runs one heartbeat per cable and its
// status gives each member's serial state; cutting the m1-m2 cable makes
// m2 dead on the serial path (the event names m2) while m3 stays alive.
func TestIntegrationSerialLinkPerMember(t *testing.T) {
	ab := rig.CableFor(t, rig.CableConfig{})
	ac := rig.CableFor(t, rig.CableConfig{})
	key := filepath.Join(t.TempDir(), "hb.key")
	if err := os.WriteFile(key, []byte("rig-shared-key-0123456789abcdef-members"), 0o600); err != nil {
		t.Fatal(err)
	}
	port := map[[2]int]string{{1, 2}: ab.Path(rig.A), {2, 1}: ab.Path(rig.B), {1, 3}: ac.Path(rig.A), {3, 1}: ac.Path(rig.B)}
	_, cs := membersWith(t, 3, func(i, j int) string {
		if j == 0 {
			return "serial: {baud: 115200, key_file: " + key + ", realtime_priority: -1}\n"
		}
		if p, ok := port[[2]int{i, j}]; ok {
			return ", serial_port: " + p
		}
		return ""
	})
	ctx := context.Background()
	waitStates := func(what string, want map[string]string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			st, err := cs[0].Status(ctx)
			ok := err == nil
			for name, s := range want {
				ok = ok && memberOf(st, name).Serial == s
			}
			if ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: m1's members %+v (%v), want serial %v", what, st.Members, err, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitStates("both cables up", map[string]string{"m2": "alive", "m3": "alive", "m1": ""})
	ev := collect(t, cs[0])
	ab.Cut()
	ev.wait(t, "m2 dead on the serial path", func(e agent.Event) bool {
		return e.Source == "heartbeat" && e.Kind == "dead" && e.Data["member"] == "m2"
	})
	waitStates("m1-m2 cable cut", map[string]string{"m2": "dead", "m3": "alive"})
	// The cable test answers with the worst cable's report, and names it.
	rep, err := cs[0].CableTest(ctx)
	if err != nil || rep.Member != "m2" || rep.Port != ab.Path(rig.A) || rep.Received != 0 {
		t.Errorf("cable test with the m1-m2 cable cut: %+v %v, want m2's cable %s with no pong", rep, err, ab.Path(rig.A))
	}
	ab.Reconnect()
	waitStates("m1-m2 cable back", map[string]string{"m2": "alive", "m3": "alive"})
}

// The NIC probe checks every member's address: on the rig's veth link
// the member at B's address answers, one at an address nobody holds on
// the link does not, and MemberStates gives each.
func TestIntegrationNICProbesEveryMember(t *testing.T) {
	nw := rig.NetFor(t, rig.NetConfig{})
	b := nw.Addr(rig.B).Addr()
	silent := b.Next().Next().Next() // .5 on the link's /24: nobody
	n := &hw.NIC{Interface: nw.Interface(rig.A), NetNS: nw.Namespace(rig.A), Peer: b, Members: []hw.NICMember{{Name: "m2", Addr: b}, {Name: "m3", Addr: silent}}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := n.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Members) != 2 || st.Members[0].Member != "m2" || st.Probe == nil || st.Probe.State != nic.ProbeReachable {
		t.Fatalf("status %+v", st)
	}
	got := n.MemberStates(ctx)
	if got["m2"] != string(nic.ProbeReachable) || got["m3"] == "" || got["m3"] == string(nic.ProbeReachable) {
		t.Errorf("member states %v, want m2 reachable and m3 not", got)
	}
	t.Logf("member states %v", got)
}
