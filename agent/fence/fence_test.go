package fence

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/agent/agenttest"
	"github.com/hakit/hakit/agent/hw"
)

func TestParseStdin(t *testing.T) {
	in := "# from stonith-ng\naction=off\n\n  plug = node-b  \nnodename_to_fence=x\nport=node-b\nfoo=bar\nverbose\ndevices=/dev/sdb,/dev/sdc\naction=reboot\n"
	got, unknown, err := ParseStdin(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"action": "reboot", "plug": "node-b", "verbose": "1", "devices": "/dev/sdb,/dev/sdc"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("opts (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"foo"}, unknown); diff != "" {
		t.Errorf("unknown (-want +got):\n%s", diff)
	}
	if _, _, err := ParseStdin(strings.NewReader("plug\n")); !errors.Is(err, ErrUsage) {
		t.Errorf("value-less non-boolean: %v", err)
	}
}

func TestParseArgs(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		want map[string]string
		err  bool
	}{
		{"short", []string{"-o", "off", "-n", "b"}, map[string]string{"action": "off", "plug": "b"}, false},
		{"short glued", []string{"-ooff", "-v"}, map[string]string{"action": "off", "verbose": "1"}, false},
		{"long", []string{"--action=status", "--plug", "2", "--devices=/dev/sdb"}, map[string]string{"action": "status", "plug": "2", "devices": "/dev/sdb"}, false},
		{"delay", []string{"--delay", "1.5"}, map[string]string{"delay": "1.5"}, false},
		{"unknown", []string{"--colour=red"}, nil, true},
		{"missing value", []string{"-o"}, nil, true},
		{"flag with value", []string{"--verbose=yes"}, nil, true},
		{"positional", []string{"off"}, nil, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseArgs(tt.args)
			if (err != nil) != tt.err {
				t.Fatalf("err = %v, want error %v", err, tt.err)
			}
			if diff := cmp.Diff(tt.want, got); err == nil && diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestResolve(t *testing.T) {
	o, err := Resolve(map[string]string{"action": "off", "delay": "3"}, map[string]string{"action": "status"})
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := Resolve(nil, nil); d.Action != "off" {
		t.Errorf("default action %q, want off (fabric fencing has no reboot)", d.Action)
	}
	if o.Action != "status" || o.Delay != 3 || o.PowerTimeout != 20 || o.Priority != -1 || o.Config != "/etc/hakit/hwagent.yaml" {
		t.Errorf("resolved %+v", o)
	}
	for _, bad := range []map[string]string{{"action": "explode"}, {"delay": "x"}, {"power_timeout": "0"}, {"priority": "99"}, {"key": "zz"}} {
		if _, err := Resolve(bad, nil); !errors.Is(err, ErrUsage) {
			t.Errorf("Resolve(%v) = %v, want ErrUsage", bad, err)
		}
	}
}

func TestMetadata(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteMetadata(&buf); err != nil {
		t.Fatal(err)
	}
	// Well-formed: every token decodes.
	dec := xml.NewDecoder(bytes.NewReader(buf.Bytes()))
	for {
		_, err := dec.Token()
		if err != nil {
			if err.Error() == "EOF" {
				break
			}
			t.Fatalf("not well-formed: %v\n%s", err, buf.String())
		}
	}
	if !strings.HasPrefix(buf.String(), `<?xml version="1.0" ?>`) {
		t.Error("no XML declaration")
	}
	var m Metadata
	if err := xml.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	if m.Name != "fence_hwagent" || m.ShortDesc == "" || m.LongDesc == "" || m.VendorURL == "" {
		t.Errorf("header: %+v", m)
	}
	params := map[string]MetaParameter{}
	for _, p := range m.Parameters {
		if p.Getopt.Mixed == "" || p.Content.Type == "" || p.ShortDesc.Lang != "en" || p.ShortDesc.Text == "" || (p.Unique != "0" && p.Unique != "1") || (p.Required != "0" && p.Required != "1") {
			t.Errorf("parameter %+v lacks a required element or attribute", p)
		}
		params[p.Name] = p
	}
	for _, name := range []string{"action", "plug", "port", "devices", "key", "nodename", "delay"} {
		if _, ok := params[name]; !ok {
			t.Errorf("parameter %s missing", name)
		}
	}
	if got := params["action"].Getopt.Mixed; got != "-o, --action=[action]" {
		t.Errorf("action getopt %q", got)
	}
	var actions []string
	for _, a := range m.Actions {
		actions = append(actions, a.Name)
		if a.Name == "on" && (a.OnTarget != "1" || a.Automatic != "1") {
			t.Errorf("on action: %+v, want on_target and automatic", a)
		}
	}
	if slices.Contains(actions, "reboot") {
		t.Error("metadata advertises reboot: fabric fencing cannot power-cycle")
	}
	if diff := cmp.Diff(Actions(), actions); diff != "" {
		t.Errorf("actions (-want +got):\n%s", diff)
	}
}

// fakeBackend is the local agent's API over in-memory disks.
type fakeBackend struct {
	self, peer       string
	disk             *agenttest.Disk
	down             bool
	method, fallback string // what Fence reports
	diskHB           *agent.DiskHeartbeat
}

func (f *fakeBackend) Ping(ctx context.Context) (agent.Ping, error) {
	st, err := f.Status(ctx)
	return agent.Ping{Node: st.Node}, err
}

func (f *fakeBackend) Status(context.Context) (agent.Status, error) {
	return agent.Status{Node: f.self, Peer: f.peer, DiskHeartbeat: f.diskHB}, nil
}

func (f *fakeBackend) Disks(ctx context.Context) ([]agent.DiskStatus, error) {
	if f.down {
		return nil, agent.ErrUnreachable
	}
	s, err := f.disk.Status(ctx)
	if err != nil {
		s.Error = err.Error()
	}
	return []agent.DiskStatus{s}, nil
}

func (f *fakeBackend) Fence(ctx context.Context, node string) (agent.ActionResult, error) {
	if err := f.disk.Fence(ctx); err != nil {
		return agent.ActionResult{}, err
	}
	d, _ := f.Disks(ctx)
	for i := range d {
		d[i].FenceMethod, d[i].FenceFallback = f.method, f.fallback
	}
	return agent.ActionResult{Action: "fence", Disks: d}, nil
}

func (f *fakeBackend) Action(ctx context.Context, act agent.Action) (agent.ActionResult, error) {
	name := act.String()
	if name != "unfence" {
		return agent.ActionResult{}, errors.New("unexpected " + name)
	}
	if err := f.disk.Unfence(ctx); err != nil {
		return agent.ActionResult{}, err
	}
	d, _ := f.Disks(ctx)
	return agent.ActionResult{Action: name, Disks: d}, nil
}

const cfgYAML = "node: {name: node-a, id: 1}\npeer: {name: node-b, id: 2}\ncluster: {id: 7}\napi: {socket: /nonexistent/a.sock}\nfence: {priority: 1, delay_step_ms: 3000}\n"

func TestActionsOverStdin(t *testing.T) {
	lun := agenttest.NewLUN("naa.1")
	ka, kb := agenttest.Key(7, 1), agenttest.Key(7, 2)
	a := &agenttest.Disk{LUN: lun, Name: "/dev/sdb", Own: ka, Peer: kb}
	b := &agenttest.Disk{LUN: lun, Name: "/dev/sdb", Own: kb, Peer: ka}
	ctx := context.Background()
	for _, d := range []*agenttest.Disk{a, b} {
		if err := d.Register(ctx); err != nil {
			t.Fatalf("register %#x: %v", d.Own, err)
		}
	}
	be := &fakeBackend{self: "node-a", peer: "node-b", disk: a}
	var slept []time.Duration
	deps := Deps{
		Dial:       func(string) Backend { return be },
		LoadConfig: func(string) (*agent.Config, error) { return agent.ParseConfig("c", []byte(cfgYAML)) },
		Sleep:      func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil },
	}
	for _, tt := range []struct {
		name, stdin string
		code        int
		out         string // substring of stdout
		errOut      string // substring of stderr
	}{
		{"status peer on", "action=status\nport=node-b\n", ExitOK, "Status: ON", ""},
		{"status self by id", "action=status\nplug=1\n", ExitOK, "Status: ON", ""},
		{"monitor", "action=monitor\n", ExitOK, "", ""},
		{"list", "action=list\n", ExitOK, "node-a,\nnode-b,\n", ""},
		{"list-status", "action=list-status\n", ExitOK, "node-a,,on\nnode-b,,on\n", ""},
		{"validate-all", "action=validate-all\nplug=node-b\n", ExitOK, "", ""},
		// The fencer's --validate sends the placeholder node1 (fence_scsi answers 0).
		{"validate-all placeholder target", "action=validate-all\nnodename=node1\nport=node1\n", ExitOK, "", "not a node of this pair"},
		{"validate-all bad option", "action=validate-all\nport=node1\ndelay=x\n", ExitError, "", "delay"},
		{"off self refused", "action=off\nplug=node-a\n", ExitError, "", "itself"},
		{"off unknown device", "action=off\nplug=node-b\ndevices=/dev/sdz\n", ExitError, "", "not managed"},
		{"off peer", "# pacemaker\naction=off\nplug=node-b\ndelay=2\n", ExitOK, "Success: Powered OFF", ""},
		{"status peer off", "action=status\nplug=node-b\n", ExitOff, "Status: OFF", ""},
		{"off again is idempotent", "action=reboot\nplug=node-b\npriority=0\n", ExitOK, "Success: Powered OFF", ""},
		{"on for the peer refused", "action=on\nplug=node-b\n", ExitError, "", "on_target"},
		{"on self", "action=on\nplug=node-a\n", ExitOK, "Success: Powered ON", ""},
		{"no plug", "action=status\n", ExitError, "", "plug"},
		{"bad action", "action=explode\n", ExitError, "", "want one of"},
		{"metadata", "action=metadata\n", ExitOK, "<resource-agent name=\"fence_hwagent\"", ""},
		// What Pacemaker's fencer sends: nodename is the target, as for fence_scsi.
		{"fencer status names the target in nodename", "action=status\nnodename=node-b\nport=node-b\n", ExitOff, "Status: OFF", ""},
		{"nodename alone is the target", "action=status\nnodename=node-a\n", ExitOK, "Status: ON", ""},
		{"nodename and port differ", "action=status\nnodename=node-a\nport=node-b\n", ExitError, "", "differ"},
		{"unknown stdin name warned", "action=list\nconfg=/x.yaml\n", ExitOK, "node-a,", "unknown stdin name \"confg\""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := Run(ctx, nil, strings.NewReader(tt.stdin), &out, &errb, deps)
			if code != tt.code || !strings.Contains(out.String(), tt.out) || !strings.Contains(errb.String(), tt.errOut) {
				t.Errorf("exit %d stdout %q stderr %q; want exit %d, stdout ~%q, stderr ~%q", code, out.String(), errb.String(), tt.code, tt.out, tt.errOut)
			}
		})
	}
	// off with delay=2 and configured priority 1 x 3000 ms; then priority=0 on stdin.
	if diff := cmp.Diff([]time.Duration{5 * time.Second}, slept); diff != "" {
		t.Errorf("fence delays (-want +got):\n%s", diff)
	}
	// A fence the target took without abort is said on stderr (Pacemaker
	// logs it).
	be.method, be.fallback = "PREEMPT", "target refused PREEMPT AND ABORT: used PREEMPT"
	var fout, ferr bytes.Buffer
	if code := Run(ctx, nil, strings.NewReader("action=off\nnodename=node-b\npriority=0\n"), &fout, &ferr, deps); code != ExitOK || !strings.Contains(ferr.String(), "without abort") {
		t.Errorf("off without abort: exit %d stderr %q, want 0 and a warning", code, ferr.String())
	}
	be.method, be.fallback = "", ""

	// The agent does not answer: the direct path takes over.
	var out, errb bytes.Buffer
	direct := deps
	direct.Dial = func(string) Backend { return unreachable{} }
	direct.Direct = func(*agent.Config) (Backend, func() error, error) { return be, func() error { return nil }, nil }
	if code := Run(ctx, []string{"-o", "status", "-n", "node-b", "-v"}, nil, &out, &errb, direct); code != ExitOff || !strings.Contains(errb.String(), "directly") {
		t.Errorf("direct status = %d, stdout %q stderr %q", code, out.String(), errb.String())
	}
	// An agent that holds its lock but does not answer (slow, wedged) is
	// never bypassed: the direct path would replace its sessions.
	errb.Reset()
	alive := direct
	alive.Running = func(string) (string, bool, error) { return "4242", true, nil }
	if code := Run(ctx, []string{"-o", "off", "-n", "node-b"}, nil, &out, &errb, alive); code != ExitError || !strings.Contains(errb.String(), "pid 4242") {
		t.Errorf("off with a live agent that does not answer = %d, stderr %q; want 1 and no direct path", code, errb.String())
	}
	// A wrong socket= is an error, not a reason to act directly.
	errb.Reset()
	if code := Run(ctx, nil, strings.NewReader("action=status\nport=node-b\nsocket=/nonexistent/other.sock\n"), &out, &errb, direct); code != ExitError || !strings.Contains(errb.String(), "not the configuration's") {
		t.Errorf("status with a wrong socket= = %d, stderr %q; want 1", code, errb.String())
	}
	direct.Direct = nil
	if code := Run(ctx, []string{"-o", "status", "-n", "node-b"}, nil, &out, &errb, direct); code != ExitError {
		t.Errorf("status with no agent and no direct path = %d, want 1", code)
	}
	be.down = true
	out.Reset()
	errb.Reset()
	if code := Run(ctx, []string{"-o", "status", "-n", "node-b"}, nil, &out, &errb, deps); code != ExitError {
		t.Errorf("status with the agent down = %d, want 1 (%s)", code, errb.String())
	}
}

// unreachable is a local agent that does not answer.
type unreachable struct{ Backend }

func (unreachable) Status(context.Context) (agent.Status, error) {
	return agent.Status{}, agent.ErrUnreachable
}

func (unreachable) Ping(context.Context) (agent.Ping, error) {
	return agent.Ping{}, agent.ErrUnreachable
}

func FuzzParseStdin(f *testing.F) {
	f.Add("action=off\nplug=b\n# c\nverbose\n")
	f.Add("port = x\n\n=\n")
	f.Fuzz(func(t *testing.T, s string) {
		opts, _, err := ParseStdin(strings.NewReader(s))
		if err != nil {
			return
		}
		for k := range opts {
			if lookup(k) == nil {
				t.Fatalf("unknown name %q kept", k)
			}
		}
	})
}

// off is verified on every disk: the peer's key gone, this node's key
// still there, a reservation held, and the disk read.
func TestOffVerification(t *testing.T) {
	ok := agent.DiskStatus{Device: "/dev/sdb", OwnKey: "0x1", PeerKey: "0x2", Keys: []string{"0x1"}, Registered: true, Holder: "0x1"}
	for _, tt := range []struct {
		name string
		edit func(*agent.DiskStatus)
		want string // "" for success
	}{
		{"fenced", func(*agent.DiskStatus) {}, ""},
		{"peer still registered", func(d *agent.DiskStatus) { d.PeerRegistered = true }, "still registered"},
		{"own key gone", func(d *agent.DiskStatus) { d.Registered = false }, "this node's key"},
		{"no reservation", func(d *agent.DiskStatus) { d.Holder = "" }, "no reservation"},
		{"unreadable", func(d *agent.DiskStatus) { d.Error = "timeout" }, "timeout"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := ok
			tt.edit(&d)
			err := fenced([]agent.DiskStatus{ok, d})
			if (err == nil) != (tt.want == "") || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("fenced = %v, want %q", err, tt.want)
			}
		})
	}
}

