package ocf

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hakit/hakit/agent"
)

func TestAttributes(t *testing.T) {
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }
	for _, tt := range []struct {
		name string
		st   agent.Status
		want []string // serial, nic-carrier, nic-peer, disk, fenced, disk-peer
	}{
		{"nothing configured", agent.Status{}, []string{"", "", "", "", "0", ""}},
		{"all good", agent.Status{
			Heartbeat: raw(`{"state":"alive"}`),
			NICs:      raw(`{"status":{"carrier":"up"},"probe":{"state":"reachable"}}`),
			Disks:     []agent.DiskStatus{{Device: "/dev/sdb"}, {Device: "/dev/sdc"}},
		}, []string{"1", "1", "1", "1", "0", ""}},
		{"late peer is still heard", agent.Status{Heartbeat: raw(`{"state":"warn"}`)}, []string{"1", "", "", "", "0", ""}},
		{"cable cut, NIC unplugged, a disk unreadable, fenced", agent.Status{
			Heartbeat: raw(`{"state":"dead"}`),
			NICs:      raw(`{"status":{"carrier":"down"},"probe":{"state":"no-link"}}`),
			Disks:     []agent.DiskStatus{{Device: "/dev/sdb"}, {Device: "/dev/sdc", Error: "NOT READY"}},
			Fenced:    true,
		}, []string{"0", "0", "0", "0", "1", ""}},
		{"peer silent on a live link", agent.Status{NICs: raw(`{"status":{"carrier":"up"},"probe":{"state":"peer-silent"}}`)}, []string{"", "1", "0", "", "0", ""}},
		// Unknown is never 0.
		{"peer not heard yet", agent.Status{Heartbeat: raw(`{"state":"initdead"}`)}, []string{"", "", "", "", "0", ""}},
		{"carrier unknown, NIC status failed", agent.Status{NICs: raw(`{"status":{"carrier":"unknown"},"error":"no such interface"}`)}, []string{"", "", "", "", "0", ""}},
		{"NIC read failed", agent.Status{NICs: raw(`{"status":null,"probe":null,"error":"netlink: permission denied"}`)}, []string{"", "", "", "", "0", ""}},
		{"peer alive on the disk path", agent.Status{Peer: "b", DiskHeartbeat: &agent.DiskHeartbeat{Peers: []agent.DiskPeer{{Name: "b", State: "alive"}}}}, []string{"", "", "", "", "0", "1"}},
		{"peer dead on the disk path", agent.Status{Peer: "b", DiskHeartbeat: &agent.DiskHeartbeat{Peers: []agent.DiskPeer{{Name: "b", State: "dead"}}}}, []string{"", "", "", "", "0", "0"}},
		{"another node dead, the peer unknown", agent.Status{Peer: "b", DiskHeartbeat: &agent.DiskHeartbeat{Peers: []agent.DiskPeer{{Name: "c", State: "dead"}, {Name: "b", State: "unknown"}}}}, []string{"", "", "", "", "0", ""}},
		{"garbage component status", agent.Status{Heartbeat: raw(`[1,2]`), NICs: raw(`"x"`)}, []string{"", "", "", "", "0", ""}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := Attributes(tt.st, "hakit", nil)
			var names, values []string
			for _, a := range got {
				names, values = append(names, a.Name), append(values, a.Value)
			}
			if want := []string{"hakit-serial", "hakit-nic-carrier", "hakit-nic-peer", "hakit-disk", "hakit-fenced", "hakit-disk-peer"}; !slices.Equal(names, want) {
				t.Errorf("names %v, want %v", names, want)
			}
			if !slices.Equal(values, tt.want) {
				t.Errorf("values %q, want %q", values, tt.want)
			}
		})
	}
}

