package raidctl

import (
	"strings"
	"testing"
)

// The faults come first, errors before warnings before notes; the tool's
// output lines are one group per node, each line named once.
func TestGroup(t *testing.T) {
	fs := []Finding{
		{Rule: RuleToolOutput, Severity: SeverityWarning, Node: "B", Subject: "output", Message: "ipssend line 8: unrecognised line", Fix: "extend the parser"},
		{Rule: RuleBattery, Severity: SeverityInfo, Node: "A", Subject: "battery", Message: "says nothing"},
		{Rule: RuleToolOutput, Severity: SeverityWarning, Node: "A", Subject: "output", Message: "ipssend line 9: provisional", Fix: "extend the parser"},
		{Rule: RuleNames, Severity: SeverityWarning, Node: "A", Subject: "controller", Message: "partner name unknown"},
		{Rule: RuleDriveHealth, Severity: SeverityError, Node: "A", Subject: "logical drive 2", Message: "failed"},
		{Rule: RuleToolOutput, Severity: SeverityWarning, Node: "A", Subject: "output", Message: "ipssend line 10: provisional", Fix: "extend the parser"},
	}
	faults, unknown := Group(fs, IsToolOutput)
	var rules []string
	for _, f := range faults {
		rules = append(rules, f.Rule)
	}
	if got, want := strings.Join(rules, " "), "drive-health partner-names battery"; got != want {
		t.Errorf("faults %s, want %s", got, want)
	}
	if len(unknown) != 2 || unknown[0].Node != "A" || unknown[1].Node != "B" {
		t.Fatalf("groups %+v", unknown)
	}
	if got, want := unknown[0].Summary(), "2 value(s) the tool's output does not give or that were read without a confirmed format: output line 9, output line 10"; got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
	if len(unknown[0].Fixes) != 1 {
		t.Errorf("fixes %q, want one", unknown[0].Fixes)
	}
	// IsUnknown takes a rule's own "unknown" warning into the group too.
	if faults, _ := Group(fs, IsUnknown); len(faults) != 2 {
		t.Errorf("IsUnknown faults %+v", faults)
	}
}