// noReservation answers off with the peer's key gone but no reservation.
type noReservation struct{ *fakeBackend }

func (n noReservation) Fence(ctx context.Context, node string) (agent.ActionResult, error) {
	res, err := n.fakeBackend.Fence(ctx, node)
	for i := range res.Disks {
		res.Disks[i].Holder, res.Disks[i].Type = "", ""
	}
	return res, err
}

func TestOffWithoutReservationFails(t *testing.T) {
	lun := agenttest.NewLUN("naa.1")
	a := &agenttest.Disk{LUN: lun, Name: "/dev/sdb", Own: agenttest.Key(7, 1), Peer: agenttest.Key(7, 2)}
	if err := a.Register(context.Background()); err != nil {
		t.Fatal(err)
	}
	be := noReservation{&fakeBackend{self: "node-a", peer: "node-b", disk: a}}
	deps := Deps{
		Dial:       func(string) Backend { return be },
		LoadConfig: func(string) (*agent.Config, error) { return agent.ParseConfig("c", []byte(cfgYAML)) },
		Sleep:      func(context.Context, time.Duration) error { return nil },
	}
	var out, errb bytes.Buffer
	if code := Run(context.Background(), []string{"-o", "off", "-n", "node-b"}, nil, &out, &errb, deps); code != ExitError || !strings.Contains(errb.String(), "no reservation") {
		t.Errorf("off with no reservation left = %d, stdout %q stderr %q; want 1", code, out.String(), errb.String())
	}
}

