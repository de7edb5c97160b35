package check

import (
	"os"
	"strings"
	"testing"

	"github.com/hakit/hakit/raidctl"
)

func fixtureNode(t *testing.T, label, file string, tool raidctl.Tool) raidctl.Node {
	t.Helper()
	data, err := os.ReadFile("../fixtures/raid/" + file)
	if err != nil {
		t.Fatal(err)
	}
	sys, err := raidctl.Parse(tool, data)
	if err != nil {
		t.Fatal(err)
	}
	n, err := raidctl.NodeFromSystem(label, sys, "")
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// hwcheck's RAID section has a line per rule checked, and a battery the
// tool said nothing about is a skip, never a pass (issue 14, item 10). The
// ipssend capture (check_raid test1) prints no battery.
func TestRAIDPairResults(t *testing.T) {
	a := fixtureNode(t, "A", "ipssend/check_raid__ips__test1.ipssend-getconfig-1-LD.txt", raidctl.ToolIpssend)
	b := fixtureNode(t, "B", "ipssend/check_raid__ips__test1.ipssend-getconfig-1-LD.txt", raidctl.ToolIpssend)
	got := raidPairResults(raidctl.ValidatePair(a, b))
	byRule := map[string][]Result{}
	for _, r := range got {
		byRule[r.Name] = append(byRule[r.Name], r)
	}
	for _, r := range raidPairRules() {
		if len(byRule[r.rule]) == 0 {
			t.Errorf("no line for rule %s in %+v", r.rule, got)
		}
	}
	for _, r := range byRule[raidctl.RuleBattery] {
		if r.Verdict == Pass {
			t.Errorf("battery unknown but reported pass: %+v", r)
		}
		if strings.Contains(r.Measured, "says nothing") && r.Verdict != Skip {
			t.Errorf("unknown battery is %s, want skip: %+v", r.Verdict, r)
		}
	}
}
