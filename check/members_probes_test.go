package check

import (
	"context"
	"errors"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/nic"
	"github.com/hakit/hakit/raidctl"
	"github.com/hakit/hakit/scsi"
	"github.com/hakit/hakit/scsi/opener"
	"github.com/hakit/hakit/serialhb"
)

// In a cluster of more than two, the serial probe reads every cable of
// every reachable member, each named by its two ends.
func TestSerialCableProbeMembers(t *testing.T) {
	ring := func(left, right string) *fakeAgent {
		return &fakeAgent{cable: goodCable(), links: []agent.HeartbeatLink{
			{Member: left, Status: aliveHB(150 * time.Millisecond)}, {Member: right, Status: aliveHB(150 * time.Millisecond)}}}
	}
	with := func(a *fakeAgent, f func(*fakeAgent)) *fakeAgent { f(a); return a }
	// A ring a-b-c: each node has a cable to each of the two others.
	pass := "heartbeat (this node to b)=pass serial deadtime vs worst silence (this node to b)=pass heartbeat (this node to c)=pass serial deadtime vs worst silence (this node to c)=pass " +
		"heartbeat (b to a)=pass serial deadtime vs worst silence (b to a)=pass heartbeat (b to c)=pass serial deadtime vs worst silence (b to c)=pass " +
		"heartbeat (c to a)=pass serial deadtime vs worst silence (c to a)=pass heartbeat (c to b)=pass serial deadtime vs worst silence (c to b)=pass cable test=pass"
	runMemberCases(t, SerialCable, []memberCase{
		{"pass", []*fakeAgent{ring("b", "c"), ring("a", "c"), ring("a", "b")}, pass},
		{"b to c cut", []*fakeAgent{ring("b", "c"), with(ring("a", "c"), func(a *fakeAgent) { a.links[1].Status.State = serialhb.StateDead }), ring("a", "b")},
			strings.Replace(pass, "heartbeat (b to c)=pass", "heartbeat (b to c)=fail", 1)},
		{"stalls on c's cable to a", []*fakeAgent{ring("b", "c"), ring("a", "c"), with(ring("a", "b"), func(a *fakeAgent) { a.links[0].Status.MaxSilence = 600 * time.Millisecond })},
			strings.Replace(pass, "serial deadtime vs worst silence (c to a)=pass", "serial deadtime vs worst silence (c to a)=warn", 1)},
		{"c's heartbeat not configured", []*fakeAgent{ring("b", "c"), ring("a", "c"), {hbErr: &agent.APIError{Path: agent.PathHeartbeat, Code: 404, Msg: "heartbeat is not configured on this node"}}},
			"heartbeat (this node to b)=pass serial deadtime vs worst silence (this node to b)=pass heartbeat (this node to c)=pass serial deadtime vs worst silence (this node to c)=pass " +
				"heartbeat (b to a)=pass serial deadtime vs worst silence (b to a)=pass heartbeat (b to c)=pass serial deadtime vs worst silence (b to c)=pass heartbeat (c)=fail cable test=pass"},
		{"c's agent not reachable", []*fakeAgent{ring("b", "c"), ring("a", "c"), nil},
			"serial heartbeat (c)=skip heartbeat (this node to b)=pass serial deadtime vs worst silence (this node to b)=pass heartbeat (this node to c)=pass serial deadtime vs worst silence (this node to c)=pass " +
				"heartbeat (b to a)=pass serial deadtime vs worst silence (b to a)=pass heartbeat (b to c)=pass serial deadtime vs worst silence (b to c)=pass cable test=pass"},
		{"loss on one of this node's cables", []*fakeAgent{with(ring("b", "c"), func(a *fakeAgent) { a.cable.Received, a.cable.Loss = 49, 0.02 }), ring("a", "c"), ring("a", "b")},
			strings.Replace(pass, "cable test=pass", "cable test=warn", 1)},
	})
	var out []Result
	env := Env{LocalConfig: memberConfig(3), Local: ring("b", "c"), Peer: ring("a", "c"), Others: []Member{{Name: "c", Client: ring("a", "b")}}}
	out = SerialCable(context.Background(), env)
	if last := out[len(out)-1]; !strings.Contains(last.Measured, "each of this node's 2 cables tested, the worst") {
		t.Errorf("cable test says %q, want it to say every cable was tested", last.Measured)
	}
}

