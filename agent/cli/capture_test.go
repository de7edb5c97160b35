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
	out, _, err := run("compare", capA, capB)
	for _, want := range []string{"ok    cluster id: 7 and 7", "ok    peers:", "ok    keys:", "DIFF  shared disk identities: a: [?], b: [?]", "could not be identified", "note  RAID"} {
		if !strings.Contains(out, want) {
			t.Errorf("compare a b lacks %q:\n%s", want, out)
		}
	}
	if ExitCode(err) != 3 {
		t.Errorf("compare a b: %v, want exit 3", err)
	}
	out, _, err = run("compare", capA, capC)
	if !strings.Contains(out, "DIFF  node ids: 1 and 1") || !strings.Contains(out, "DIFF  peers:") || ExitCode(err) != 3 {
		t.Errorf("compare a c: %v\n%s", err, out)
	}
	if _, _, err := run("compare", capA); ExitCode(err) != 2 {
		t.Errorf("compare with one file: %v", err)
	}
	if _, _, err := run("compare", capA, filepath.Join(dir, "none.json")); ExitCode(err) != 1 {
		t.Errorf("compare with a missing file: %v", err)
	}
}
