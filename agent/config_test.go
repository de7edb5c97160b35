package agent

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const minimal = "node: {name: a, id: 1}\npeer: {name: b, id: 2}\ncluster: {id: 7}\n"

func TestParseConfigGood(t *testing.T) {
	b, err := os.ReadFile("testdata/good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseConfig("good.yaml", b)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Node:    NodeConfig{Name: "alpha", ID: 1},
		Peer:    PeerConfig{NodeConfig: NodeConfig{Name: "beta", ID: 2}, Socket: "/run/hakit/beta.sock"},
		Cluster: ClusterConfig{ID: 42, Name: "pair1"},
		Serial:  SerialConfig{Port: "/dev/ttyS0", Baud: 19200, KeyFile: "/etc/hakit/hb.key", RealtimePriority: 1, KworkerNice: -20},
		NIC:     NICConfig{Interface: "eth1", PeerAddress: "169.254.0.2"},
		Disks: []DiskConfig{
			{Device: "/dev/sdb", Identity: "naa.6001405abcdef", Mode: ModePR},
			{Device: "iscsi://127.0.0.1:3260/iqn.2026-11.io.hakit:disk/1", Initiator: "iqn.2026-11.io.hakit:node-a", Mode: ModePR},
		},
		RAID:      RAIDConfig{Tool: "storcli", File: "/var/lib/hakit/storcli.json"},
		Timers:    TimersConfig{KeepaliveMS: 100, WarntimeMS: 250, DeadtimeMS: 500, InitdeadMS: 1000, DiskStatusMS: 1000, ISCSIKeepaliveMS: 5000},
		API:       APIConfig{Socket: "/run/hakit/hwagent.sock", Group: "hakit"},
		StateDir:  DefaultStateDir,
		Metrics:   MetricsConfig{Listen: "127.0.0.1:9105"},
		SelfFence: SelfFenceConfig{Action: "watchdog", WatchdogDevice: "/dev/watchdog", WatchdogTimeoutS: 10},
		Fence:     FenceConfig{Priority: 1, DelayStepMS: 2000},
	}
	if diff := cmp.Diff(want, *c); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
	if got := c.FenceDelayMS(); got != 2000 {
		t.Errorf("FenceDelayMS = %d, want 2000", got)
	}
}

