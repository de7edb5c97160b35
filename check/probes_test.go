package check

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/nic"
	"github.com/hakit/hakit/raidctl"
	"github.com/hakit/hakit/serialhb"
)

// fakeAgent is an Agent answering from its fields: each typed answer or
// its error.
type fakeAgent struct {
	status   agent.Status
	disks    []agent.DiskStatus
	disksErr error
	hb       agent.HeartbeatStatus
	hbErr    error
	// links are the serial cables of a node cabled to more than one
	// member; nil: one cable, hb.
	links    []agent.HeartbeatLink
	nics     agent.NICStatus
	nicsErr  error
	raid     *agent.RAIDStatus
	raidErr  error
	cable    agent.CableTestResult
	cableErr error
	actions  []string
}

func (f *fakeAgent) Status(context.Context) (agent.Status, error) { return f.status, nil }
func (f *fakeAgent) Disks(context.Context) ([]agent.DiskStatus, error) {
	return f.disks, f.disksErr
}
func (f *fakeAgent) Heartbeat(context.Context) (agent.HeartbeatStatus, error) { return f.hb, f.hbErr }
func (f *fakeAgent) HeartbeatLinks(context.Context) ([]agent.HeartbeatLink, error) {
	if f.hbErr != nil {
		return nil, f.hbErr
	}
	if f.links != nil {
		return f.links, nil
	}
	return []agent.HeartbeatLink{{Status: f.hb}}, nil
}
func (f *fakeAgent) NICs(context.Context) (agent.NICStatus, error)   { return f.nics, f.nicsErr }
func (f *fakeAgent) RAID(context.Context) (*agent.RAIDStatus, error) { return f.raid, f.raidErr }
func (f *fakeAgent) CableTest(context.Context) (agent.CableTestResult, error) {
	return f.cable, f.cableErr
}
func (f *fakeAgent) Action(_ context.Context, a agent.Action) (agent.ActionResult, error) {
	f.actions = append(f.actions, a.String())
	return agent.ActionResult{Action: a.String()}, nil
}
func (f *fakeAgent) Unfence(_ context.Context, node string) (agent.ActionResult, error) {
	f.actions = append(f.actions, "unfence "+node)
	return agent.ActionResult{Action: "unfence"}, nil
}
func (f *fakeAgent) Fence(_ context.Context, node string) (agent.ActionResult, error) {
	f.actions = append(f.actions, "fence "+node)
	return agent.ActionResult{Action: "fence"}, nil
}

var errNotConfigured = &agent.APIError{Socket: "/run/hakit/hwagent.sock", Path: agent.PathRAID, Code: http.StatusNotFound, Msg: "raid is not configured on this node"}

// verdicts is the verdict of each result, "name=verdict", in order.
func verdicts(rs []Result) string {
	var b []string
	for _, r := range rs {
		b = append(b, r.Name+"="+string(r.Verdict))
	}
	return strings.Join(b, " ")
}

// probeCase is one run of a probe against two doubles (a nil side is an
// agent not reachable).
type probeCase struct {
	name        string
	local, peer *fakeAgent
	cfg         *agent.Config
	want        string
}

func runProbeCases(t *testing.T, probe func(context.Context, Env) []Result, cases []probeCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := Env{LocalConfig: c.cfg}
			if c.local != nil {
				env.Local = c.local
			}
			if c.peer != nil {
				env.Peer = c.peer
			}
			rs := probe(context.Background(), env)
			if got := verdicts(rs); got != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
			for _, r := range rs {
				if (r.Verdict == Warn || r.Verdict == Fail) && r.Hint == "" && !strings.HasPrefix(r.Name, "RAID read (") {
					t.Errorf("%s %s without a fix: %s", r.Name, r.Verdict, r.Measured)
				}
			}
		})
	}
}

// memberCase is one run of a probe in a cluster of this node "a" and
// members "b", "c", ... (cfg lists them all under peers:): agents[0] is
// this node's, agents[1] the first peer's, the rest the others'; a nil
// agent after the first peer is a member whose agent is not reachable.
type memberCase struct {
	name   string
	agents []*fakeAgent
	want   string
}

func memberConfig(n int) *agent.Config {
	cfg := &agent.Config{Node: agent.NodeConfig{Name: "a", ID: 1}}
	for i := 1; i < n; i++ {
		cfg.Peers = append(cfg.Peers, agent.MemberConfig{PeerConfig: agent.PeerConfig{NodeConfig: agent.NodeConfig{Name: string(rune('a' + i)), ID: i + 1}}})
	}
	cfg.Peer = cfg.Peers[0].PeerConfig
	return cfg
}

