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
			got := Attributes(tt.st, "hakit")
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