// TestAttributesMembers: beyond the pair, each other member has its own
// disk-path attribute, named after it; hakit-disk-peer keeps meaning the
// first peer.
func TestAttributesMembers(t *testing.T) {
	hb := func(peers ...agent.DiskPeer) *agent.DiskHeartbeat { return &agent.DiskHeartbeat{Peers: peers} }
	members := []agent.MemberStatus{{Name: "a", Self: true}, {Name: "b"}, {Name: "c"}, {Name: "d"}}
	for _, tt := range []struct {
		name  string
		st    agent.Status
		peers []string
		want  map[string]string // every attribute after the fixed six, and hakit-disk-peer
	}{
		{"a pair", agent.Status{Peer: "b", DiskHeartbeat: hb(agent.DiskPeer{Name: "b", State: "dead"})}, []string{"b"},
			map[string]string{"hakit-disk-peer": "0", "hakit-disk-peer-b": "0"}},
		{"four members, mixed", agent.Status{Peer: "b", Members: members, DiskHeartbeat: hb(
			agent.DiskPeer{Name: "b", State: "alive"}, agent.DiskPeer{Name: "c", State: "dead"}, agent.DiskPeer{Name: "d", State: "unknown"})},
			[]string{"b", "c", "d"},
			map[string]string{"hakit-disk-peer": "1", "hakit-disk-peer-b": "1", "hakit-disk-peer-c": "0", "hakit-disk-peer-d": ""}},
		{"first peer dead, the others alive", agent.Status{Peer: "b", Members: members, DiskHeartbeat: hb(
			agent.DiskPeer{Name: "b", State: "dead"}, agent.DiskPeer{Name: "c", State: "alive"}, agent.DiskPeer{Name: "d", State: "alive"})},
			[]string{"b", "c", "d"},
			map[string]string{"hakit-disk-peer": "0", "hakit-disk-peer-b": "0", "hakit-disk-peer-c": "1", "hakit-disk-peer-d": "1"}},
		// No disk heartbeat, or a member whose block was never seen: unset.
		{"disk path off", agent.Status{Peer: "b", Members: members}, []string{"b", "c", "d"},
			map[string]string{"hakit-disk-peer": "", "hakit-disk-peer-b": "", "hakit-disk-peer-c": "", "hakit-disk-peer-d": ""}},
		{"a block of a node that is no member is ignored", agent.Status{Peer: "b", DiskHeartbeat: hb(agent.DiskPeer{Name: "x", State: "dead"})}, []string{"b"},
			map[string]string{"hakit-disk-peer": "", "hakit-disk-peer-b": ""}},
		// The configuration's peers name the attributes even when hwagent
		// does not answer (stop deletes them all); a member only the
		// status names is added after them.
		{"configuration only", agent.Status{}, []string{"b", "c"},
			map[string]string{"hakit-disk-peer": "", "hakit-disk-peer-b": "", "hakit-disk-peer-c": ""}},
		{"a member the configuration lacks", agent.Status{Peer: "b", Members: members, DiskHeartbeat: hb(agent.DiskPeer{Name: "d", State: "alive"})}, []string{"b", "c"},
			map[string]string{"hakit-disk-peer": "", "hakit-disk-peer-b": "", "hakit-disk-peer-c": "", "hakit-disk-peer-d": "1"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := Attributes(tt.st, "hakit", tt.peers)
			if len(got) != 6+len(tt.want)-1 {
				t.Fatalf("%d attributes %v, want the six and %d per member", len(got), got, len(tt.want)-1)
			}
			var order []string
			for _, a := range got[6:] {
				order = append(order, strings.TrimPrefix(a.Name, "hakit-disk-peer-"))
			}
			for i, p := range tt.peers {
				if order[i] != p {
					t.Errorf("per-member order %v, want the configuration's %v first", order, tt.peers)
				}
			}
			for _, a := range got[5:] {
				w, ok := tt.want[a.Name]
				if !ok {
					t.Errorf("unexpected attribute %s=%q", a.Name, a.Value)
				} else if a.Value != w {
					t.Errorf("%s=%q, want %q", a.Name, a.Value, w)
				}
			}
		})
	}
}