func runMemberCases(t *testing.T, probe func(context.Context, Env) []Result, cases []memberCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := Env{LocalConfig: memberConfig(len(c.agents)), Local: c.agents[0], Peer: c.agents[1]}
			for i, a := range c.agents[2:] {
				if a != nil {
					env.Others = append(env.Others, Member{Name: string(rune('c' + i)), Client: a})
				}
			}
			rs := probe(context.Background(), env)
			if got := verdicts(rs); got != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
			for _, r := range rs {
				if (r.Verdict == Warn || r.Verdict == Fail) && r.Hint == "" && !strings.HasPrefix(r.Name, "RAID read (") {
					t.Errorf("%s %s without a fix: %s", r.Name, r.Verdict, r.Measured)
				}
			}
		})
	}
}

func aliveHB(maxSilence time.Duration) agent.HeartbeatStatus {
	var h agent.HeartbeatStatus
	h.State, h.PortOpen, h.MaxSilence = serialhb.StateAlive, true, maxSilence
	h.Timers = serialhb.Timers{Keepalive: 100 * time.Millisecond, Warntime: 500 * time.Millisecond, Deadtime: time.Second, Initdead: 2 * time.Second}
	return h
}

func goodCable() agent.CableTestResult {
	return agent.CableTestResult{Sent: 50, Received: 50, RTTMin: time.Millisecond, RTTMedian: 2 * time.Millisecond, RTTMax: 3 * time.Millisecond}
}

func TestSerialCableProbe(t *testing.T) {
	good := func() *fakeAgent { return &fakeAgent{hb: aliveHB(150 * time.Millisecond), cable: goodCable()} }
	with := func(f func(*fakeAgent)) *fakeAgent { a := good(); f(a); return a }
	runProbeCases(t, SerialCable, []probeCase{
		{"no local agent", nil, good(), nil, "serial heartbeat=skip"},
		{"no peer agent", good(), nil, nil, "serial heartbeat=skip"},
		{"pass", good(), good(), nil, "heartbeat (this node)=pass heartbeat (peer)=pass cable test=pass"},
		{"heartbeat not configured", with(func(a *fakeAgent) {
			a.hbErr = &agent.APIError{Path: agent.PathHeartbeat, Code: http.StatusNotFound, Msg: "heartbeat is not configured on this node"}
		}), good(), nil, "heartbeat (this node)=fail heartbeat (peer)=pass cable test=pass"},
		{"port not open", with(func(a *fakeAgent) { a.hb.PortOpen, a.hb.PortErr = false, "open /dev/ttyS1: permission denied" }), good(), nil,
			"heartbeat (this node)=fail heartbeat (peer)=pass cable test=pass"},
		{"peer dead", good(), with(func(a *fakeAgent) { a.hb.State = serialhb.StateDead }), nil,
			"heartbeat (this node)=pass heartbeat (peer)=fail cable test=pass"},
		{"cable test refused", with(func(a *fakeAgent) { a.cableErr = errors.New("serialhb: a cable test is already running") }), good(), nil,
			"heartbeat (this node)=pass heartbeat (peer)=pass cable test=fail"},
		{"no pong", with(func(a *fakeAgent) { a.cable = agent.CableTestResult{Sent: 50, Loss: 1} }), good(), nil,
			"heartbeat (this node)=pass heartbeat (peer)=pass cable test=fail"},
		{"loss", with(func(a *fakeAgent) { a.cable.Received, a.cable.Loss = 49, 0.02 }), good(), nil,
			"heartbeat (this node)=pass heartbeat (peer)=pass cable test=warn"},
		{"wrong key frames", with(func(a *fakeAgent) { a.cable.AuthFail = 3 }), good(), nil,
			"heartbeat (this node)=pass heartbeat (peer)=pass cable test=warn"},
	})
}