// fakeDeps returns deps over one registered fake LUN, seen from node-a of
// cfgYAML (priority 1 x 3000 ms), and the delays slept.
func fakeDeps(t *testing.T) (Deps, *[]time.Duration) {
	t.Helper()
	lun := agenttest.NewLUN("naa.1")
	ka, kb := agenttest.Key(7, 1), agenttest.Key(7, 2)
	a := &agenttest.Disk{LUN: lun, Name: "/dev/sdb", Own: ka, Peer: kb}
	b := &agenttest.Disk{LUN: lun, Name: "/dev/sdb", Own: kb, Peer: ka}
	for _, d := range []*agenttest.Disk{a, b} {
		if err := d.Register(context.Background()); err != nil {
			t.Fatalf("register %#x: %v", d.Own, err)
		}
	}
	be := &fakeBackend{self: "node-a", peer: "node-b", disk: a}
	slept := new([]time.Duration)
	return Deps{
		Dial:       func(string) Backend { return be },
		LoadConfig: func(string) (*agent.Config, error) { return agent.ParseConfig("c", []byte(cfgYAML)) },
		Sleep:      func(_ context.Context, d time.Duration) error { *slept = append(*slept, d); return nil },
	}, slept
}

func runStdin(deps Deps, stdin string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = Run(context.Background(), nil, strings.NewReader(stdin), &out, &errb, deps)
	return code, out.String(), errb.String()
}