func TestHealth(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "hwagent.yaml")
	if err := os.WriteFile(cfg, []byte(cfgYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	attrs := map[string]string{}
	var setErr error
	be := &fakeBackend{disks: holding}
	deps := HealthDeps{
		Deps: Deps{Dial: func(string) Backend { return be }},
		SetAttr: func(_ context.Context, name, value, dampen string) error {
			if dampen != "0" {
				t.Errorf("dampen %q, want the parameter's 0", dampen)
			}
			if value == "" {
				delete(attrs, name)
			} else {
				attrs[name] = value
			}
			return setErr
		},
	}
	env := map[string]string{"OCF_RESKEY_config": cfg, "OCF_RESKEY_dampen": "0", "HA_RSCTMP": dir, "OCF_RESOURCE_INSTANCE": "health:0"}
	run := func(action string) (int, string) {
		var out, errb bytes.Buffer
		code := Health(context.Background(), action, func(k string) string { return env[k] }, &out, &errb, deps)
		return code, errb.String()
	}
	if code, msg := run("monitor"); code != NotRunning {
		t.Fatalf("monitor before start: %d %s", code, msg)
	}
	if code, msg := run("start"); code != Success {
		t.Fatalf("start: %d %s", code, msg)
	}
	if attrs["hakit-fenced"] != "0" || attrs["hakit-disk"] != "1" {
		t.Errorf("after start: %v", attrs)
	}
	if _, ok := attrs["hakit-serial"]; ok {
		t.Errorf("serial not configured, but hakit-serial is set: %v", attrs)
	}
	be.fenced = true
	if code, msg := run("monitor"); code != Success || attrs["hakit-fenced"] != "1" {
		t.Errorf("monitor of a fenced node: %d %s %v", code, msg, attrs)
	}
	// hwagent unreachable: every attribute goes, the monitor fails.
	be.err = errors.New("connection refused")
	if code, msg := run("monitor"); code != ErrGeneric || len(attrs) != 0 || !strings.Contains(msg, "connection refused") {
		t.Errorf("monitor without hwagent: %d %q %v", code, msg, attrs)
	}
	be.err = nil
	if code, _ := run("monitor"); code != Success || len(attrs) == 0 {
		t.Errorf("monitor with hwagent back: %d %v", code, attrs)
	}
	if code, msg := run("stop"); code != Success || len(attrs) != 0 {
		t.Errorf("stop: %d %s %v", code, msg, attrs)
	}
	if code, _ := run("monitor"); code != NotRunning {
		t.Errorf("monitor after stop: %d", code)
	}
	if code, _ := run("stop"); code != Success {
		t.Errorf("second stop: %d", code)
	}
	for k, v := range map[string]string{"OCF_RESKEY_prefix": "1bad", "OCF_RESKEY_dampen": "soon"} {
		env[k] = v
		if code, _ := run("validate-all"); code != ErrConfigured {
			t.Errorf("validate-all with %s=%s: %d, want %d", k, v, code, ErrConfigured)
		}
		delete(env, k)
	}
	env["OCF_RESKEY_dampen"] = "0"
	if code, _ := run("validate-all"); code != Success {
		t.Errorf("validate-all: %d", code)
	}
	env["OCF_RESKEY_config"] = filepath.Join(dir, "missing.yaml")
	if code, _ := run("monitor"); code != NotRunning {
		t.Errorf("monitor without a configuration: %d, want %d (a probe on a node without hakit)", code, NotRunning)
	}
	if code, _ := run("start"); code != ErrInstalled {
		t.Errorf("start without a configuration: %d, want %d", code, ErrInstalled)
	}
}

// TestHealthMembers: three members publish one disk-path attribute per
// peer, and stop (or hwagent not answering) deletes every one of them.
func TestHealthMembers(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "hwagent.yaml")
	yaml := "node: {name: node-a, id: 1}\npeers:\n  - {name: node-b, id: 2}\n  - {name: node-c, id: 3}\ncluster: {id: 7}\ndisks: [{device: /dev/sdb}]\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	attrs := map[string]string{}
	be := &fakeBackend{disks: holding, diskBeat: &agent.DiskHeartbeat{Peers: []agent.DiskPeer{{Name: "node-b", State: "alive"}, {Name: "node-c", State: "dead"}}}}
	deps := HealthDeps{
		Deps: Deps{Dial: func(string) Backend { return be }},
		SetAttr: func(_ context.Context, name, value, _ string) error {
			if value == "" {
				delete(attrs, name)
			} else {
				attrs[name] = value
			}
			return nil
		},
	}
	env := map[string]string{"OCF_RESKEY_config": cfg, "HA_RSCTMP": dir}
	run := func(action string) int {
		var out, errb bytes.Buffer
		return Health(context.Background(), action, func(k string) string { return env[k] }, &out, &errb, deps)
	}
	if code := run("start"); code != Success {
		t.Fatalf("start: %d", code)
	}
	for name, want := range map[string]string{"hakit-disk-peer": "1", "hakit-disk-peer-node-b": "1", "hakit-disk-peer-node-c": "0"} {
		if attrs[name] != want {
			t.Errorf("%s=%q, want %q (all: %v)", name, attrs[name], want, attrs)
		}
	}
	be.err = errors.New("connection refused")
	if code := run("monitor"); code != ErrGeneric || len(attrs) != 0 {
		t.Errorf("monitor without hwagent: %d %v, want every attribute deleted", code, attrs)
	}
	be.err = nil
	if code := run("monitor"); code != Success || attrs["hakit-disk-peer-node-c"] != "0" {
		t.Errorf("monitor with hwagent back: %d %v", code, attrs)
	}
	if code := run("stop"); code != Success || len(attrs) != 0 {
		t.Errorf("stop: %d %v, want every attribute deleted", code, attrs)
	}
}