func TestHeartbeatNICProbe(t *testing.T) {
	speed := 1000
	up := func() *fakeAgent {
		return &fakeAgent{nics: agent.NICStatus{
			Status: &nic.Status{Link: nic.Link{Name: "eth1", Carrier: nic.CarrierUp, OperState: "up"}, SpeedMbps: &speed, Duplex: "full"},
			Probe:  &nic.ProbeResult{Interface: "eth1", Peer: netip.MustParseAddr("192.168.77.2"), State: nic.ProbeReachable, RTT: 120 * time.Microsecond, Sent: 1, Received: 1},
		}}
	}
	with := func(f func(*fakeAgent)) *fakeAgent { a := up(); f(a); return a }
	runProbeCases(t, HeartbeatNIC, []probeCase{
		{"no local agent", nil, up(), nil, "heartbeat NIC=skip"},
		{"no peer agent", up(), nil, nil, "heartbeat NIC=skip"},
		{"pass", up(), up(), nil, "link and peer (this node)=pass link and peer (peer)=pass"},
		{"not configured", with(func(a *fakeAgent) {
			a.nicsErr = &agent.APIError{Path: agent.PathNICs, Code: http.StatusNotFound, Msg: "nic is not configured on this node"}
		}), up(), nil, "link and peer (this node)=fail link and peer (peer)=pass"},
		{"interface unreadable", with(func(a *fakeAgent) { a.nics = agent.NICStatus{Error: "no such interface eth9"} }), up(), nil,
			"link and peer (this node)=fail link and peer (peer)=pass"},
		{"no carrier", up(), with(func(a *fakeAgent) { a.nics.Status.Carrier, a.nics.Status.OperState = nic.CarrierDown, "down" }), nil,
			"link and peer (this node)=pass link and peer (peer)=fail"},
		{"peer silent", with(func(a *fakeAgent) { a.nics.Probe.State = nic.ProbePeerSilent }), up(), nil,
			"link and peer (this node)=fail link and peer (peer)=pass"},
		{"no probe", with(func(a *fakeAgent) { a.nics.Probe = nil }), up(), nil,
			"link and peer (this node)=fail link and peer (peer)=pass"},
	})
}

func TestSharedDisksProbe(t *testing.T) {
	const id = "naa.6001405aaaaaaaaaaaaaaaaaaaaaaaa1"
	disk := func(ident, errText string) *fakeAgent {
		return &fakeAgent{disks: []agent.DiskStatus{{Device: "/dev/sdb", Identity: ident, Error: errText}}}
	}
	pinned := func(ident string) *agent.Config {
		return &agent.Config{Disks: []agent.DiskConfig{{Device: "/dev/sdb", Identity: ident}}}
	}
	runProbeCases(t, SharedDisks, []probeCase{
		{"no local agent", nil, disk(id, ""), nil, "shared disks=skip"},
		{"no peer agent", disk(id, ""), nil, nil, "shared disks=skip"},
		{"pass", disk(id, ""), disk(id, ""), pinned(id), "disk 0 identity=pass"},
		{"not pinned", disk(id, ""), disk(id, ""), nil, "disk 0 identity=warn"},
		{"no identity", disk("", ""), disk(id, ""), nil, "disk 0 identity=warn"},
		{"other LUN on the peer", disk(id, ""), disk("naa.6001405bbbbbbbbbbbbbbbbbbbbbbbb2", ""), pinned(id), "disk 0 identity=fail"},
		{"pinned to another LUN", disk(id, ""), disk(id, ""), pinned("naa.6001405cccccccccccccccccccccccc3"), "disk 0 identity=fail"},
		{"disk unreadable", disk("", "READ CAPACITY: not ready"), disk(id, ""), pinned(id), "disk 0 identity=fail"},
		{"none configured", &fakeAgent{}, disk(id, ""), nil, "shared disks=fail"},
		{"agent refuses", &fakeAgent{disksErr: errors.New("hwagent /run/hakit/hwagent.sock /v1/disks: 403: permission denied")}, disk(id, ""), nil, "disks seen from this node=fail"},
	})
}

func raidFixture(t *testing.T, file string) *agent.RAIDStatus {
	t.Helper()
	data, err := os.ReadFile("../fixtures/raid/" + file)
	if err != nil {
		t.Fatal(err)
	}
	sys, err := raidctl.Parse(raidctl.ToolIpssend, data)
	if err != nil {
		t.Fatal(err)
	}
	return sys
}

func TestRAIDPairProbe(t *testing.T) {
	a := raidFixture(t, "ipssend/synthetic__getconfig-1-AL-cluster-A.txt")
	b := raidFixture(t, "ipssend/synthetic__getconfig-1-AL-cluster-B.txt")
	node := func(s *agent.RAIDStatus) *fakeAgent { return &fakeAgent{raid: s} }
	pass := verdicts(raidPairResults(raidctl.ValidatePair(mustNode(t, "A", a), mustNode(t, "B", b))))
	same := verdicts(raidPairResults(raidctl.ValidatePair(mustNode(t, "A", a), mustNode(t, "B", a))))
	// The synthetic captures pass every pair rule, with warnings on what
	// the tool printed and on provisional values; one node's capture
	// twice fails the partner names and initiator IDs.
	if strings.Contains(pass, "=fail") || !strings.Contains(pass, "partner-names=pass") || !strings.Contains(pass, "=warn") || !strings.Contains(same, "partner-names=fail") {
		t.Fatalf("fixtures: the cluster pair gives %s; A twice gives %s", pass, same)
	}
	runProbeCases(t, RAIDPair, []probeCase{
		{"no local agent", nil, node(b), nil, "RAID pair=skip"},
		{"no peer agent", node(a), nil, nil, "RAID pair=skip"},
		{"not configured", node(a), &fakeAgent{raidErr: errNotConfigured}, nil, "RAID pair=skip"},
		{"pass with warnings", node(a), node(b), nil, pass},
		{"both nodes the same controller", node(a), node(a), nil, same},
		{"tool fails", &fakeAgent{raidErr: &agent.APIError{Path: agent.PathRAID, Code: http.StatusBadGateway, Msg: "raid: ipssend: exit status 1"}}, node(b), nil, "RAID read (this node)=fail"},
		{"no controller", node(a), node(&agent.RAIDStatus{Tool: raidctl.ToolIpssend}), nil, "RAID read (peer)=fail"},
	})
}