// key= was accepted and ignored, so a wrong key still fenced: it must be
// this node's key (as fence_scsi's key is), else every action refuses.
func TestKeyOption(t *testing.T) {
	cfg, err := agent.ParseConfig("c", []byte(cfgYAML))
	if err != nil {
		t.Fatal(err)
	}
	own, peer, err := hw.Keys(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, key string
		code      int
		errOut    string
	}{
		{"own key", fmt.Sprintf("%#x", uint64(own)), ExitOK, ""},
		{"own key without 0x, upper case", strings.ToUpper(fmt.Sprintf("%x", uint64(own))), ExitOK, ""},
		{"peer key", fmt.Sprintf("%#x", uint64(peer)), ExitError, "is not this node's key"},
		{"other key", "0x1234", ExitError, "leave key= unset"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, action := range []string{"off", "validate-all", "status"} {
				deps, _ := fakeDeps(t)
				code, _, errOut := runStdin(deps, "action="+action+"\nport=node-b\npriority=0\nkey="+tt.key+"\n")
				want := tt.code
				if action == "status" && tt.code == ExitOK {
					want = ExitOK // the peer is on: status 0
				}
				if code != want || !strings.Contains(errOut, tt.errOut) {
					t.Errorf("%s key=%s: exit %d stderr %q; want exit %d, stderr ~%q", action, tt.key, code, errOut, want, tt.errOut)
				}
			}
		})
	}
}