// The NIC probe judges every member's address as each node probes it.
func TestHeartbeatNICProbeMembers(t *testing.T) {
	speed := 1000
	probe := func(addr string, st nic.ProbeState) *nic.ProbeResult {
		return &nic.ProbeResult{Interface: "eth1", Peer: netip.MustParseAddr(addr), State: st, RTT: 100 * time.Microsecond, Sent: 2, Received: 2}
	}
	// node probes every member but self among a (.1), b (.2), c (.3).
	node := func(self string) *fakeAgent {
		v := agent.NICStatus{Status: &nic.Status{Link: nic.Link{Name: "eth1", Carrier: nic.CarrierUp, OperState: "up"}, SpeedMbps: &speed, Duplex: "full"}}
		for i, m := range []string{"a", "b", "c"} {
			if m != self {
				v.Members = append(v.Members, agent.NICMemberProbe{Member: m, Probe: probe("192.168.77."+string(rune('1'+i)), nic.ProbeReachable)})
			}
		}
		v.Probe = v.Members[0].Probe
		return &fakeAgent{nics: v}
	}
	with := func(a *fakeAgent, f func(*fakeAgent)) *fakeAgent { f(a); return a }
	pass := "link and peer (this node to b)=pass link and peer (this node to c)=pass link and peer (b to a)=pass link and peer (b to c)=pass link and peer (c to a)=pass link and peer (c to b)=pass"
	runMemberCases(t, HeartbeatNIC, []memberCase{
		{"pass", []*fakeAgent{node("a"), node("b"), node("c")}, pass},
		{"c silent to this node", []*fakeAgent{with(node("a"), func(a *fakeAgent) { a.nics.Members[1].Probe.State = nic.ProbePeerSilent }), node("b"), node("c")},
			strings.Replace(pass, "(this node to c)=pass", "(this node to c)=fail", 1)},
		{"a probe of b failed on c", []*fakeAgent{node("a"), node("b"), with(node("c"), func(a *fakeAgent) {
			a.nics.Members[1].Probe, a.nics.Members[1].Error = nil, "netlink: permission denied"
		})},
			strings.Replace(pass, "(c to b)=pass", "(c to b)=fail", 1)},
		{"b unplugged", []*fakeAgent{node("a"), with(node("b"), func(a *fakeAgent) { a.nics.Status.Carrier = nic.CarrierDown }), node("c")},
			"link and peer (this node to b)=pass link and peer (this node to c)=pass link and peer (b)=fail link and peer (c to a)=pass link and peer (c to b)=pass"},
		{"c's agent not reachable", []*fakeAgent{node("a"), node("b"), nil},
			"heartbeat NIC (c)=skip link and peer (this node to b)=pass link and peer (this node to c)=pass link and peer (b to a)=pass link and peer (b to c)=pass"},
	})
}

// The RAID probe holds every member's controller against this node's.
func TestRAIDPairProbeMembers(t *testing.T) {
	a := raidFixture(t, "ipssend/synthetic__getconfig-1-AL-cluster-A.txt")
	b := raidFixture(t, "ipssend/synthetic__getconfig-1-AL-cluster-B.txt")
	node := func(s *agent.RAIDStatus) *fakeAgent { return &fakeAgent{raid: s} }
	suffix := func(vs, member string) string {
		var out []string
		for _, v := range strings.Fields(vs) {
			name, verdict, _ := strings.Cut(v, "=")
			out = append(out, name+" (this node and "+member+")="+verdict)
		}
		return strings.Join(out, " ")
	}
	good := verdicts(raidPairResults(raidctl.ValidatePair(mustNode(t, "this node", a), mustNode(t, "b", b))))
	same := verdicts(raidPairResults(raidctl.ValidatePair(mustNode(t, "this node", a), mustNode(t, "c", a))))
	runMemberCases(t, RAIDPair, []memberCase{
		{"b fits, c is this node's twin", []*fakeAgent{node(a), node(b), node(a)}, suffix(good, "b") + " " + suffix(same, "c")},
		{"c without RAID", []*fakeAgent{node(a), node(b), {raidErr: errNotConfigured}}, "RAID pair (this node and c)=skip " + suffix(good, "b")},
		{"c's tool fails", []*fakeAgent{node(a), node(b), {raidErr: errors.New("raid: ipssend: exit status 1")}}, "RAID read (c)=fail " + suffix(good, "b")},
		{"this node without RAID", []*fakeAgent{{raidErr: errNotConfigured}, node(b), node(b)}, "RAID pair=skip"},
		{"c's agent not reachable", []*fakeAgent{node(a), node(b), nil}, "RAID pair (c)=skip " + suffix(good, "b")},
	})
}

