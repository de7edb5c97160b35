package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// capture saves a node's facts without an agent; compare says what of two
// captures fits a pair, and exits 3 on what does not (a disk that could
// not be identified, swapped ids).
func TestCaptureCompare(t *testing.T) {
	dir := t.TempDir()
	fx, err := filepath.Abs("../../fixtures/raid/ipssend/synthetic__getconfig-1-AL-cluster-")
	if err != nil {
		t.Fatal(err)
	}
	cfg := func(name string, id int, peer string, peerID int, side string) string {
		p := filepath.Join(dir, name+".yaml")
		y := fmt.Sprintf("node: {name: %s, id: %d}\npeer: {name: %s, id: %d}\ncluster: {id: 7}\nnic: {interface: lo, peer_address: 127.0.0.2}\n"+
			"disks: [{device: /dev/nonexistent-sdz}]\nraid: {tool: ipssend, file: %s%s.txt}\n", name, id, peer, peerID, fx, side)
		if err := os.WriteFile(p, []byte(y), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	capA, capB, capC := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json"), filepath.Join(dir, "c.json")
	for _, c := range [][2]string{{capA, cfg("a", 1, "b", 2, "A")}, {capB, cfg("b", 2, "a", 1, "B")}, {capC, cfg("c", 1, "a", 2, "B")}} {
		out, errb, err := run("capture", c[0], "--config", c[1])
		if err != nil || !strings.Contains(out, "1 part(s) could not be read") || !strings.Contains(errb, "disk identify /dev/nonexistent-sdz") {
			t.Fatalf("capture: %v %q %q", err, out, errb)
		}
	}
	b, err := os.ReadFile(capA)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil || doc["schema_version"] != 1.0 || doc["kind"] != "hakit-capture" || doc["own_key"] == "" || doc["raid"] == nil || doc["nic"] == nil {
		t.Fatalf("capture file: %v\n%s", err, b)
	}
	if ms, _ := doc["members"].([]any); len(ms) != 2 {
		t.Errorf("capture members %v, want this node and the peer", doc["members"])
	}
	out, _, err := run("compare", capA, capB)
	for _, want := range []string{"ok    cluster id: 7 on a, b", "ok    members: [a (1), b (2)] on a, b", "ok    keys:", "DIFF  shared disk identities: a: [?], b: [?]", "could not be identified", "note  RAID"} {
		if !strings.Contains(out, want) {
			t.Errorf("compare a b lacks %q:\n%s", want, out)
		}
	}
	if ExitCode(err) != 3 {
		t.Errorf("compare a b: %v, want exit 3", err)
	}
	out, _, err = run("compare", capA, capC)
	if !strings.Contains(out, "DIFF  node ids: a and c both have 1") || !strings.Contains(out, "DIFF  members: c has [c (1), a (2)]; a has [a (1), b (2)]") || ExitCode(err) != 3 {
		t.Errorf("compare a c: %v\n%s", err, out)
	}
	if _, _, err := run("compare", capA); ExitCode(err) != 2 {
		t.Errorf("compare with one file: %v", err)
	}
	if _, _, err := run("compare", capA, filepath.Join(dir, "none.json")); ExitCode(err) != 1 {
		t.Errorf("compare with a missing file: %v", err)
	}
}

// TestCompareCaptures holds compare's findings on the captures of up to
// four members against testdata/compare.golden (go test -run
// TestCompareCaptures -update rewrites it; review the diff), and counts
// the DIFFs of each case.
func TestCompareCaptures(t *testing.T) {
	disk := func(id string) CapturePart {
		return CapturePart{Command: "hwagent disk identify /dev/sdb", JSON: json.RawMessage(`{"identity":"` + id + `"}`)}
	}
	nic := func(speed int) *CapturePart {
		return &CapturePart{Command: "hwagent nic status eth1", JSON: json.RawMessage(fmt.Sprintf(`{"carrier":"up","speed_mbps":%d,"duplex":"full"}`, speed))}
	}
	key := func(id int) string { return fmt.Sprintf("0x686b790269%04x", id) }
	// node makes member id of a cluster of members 1..n (names a, b, ...).
	node := func(id, n int) *Capture {
		c := &Capture{Kind: "hakit-capture", Node: CaptureNode{string(rune('a' + id - 1)), id}, Cluster: 7, OwnKey: key(id),
			Versions: CaptureVersions{Commit: "f84918c"}, Disks: []CapturePart{disk("naa.600140501")}, NIC: nic(1000)}
		c.Members = []CaptureMember{{Name: c.Node.Name, ID: id, Key: key(id), Self: true}}
		for p := 1; p <= n; p++ {
			if p != id {
				c.Members = append(c.Members, CaptureMember{Name: string(rune('a' + p - 1)), ID: p, Key: key(p)})
			}
		}
		return c
	}
	cluster := func(n int) []*Capture {
		var out []*Capture
		for id := 1; id <= n; id++ {
			out = append(out, node(id, n))
		}
		return out
	}
	var b strings.Builder
	for _, tt := range []struct {
		name string
		caps func() []*Capture
		bad  int
	}{
		{"a pair that fits", func() []*Capture { return cluster(2) }, 0},
		{"a pair captured before member lists", func() []*Capture {
			cs := cluster(2)
			for i, c := range cs {
				o := cs[1-i]
				c.Peer, c.PeerKey, c.Members = o.Node, o.OwnKey, nil
			}
			return cs
		}, 0},
		{"four members that fit", func() []*Capture { return cluster(4) }, 0},
		{"three of four members captured", func() []*Capture { return cluster(4)[:3] }, 0},
		{"the third member in another cluster", func() []*Capture {
			cs := cluster(3)
			cs[2].Cluster = 8
			return cs
		}, 1},
		{"two members with one id", func() []*Capture {
			cs := cluster(3)
			cs[2].Node.ID, cs[2].Members[0].ID = 2, 2
			return cs
		}, 2},
		{"a member missing from one configuration", func() []*Capture {
			cs := cluster(3)
			cs[1].Members = cs[1].Members[:2]
			return cs
		}, 1},
		{"a stale key for one member", func() []*Capture {
			cs := cluster(3)
			cs[2].Members[1].Key = key(9)
			return cs
		}, 1},
		{"one member sees another LUN", func() []*Capture {
			cs := cluster(3)
			cs[1].Disks = []CapturePart{disk("naa.600140599")}
			return cs
		}, 1},
		{"a disk not identified on one member", func() []*Capture {
			cs := cluster(3)
			cs[2].Disks = []CapturePart{{Command: "hwagent disk identify /dev/sdb", Error: "no such device"}}
			return cs
		}, 1},
		{"another build and a slower NIC on the fourth", func() []*Capture {
			cs := cluster(4)
			cs[3].Versions.Commit, cs[3].NIC = "bed3626", nic(100)
			return cs
		}, 2},
		{"a build without its commit", func() []*Capture {
			cs := cluster(2)
			cs[0].Versions.Commit = "unknown"
			return cs
		}, 0},
	} {
		var out strings.Builder
		if bad := compareCaptures(tt.caps(), &out); bad != tt.bad {
			t.Errorf("%s: %d DIFF(s), want %d:\n%s", tt.name, bad, tt.bad, out.String())
		}
		b.WriteString("# " + tt.name + "\n" + out.String() + "\n")
	}
	path := filepath.Join("testdata", "compare.golden")
	if *updateGolden {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -run TestCompareCaptures -update writes it)", err)
	}
	if b.String() != string(want) {
		t.Errorf("compare's findings differ from %s (rerun with -update and review the diff):\n%s", path, b.String())
	}
}