// A victim dead on the disk path (its status block stood still) is not
// racing to fence: the fence delay is skipped and the fence still runs.
// Alive, unknown, another node's verdict or no disk heartbeat keep it.
func TestDelaySkippedForPeerDeadOnDisk(t *testing.T) {
	at := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	hb := func(name, state string) *agent.DiskHeartbeat {
		return &agent.DiskHeartbeat{Device: "/dev/sdc", IntervalMS: 500, DeadAfterMS: 2000, Peers: []agent.DiskPeer{{Name: name, Slot: 1, State: state, Changed: &at}}}
	}
	for _, tt := range []struct {
		name  string
		hb    *agent.DiskHeartbeat
		slept []time.Duration
	}{
		{"dead", hb("node-b", agent.PeerDead), nil},
		{"alive", hb("node-b", agent.PeerAlive), []time.Duration{3 * time.Second}},
		{"unknown", hb("node-b", agent.PeerUnknown), []time.Duration{3 * time.Second}},
		{"another node dead", hb("node-c", agent.PeerDead), []time.Duration{3 * time.Second}},
		{"no disk heartbeat", nil, []time.Duration{3 * time.Second}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			deps, slept := fakeDeps(t)
			be := deps.Dial("").(*fakeBackend)
			be.diskHB = tt.hb
			code, out, errOut := runStdin(deps, "action=off\nport=node-b\n")
			if code != ExitOK || !strings.Contains(out, "Powered OFF") {
				t.Fatalf("exit %d stdout %q stderr %q, want the fence done", code, out, errOut)
			}
			if diff := cmp.Diff(tt.slept, *slept); diff != "" {
				t.Errorf("fence delays (-want +got):\n%s", diff)
			}
			if skipped := strings.Contains(errOut, "fence delay 3s skipped: node-b is dead on the disk path"); skipped != (tt.slept == nil) {
				t.Errorf("stderr %q: skip said %v, want %v", errOut, skipped, tt.slept == nil)
			}
		})
	}
}