func mustNode(t *testing.T, label string, s *agent.RAIDStatus) raidctl.Node {
	t.Helper()
	n, err := raidctl.NodeFromSystem(label, s, "")
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Inventory runs only when asked; its RAID/SAS line reads PCI classes
// from sysfs (0x0104 RAID, 0x0107 SAS), which a fake tree stands for.
func TestInventoryProbe(t *testing.T) {
	if got := verdicts(Inventory(context.Background(), Env{})); got != "hardware inventory=skip" {
		t.Errorf("not asked: %s", got)
	}
	dir := t.TempDir()
	for dev, class := range map[string]string{"0000:03:00.0": "0x010400", "0000:04:00.0": "0x010700", "0000:00:1f.2": "0x010601"} {
		p := dir + "/" + dev
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		for f, v := range map[string]string{"class": class, "vendor": "0x9005", "device": "0x028d"} {
			if err := os.WriteFile(p+"/"+f, []byte(v+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	got := strings.Join(raidControllers(dir), "; ")
	if want := "0000:03:00.0 RAID 0x9005:0x028d; 0000:04:00.0 SAS 0x9005:0x028d"; got != want {
		t.Errorf("controllers %q, want %q", got, want)
	}
	if c := raidControllers(t.TempDir()); len(c) != 0 {
		t.Errorf("empty bus: %v", c)
	}
}

// The timeout audit reads each cable's worst silence from its agent's
// typed heartbeat status.
func TestSilencesFrom(t *testing.T) {
	hb := aliveHB(180 * time.Millisecond)
	hb.MaxSilencePeerGap = 40 * time.Millisecond
	hb2 := aliveHB(300 * time.Millisecond)
	for _, c := range []struct {
		name     string
		agent    Agent
		deadtime time.Duration
		want     []timeoutFacts
	}{
		{"no serial heartbeat configured", &fakeAgent{hb: hb}, 0, []timeoutFacts{{}}},
		{"agent not reachable", nil, time.Second, []timeoutFacts{{Deadtime: time.Second, SilenceWhy: "its agent is not reachable from here"}}},
		{"heartbeat refused", &fakeAgent{hbErr: errors.New("x")}, time.Second, []timeoutFacts{{Deadtime: time.Second, SilenceWhy: "its agent's heartbeat status: x"}}},
		{"measured", &fakeAgent{hb: hb}, time.Second, []timeoutFacts{{Deadtime: time.Second, Silence: 180 * time.Millisecond, SilenceLate: 40 * time.Millisecond, Keepalive: 100 * time.Millisecond}}},
		{"two cables", &fakeAgent{links: []agent.HeartbeatLink{{Member: "b", Status: hb}, {Member: "d", Status: hb2}}}, time.Second, []timeoutFacts{
			{Cable: "b", Deadtime: time.Second, Silence: 180 * time.Millisecond, SilenceLate: 40 * time.Millisecond, Keepalive: 100 * time.Millisecond},
			{Cable: "d", Deadtime: time.Second, Silence: 300 * time.Millisecond, Keepalive: 100 * time.Millisecond}}},
	} {
		got := silencesFrom(context.Background(), c.agent, timeoutFacts{Deadtime: c.deadtime})
		if len(got) != len(c.want) {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
			continue
		}
		for i, f := range got {
			w := c.want[i]
			if f.Cable != w.Cable || f.Deadtime != w.Deadtime || f.Silence != w.Silence || f.SilenceLate != w.SilenceLate || f.Keepalive != w.Keepalive || f.SilenceWhy != w.SilenceWhy {
				t.Errorf("%s: cable %d %+v, want %+v", c.name, i, f, w)
			}
		}
	}
}
