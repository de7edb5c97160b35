//go:build linux

package main

import (
	"strings"
	"testing"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/scsi"
)

func TestParseSpawned(t *testing.T) {
	tests := []struct {
		name, out string
		want      fenceCall
		err       string
	}{
		{"fence_scsi", "Success: Powered OFF\nspawned: procs=15 wall_us=4717000 code=0 comms=sg_turs*8,sg_persist*6,fence_scsi\n",
			fenceCall{procs: 15, wall: 4717 * time.Millisecond, comms: "sg_turs*8,sg_persist*6,fence_scsi"}, ""},
		{"hakit", "spawned: procs=1 wall_us=323000 code=0 comms=hakit", fenceCall{procs: 1, wall: 323 * time.Millisecond, comms: "hakit"}, ""},
		{"failed", "spawned: procs=6 wall_us=5774633 code=1 comms=fence_scsi", fenceCall{}, "exit 1"},
		{"no line", "Success: Powered ON\n", fenceCall{}, "no spawned line"},
		{"no process", "spawned: procs=0 wall_us=10 code=0 comms=", fenceCall{}, "no process"},
		{"bad number", "spawned: procs=x wall_us=10 code=0 comms=", fenceCall{}, "invalid syntax"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseSpawned(tt.out)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("parseSpawned = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestParseDisks(t *testing.T) {
	a, b, err := parseDisks("0:0:1:0 /dev/sdb\n0:0:0:0 /dev/sda\n0:0:3:0 /dev/sdd\n0:0:2:0 /dev/sdc\n", 2)
	if err != nil || strings.Join(a, ",") != "/dev/sda,/dev/sdb" || strings.Join(b, ",") != "/dev/sdc,/dev/sdd" {
		t.Fatalf("parseDisks = %v, %v, %v", a, b, err)
	}
	for _, bad := range []string{
		"0:0:0:0 /dev/sda\n0:0:1:0 /dev/sdb\n0:0:2:0 /dev/sdc\n",                   // one short
		"0:0:0:0 /dev/sda\n0:0:0:0 /dev/sdb\n0:0:2:0 /dev/sdc\n0:0:3:0 /dev/sdd\n", // a target twice
		"0:0:0:0 /dev/sda\n0:0:1:0 /dev/sdb\n0:0:2:0 /dev/sdc\n0:0:9:0 /dev/sdd\n", // out of range
		"garbage",
	} {
		if _, _, err := parseDisks(bad, 2); err == nil {
			t.Errorf("parseDisks(%q) accepted", bad)
		}
	}
}

func TestCheckKeys(t *testing.T) {
	kA, kB, err := fenceKeys()
	if err != nil {
		t.Fatal(err)
	}
	devs := []string{"/dev/sda", "/dev/sdb"}
	both := "/dev/sda " + kA.String() + "," + kB.String() + "\n/dev/sdb " + kB.String() + "," + kA.String() + "\n"
	tests := []struct {
		name, out string
		want      []scsi.Key
		ok        bool
	}{
		{"both registered", both, []scsi.Key{kA, kB}, true},
		{"peer fenced", "/dev/sda " + kA.String() + "\n/dev/sdb " + kA.String() + "\n", []scsi.Key{kA}, true},
		{"peer left on one LUN", "/dev/sda " + kA.String() + "\n/dev/sdb " + kA.String() + "," + kB.String() + "\n", []scsi.Key{kA}, false},
		{"a key twice", "/dev/sda " + kA.String() + "," + kA.String() + "\n/dev/sdb " + kA.String() + "\n", []scsi.Key{kA, kB}, false},
		{"none", "/dev/sda -\n/dev/sdb -\n", []scsi.Key{kA}, false},
		{"a LUN not read", "/dev/sda " + kA.String() + "\n", []scsi.Key{kA}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkKeys(tt.out, devs, tt.want)
			if (err == nil) != tt.ok {
				t.Fatalf("checkKeys = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

// TestFenceConfig checks that a node's configuration in the guest is one
// hwagent accepts, with the keys the row gives fence_scsi.
func TestFenceConfig(t *testing.T) {
	cfg, err := agent.ParseConfig("node-a.yaml", []byte(fenceConfig(fenceNodeA, fenceNodeB, 1, 2, []string{"/dev/sda", "/dev/sdb"})))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Disks) != 2 || cfg.Node.Name != fenceNodeA || cfg.Peer.ID != 2 || cfg.Cluster.ID != fenceCluster {
		t.Fatalf("config = %+v", cfg)
	}
	kA, kB, err := fenceKeys()
	if err != nil {
		t.Fatal(err)
	}
	if kA == kB || fenceSCSIKey(kA) != strings.TrimPrefix(kA.String(), "0x") {
		t.Errorf("keys %v %v, fence_scsi form %s", kA, kB, fenceSCSIKey(kA))
	}
}
