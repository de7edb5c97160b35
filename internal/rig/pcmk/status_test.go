package pcmk

import (
	"os"
	"testing"
)

// crm_mon-group.xml is crm_mon 2.1.5's XML for the acceptance group
// running on node-b, captured on the rig.
func TestParseStatusGroup(t *testing.T) {
	b, err := os.ReadFile("testdata/crm_mon-group.xml")
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParseStatus(b)
	if err != nil {
		t.Fatal(err)
	}
	if on := s.GroupOn(); on != "node-b" {
		t.Errorf("GroupOn = %q, want node-b (resources %+v)", on, s.Resources)
	}
	if !s.Quorate() || s.Summary.DC.Name != "node-b" || (Status{}).Quorate() {
		t.Errorf("summary %+v: want node-b the DC, with quorum", s.Summary)
	}
	if !s.Online("node-a") || !s.Online("node-b") {
		t.Errorf("nodes %+v", s.Nodes)
	}
	if len(s.Fences) != 2 || s.Fences[0].Action != "on" || s.FencedOff("node-a") || s.FencedOff("node-b") {
		t.Errorf("fence history %+v: want the two unfencing events, no off", s.Fences)
	}
	if !(Status{Fences: []FenceEvent{{Action: "reboot", Target: "node-a", Status: "success"}}}).FencedOff("node-a") {
		t.Error("a successful reboot is not a fence")
	}
	if s.RunningOn("fence-hw") == "" {
		t.Errorf("fence-hw not running: %+v", s.Resources)
	}
}