func TestParseConfigDefaults(t *testing.T) {
	c, err := ParseConfig("", []byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	want := TimersConfig{KeepaliveMS: 1000, WarntimeMS: 15000, DeadtimeMS: 30000, InitdeadMS: 60000, DiskStatusMS: 1000, ISCSIKeepaliveMS: 5000}
	if diff := cmp.Diff(want, c.Timers); diff != "" {
		t.Errorf("timers (-want +got):\n%s", diff)
	}
	if c.API.Socket != DefaultSocket || c.SelfFence.Action != "event" || c.Metrics.Listen != "" || c.Cluster.Name != "hakit" {
		t.Errorf("defaults: %+v", c)
	}
}

func TestParseConfigDiskModes(t *testing.T) {
	c, err := ParseConfig("", []byte(minimal+"disks:\n  - device: /dev/sdb\n  - device: /dev/sdc\n    mode: scsi2\n  - device: /dev/sdd\n    mode: scsi2\n    scsi2_period_ms: 250\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []DiskConfig{
		{Device: "/dev/sdb", Mode: ModePR},
		{Device: "/dev/sdc", Mode: ModeSCSI2, SCSI2PeriodMS: DefaultSCSI2PeriodMS},
		{Device: "/dev/sdd", Mode: ModeSCSI2, SCSI2PeriodMS: 250},
	}
	if diff := cmp.Diff(want, c.Disks); diff != "" {
		t.Errorf("disks (-want +got):\n%s", diff)
	}
}

func TestParseConfigBad(t *testing.T) {
	for _, tt := range []struct {
		name, yaml string
		line       int
		field, msg string
	}{
		{"empty", "", 0, "", "empty file"},
		{"unknown top key", minimal + "colour: blue\n", 4, "", "unknown key colour at the top level"},
		{"unknown nested key", minimal + "serial:\n  port: /dev/ttyS0\n  key_file: k\n  parity: odd\n", 7, "", "unknown key parity in serial"},
		{"wrong type", minimal + "timers:\n  keepalive_ms: fast\n", 5, "", "cannot unmarshal"},
		{"syntax", "node: {name: a\n", 1, "", "did not find"},
		{"two documents", minimal + "---\nnode: {name: c}\n", 4, "", "more than one"},
		{"no node", "peer: {name: b, id: 2}\ncluster: {id: 7}\n", 0, "node.name", "want a node name"},
		{"node id zero", "node: {name: a}\npeer: {name: b, id: 2}\ncluster: {id: 7}\n", 1, "node.id", "want 1 to 65535"},
		{"same id", "node: {name: a, id: 2}\npeer: {name: b, id: 2}\ncluster: {id: 7}\n", 2, "peer.id", "same id"},
		{"same name", "node: {name: a, id: 1}\npeer: {name: a, id: 2}\ncluster: {id: 7}\n", 2, "peer.name", "same name"},
		{"cluster id", "node: {name: a, id: 1}\npeer: {name: b, id: 2}\ncluster: {id: 70000}\n", 3, "cluster.id", "want 1 to 65535"},
		{"baud", minimal + "serial:\n  port: /dev/ttyS0\n  baud: 1200\n  key_file: k\n", 6, "serial.baud", "want 9600"},
		{"no key file", minimal + "serial:\n  port: /dev/ttyS0\n", 5, "serial.key_file", "shared key"},
		{"relative port", minimal + "serial: {port: ttyS0, key_file: k}\n", 4, "serial.port", "absolute"},
		{"nic no peer", minimal + "nic:\n  interface: eth1\n", 5, "nic.peer_address", "peer's IP"},
		{"nic long name", minimal + "nic: {interface: averyveryverylongname, peer_address: 10.0.0.2}\n", 4, "nic.interface", "15 characters"},
		{"disk bad", minimal + "disks:\n  - device: /dev/sdb\n  - device: sdc\n", 6, "disks[1].device", "want /dev/sdX"},
		{"disk dup", minimal + "disks:\n  - device: /dev/sdb\n  - device: /dev/sdb\n", 6, "disks[1].device", "already listed"},
		{"iscsi no lun", minimal + "disks:\n  - device: iscsi://h/iqn.x\n    initiator: iqn.a\n", 5, "disks[0].device", "target-iqn/lun"},
		{"iscsi no initiator", minimal + "disks:\n  - device: iscsi://h/iqn.x/1\n", 5, "disks[0].initiator", "initiator name"},
		{"disk mode", minimal + "disks:\n  - device: /dev/sdb\n    mode: scsi3\n", 6, "disks[0].mode", "want pr"},
		{"scsi2 period low", minimal + "disks:\n  - device: /dev/sdb\n    mode: scsi2\n    scsi2_period_ms: 50\n", 7, "disks[0].scsi2_period_ms", "want 100 to 2000"},
		{"scsi2 period high", minimal + "disks:\n  - device: /dev/sdb\n    mode: scsi2\n    scsi2_period_ms: 2001\n", 7, "disks[0].scsi2_period_ms", "power_timeout"},
		{"scsi2 period with pr", minimal + "disks:\n  - device: /dev/sdb\n    scsi2_period_ms: 500\n", 6, "disks[0].scsi2_period_ms", "only with mode scsi2"},
		{"scsi2 preempt", minimal + "disks:\n  - device: /dev/sdb\n    mode: scsi2\n    allow_preempt_without_abort: true\n", 7, "disks[0].allow_preempt_without_abort", "only with mode pr"},
		{"raid tool", minimal + "raid: {tool: hpacucli}\n", 4, "raid.tool", "want one of storcli"},
		{"raid file alone", minimal + "raid: {file: /x}\n", 4, "raid", "needs the tool"},
		{"deadtime", minimal + "timers:\n  keepalive_ms: 1000\n  deadtime_ms: 2000\n", 6, "timers.deadtime_ms", "twice keepalive"},
		{"warntime", minimal + "timers: {keepalive_ms: 100, deadtime_ms: 500, warntime_ms: 600}\n", 4, "timers.warntime_ms", "below deadtime"},
		{"keepalive", minimal + "timers: {keepalive_ms: 1}\n", 4, "timers.keepalive_ms", "want 10"},
		{"realtime priority", strings.Replace(minimal, "cluster:", "serial: {port: /dev/ttyS0, key_file: /k, realtime_priority: 100}\ncluster:", 1), 3, "serial.realtime_priority", "1 to 99"},
		{"kworker nice", strings.Replace(minimal, "cluster:", "serial: {port: /dev/ttyS0, key_file: /k, kworker_nice: 5}\ncluster:", 1), 3, "serial.kworker_nice", "-20 to -1"},
		{"iscsi keepalive too short", minimal + "timers: {iscsi_keepalive_ms: 5}\n", 4, "timers.iscsi_keepalive_ms", "100 to 600000"},
		{"socket relative", minimal + "api: {socket: hw.sock}\n", 4, "api.socket", "absolute"},
		{"metrics public", minimal + "metrics:\n  listen: 0.0.0.0:9105\n", 5, "metrics.listen", "loopback"},
		{"metrics no port", minimal + "metrics: {listen: 127.0.0.1}\n", 4, "metrics.listen", "host:port"},
		{"self fence", minimal + "self_fence: {action: reboot}\n", 4, "self_fence.action", "want none"},
		{"priority", minimal + "fence: {priority: -1}\n", 4, "fence.priority", "want 0"},
		{"sbd relative", minimal + "sbd: {device: loop0}\n", 4, "sbd.device", "want /dev/"},
		{"sbd iscsi initiator", minimal + "sbd: {device: iscsi://h/iqn.x/0}\n", 4, "sbd.initiator", "initiator name"},
		{"sbd name", minimal + "sbd: {device: /dev/sdb, name: " + strings.Repeat("n", 64) + "}\n", 4, "sbd.name", "1 to 63"},
		{"sbd heartbeat too fast", minimal + "sbd: {device: /dev/sdb, heartbeat_ms: 50}\n", 4, "sbd.heartbeat_ms", "100 to 60000"},
		{"sbd heartbeat dead too soon", minimal + "sbd: {device: /dev/sdb, heartbeat_ms: 500, heartbeat_dead_ms: 600}\n", 4, "sbd.heartbeat_dead_ms", "twice"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig("n.yaml", []byte(tt.yaml))
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want *ConfigError", err)
			}
			if !errors.Is(err, ErrConfig) {
				t.Errorf("errors.Is(ErrConfig) false for %v", err)
			}
			if ce.Line != tt.line || !strings.HasPrefix(ce.Field, tt.field) || !strings.Contains(ce.Msg, tt.msg) {
				t.Errorf("got line %d field %q msg %q (%v); want line %d field %q msg ~%q", ce.Line, ce.Field, ce.Msg, err, tt.line, tt.field, tt.msg)
			}
			if !strings.HasPrefix(err.Error(), "n.yaml") {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

func FuzzParseConfig(f *testing.F) {
	b, _ := os.ReadFile("testdata/good.yaml")
	f.Add(b)
	f.Add([]byte(minimal))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig("f", data)
		if err == nil && c == nil {
			t.Fatal("nil config without error")
		}
		if err != nil && !errors.Is(err, ErrConfig) {
			t.Fatalf("error %v is not a ConfigError", err)
		}
	})
}

// A configuration that cannot be opened says the fix: sudo for one that
// is root's, --config for one that is not there.
func TestLoadConfigOpenHints(t *testing.T) {
	_, err := LoadConfig(filepath.Join(t.TempDir(), "none.yaml"))
	if err == nil || !strings.Contains(err.Error(), "give --config") {
		t.Errorf("missing: %v", err)
	}
	if os.Geteuid() == 0 {
		return // root reads any file
	}
	p := filepath.Join(t.TempDir(), "root.yaml")
	if err := os.WriteFile(p, nil, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfig(p); err == nil || !strings.Contains(err.Error(), "run with sudo") {
		t.Errorf("unreadable: %v", err)
	}
}