// The latency probe times this node's and the first peer's disks; every
// other member is a skip that names it.
func TestDiskLatencyProbeMembers(t *testing.T) {
	cfg := memberConfig(4)
	cfg.Disks = []agent.DiskConfig{{Device: "/dev/sdb"}}
	env := Env{LocalConfig: cfg, Open: func(context.Context, string, opener.Options) (scsi.Transport, io.Closer, error) {
		return nil, nil, errors.New("no such device")
	}}
	got := verdicts(DiskLatency(context.Background(), env))
	if want := "disk 0 latency (this node)=fail disk access latency (b)=skip disk access latency (c)=skip disk access latency (d)=skip"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// The timeout audit judges every cable's worst silence: this node's and
// the peer's against their configurations, the other members' against
// the deadtime their agents run with.
func TestTimeoutsMembers(t *testing.T) {
	cfg := memberConfig(3)
	cfg.Timers.DeadtimeMS, cfg.Timers.KeepaliveMS = 1000, 100
	cfg.Peers[0].SerialPort, cfg.Peers[1].SerialPort = "/dev/ttyS0", "/dev/ttyS1"
	cfg.SelfFence.Action = "none"
	ring := func(left, right string, worst time.Duration) *fakeAgent {
		return &fakeAgent{links: []agent.HeartbeatLink{{Member: left, Status: aliveHB(150 * time.Millisecond)}, {Member: right, Status: aliveHB(worst)}}}
	}
	env := Env{LocalConfig: cfg, Local: ring("b", "c", 600*time.Millisecond), Peer: ring("a", "c", 150*time.Millisecond),
		Others: []Member{{Name: "c", Client: ring("a", "b", 0)}},
		Corosync: func(context.Context) (Totem, bool, error) {
			return Totem{Token: 3 * time.Second, Consensus: 3600 * time.Millisecond}, true, nil
		},
		StonithTimeout: func(context.Context) (time.Duration, bool, error) { return 60 * time.Second, true, nil }}
	var got []string
	for _, r := range Timeouts(context.Background(), env) {
		if strings.HasPrefix(r.Name, "serial deadtime vs worst silence") {
			got = append(got, r.Name+"="+string(r.Verdict))
		}
	}
	want := []string{
		"serial deadtime vs worst silence (a to b)=pass", "serial deadtime vs worst silence (a to c)=warn",
		"serial deadtime vs worst silence (b to a)=pass", "serial deadtime vs worst silence (b to c)=pass",
		"serial deadtime vs worst silence (c to a)=pass", "serial deadtime vs worst silence (c to b)=skip",
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("got  %v\nwant %v", got, want)
	}
}

// A two-initiator test (arbitration, failover) runs once in a larger
// cluster and says so; a pair's results are left as they are.
func TestPairTestNote(t *testing.T) {
	rs := func() []Result {
		return []Result{res("Disk Arbitration (PR)", Pass, "both asked at once", ""), res("Disk Failover", Skip, "no test region", "give --test-region")}
	}
	pair := &agent.Config{Node: agent.NodeConfig{Name: "a", ID: 1}, Peer: agent.PeerConfig{NodeConfig: agent.NodeConfig{Name: "b", ID: 2}}}
	for _, r := range pairTest(Env{LocalConfig: pair}, rs()) {
		if strings.Contains(r.Measured, "two-initiator") {
			t.Errorf("a pair: %q", r.Measured)
		}
	}
	got := pairTest(Env{LocalConfig: memberConfig(4)}, rs())
	if !strings.Contains(got[0].Measured, "run once for the 4 members") || strings.Contains(got[1].Measured, "two-initiator") {
		t.Errorf("four members: %q / %q, want the note on the result that ran only", got[0].Measured, got[1].Measured)
	}
}