// The fence delay (delay= + priority x fence.delay_step_ms) was invisible
// to Pacemaker and could pass its fencing timeout: off and validate-all
// refuse a delay that with power_timeout does not fit in stonith_timeout.
func TestDelayBound(t *testing.T) {
	for _, tt := range []struct {
		name, opts string
		code       int
		slept      []time.Duration
		errOut     string
	}{
		// priority 1 x 3 s + 20 s power_timeout = 23 s <= 60 s.
		{"configured delay fits", "", ExitOK, []time.Duration{3 * time.Second}, ""},
		{"delay= pushes it over 60 s", "delay=40\n", ExitError, nil, "more than stonith_timeout 1m0s"},
		{"exactly at the bound", "delay=37\n", ExitOK, []time.Duration{40 * time.Second}, ""},
		{"a raised stonith_timeout", "delay=40\nstonith_timeout=120\n", ExitOK, []time.Duration{43 * time.Second}, ""},
		{"a short power_timeout", "delay=40\npower_timeout=10\n", ExitOK, []time.Duration{43 * time.Second}, ""},
		{"priority from stdin", "priority=15\nstonith_timeout=60\n", ExitError, nil, "priority 15 x fence.delay_step_ms 3000"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, action := range []string{"off", "validate-all"} {
				deps, slept := fakeDeps(t)
				code, _, errOut := runStdin(deps, "action="+action+"\nport=node-b\n"+tt.opts)
				want := tt.slept
				if action == "validate-all" {
					want = nil
				}
				if code != tt.code || !strings.Contains(errOut, tt.errOut) {
					t.Errorf("%s: exit %d stderr %q; want exit %d, stderr ~%q", action, code, errOut, tt.code, tt.errOut)
				}
				if diff := cmp.Diff(want, *slept); diff != "" {
					t.Errorf("%s: delays (-want +got):\n%s", action, diff)
				}
			}
		})
	}
}

// verbose=1 logs each step of a fence to stderr (Pacemaker logs it); without
// it stderr stays quiet.
func TestVerboseLogsSteps(t *testing.T) {
	deps, _ := fakeDeps(t)
	code, _, errOut := runStdin(deps, "action=off\nport=node-b\nverbose=1\n")
	if code != ExitOK {
		t.Fatalf("off: exit %d: %s", code, errOut)
	}
	for _, step := range []string{"configuration loaded", "the local hwagent answers", "fence delay", "fencing", "read back after fence"} {
		if !strings.Contains(errOut, "msg=\""+step+"\"") && !strings.Contains(errOut, "msg="+step+" ") {
			t.Errorf("verbose stderr lacks step %q:\n%s", step, errOut)
		}
	}
	deps, _ = fakeDeps(t)
	if code, _, errOut := runStdin(deps, "action=on\nport=node-a\n-v\nverbose=yes\n"); code != ExitOK || !strings.Contains(errOut, "read back after unfence") {
		t.Errorf("on verbose: exit %d stderr %q", code, errOut)
	}
	deps, _ = fakeDeps(t)
	if code, _, errOut := runStdin(deps, "action=off\nport=node-b\n"); code != ExitOK || errOut != "" {
		t.Errorf("off without verbose: exit %d stderr %q, want nothing", code, errOut)
	}
}

// Params and Actions hand out copies: a caller cannot change what the
// agent accepts.
func TestParamsActionsAreCopies(t *testing.T) {
	p, a := Params(), Actions()
	p[0].Name, a[0] = "changed", "changed"
	if Params()[0].Name == "changed" || Actions()[0] == "changed" {
		t.Fatal("a caller's change reached the agent's tables")
	}
}
