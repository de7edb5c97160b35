package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/agent/fence"
	"github.com/hakit/hakit/tools/lab"
)

func TestAgentConfigParses(t *testing.T) {
	for i, id := range []string{"naa.60000000000000000e00000000010001", ""} {
		t.Run(agentNodes[i].name, func(t *testing.T) {
			cfg, err := agent.ParseConfig("lab", []byte(nodeConfig(i, id)))
			if err != nil {
				t.Fatal(err)
			}
			got := []any{cfg.Node.Name, cfg.Node.ID, cfg.Peer.Name, cfg.Serial.Port, cfg.Serial.KeyFile, cfg.NIC.Interface, cfg.NIC.PeerAddress,
				cfg.Disks[0].Device, cfg.Disks[0].Identity, cfg.API.Socket, cfg.Timers.DeadtimeMS, cfg.SelfFence.Action}
			want := []any{agentNodes[i].name, agentNodes[i].id, agentNodes[1-i].name, "/dev/ttyS1", lab.HeartbeatKeyFile, "eth0", agentNodes[i].peerAddr,
				"/dev/sg0", id, agentSocket, agentDeadtime, "event"}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFenceStdin(t *testing.T) {
	opts, unknown, err := fence.ParseStdin(strings.NewReader(fenceStdin("off", "node-a")))
	if err != nil || len(unknown) > 0 {
		t.Fatalf("ParseStdin: %v, unknown %v", err, unknown)
	}
	want := map[string]string{"action": "off", "plug": "node-a", "config": agentConfigPath}
	if diff := cmp.Diff(want, opts); diff != "" {
		t.Errorf("stdin options (-want +got):\n%s", diff)
	}
}

func TestParseIdentity(t *testing.T) {
	out := "/dev/sg0\n  vendor:    IET\n  identity:  naa.60000000000000000e00000000010001 (NAA)\n  capacity:  1 GiB\n"
	if got := parseIdentity(out); got != "naa.60000000000000000e00000000010001" {
		t.Errorf("parseIdentity = %q", got)
	}
	if got := parseIdentity("no identity here\n"); got != "" {
		t.Errorf("parseIdentity of nothing = %q", got)
	}
}

func TestCountEvents(t *testing.T) {
	log := `{"seq":1,"time":"2026-01-01T00:00:00Z","source":"agent","kind":"started","msg":"x"}
{"seq":2,"time":"2026-01-01T00:00:01Z","source":"heartbeat","kind":"dead","msg":"serial: dead"}
not json
{"seq":3,"time":"2026-01-01T00:00:02Z","source":"heartbeat","kind":"alive","msg":"serial: alive"}
{"seq":4,"time":"2026-01-01T00:00:03Z","source":"heartbeat","kind":"dead","msg":"serial: dead"}
`
	for _, tt := range []struct {
		source, kind string
		want         int
	}{{"heartbeat", "dead", 2}, {"heartbeat", "alive", 1}, {"nic", "link-down", 0}} {
		if got := countEvents(log, tt.source, tt.kind); got != tt.want {
			t.Errorf("countEvents(%s %s) = %d, want %d", tt.source, tt.kind, got, tt.want)
		}
	}
}
