package raidctl

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// loadNode parses a fixture and returns its only (or named) controller.
func loadNode(t *testing.T, label, file string, tool Tool, id string) Node {
	t.Helper()
	sys, err := Parse(tool, readFixture(t, file))
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	n, err := NodeFromSystem(label, sys, id)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

const (
	ipsA = "ipssend/synthetic__getconfig-1-AL-cluster-A.txt"
	ipsB = "ipssend/synthetic__getconfig-1-AL-cluster-B.txt"
)

// summary reduces findings to "severity rule node subject" lines.
func summary(r Report) []string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, fmt.Sprintf("%s %s %s %s", f.Severity, f.Rule, f.Node, f.Subject))
	}
	return out
}

// The findings every ipssend synthetic pair carries: provisional cluster
// lines on both nodes, the unknown "Rebuild rate" line on A, no battery
// line, and the non-shared LD 1 is fine.
var ipsBase = []string{
	"warning tool-output A output",
	"warning tool-output A output",
	"warning tool-output A output",
	"warning tool-output A output",
	"warning tool-output A output",
	"warning tool-output B output",
	"warning tool-output B output",
	"warning tool-output B output",
	"warning tool-output B output",
	"warning provisional A controller",
	"warning provisional B controller",
	"info battery A battery",
	"info battery B battery",
	// Shared merge group 1 is merged on A; B, its partner, does not list it.
	"info shared-on-both A logical drive 2 (merge group 1)",
}

func TestValidatePair(t *testing.T) {
	shared := func(n *Node) *LogicalDrive { return &n.Controller.LogicalDrives[1] }
	tests := []struct {
		name   string
		a, b   func(t *testing.T) Node
		mutate func(a, b *Node)
		want   []string // in addition to ipsBase when base is true
		base   bool
		// namesUnknown adds the four "controller/partner name unknown"
		// warnings of tools that print no names.
		namesUnknown bool
	}{
		{
			name: "correct ServeRAID pair",
			base: true,
		},
		{
			name:   "partner name does not name the other",
			base:   true,
			mutate: func(a, b *Node) { b.Controller.Cluster.PartnerName = ptr("NODEC") },
			want:   []string{"error partner-names B partner name"},
		},
		{
			name: "duplicate controller names",
			base: true,
			mutate: func(a, b *Node) {
				b.Controller.Cluster.Name = ptr("NODEA")
				b.Controller.Cluster.PartnerName = ptr("NODEA")
			},
			want: []string{"error partner-names A partner name", "error partner-names pair controller name"},
		},
		{
			name:   "partner name unknown",
			base:   true,
			mutate: func(a, b *Node) { a.Controller.Cluster.PartnerName = nil },
			want:   []string{"warning partner-names A partner name"},
		},
		{
			name:   "same initiator ID on the shared channel",
			base:   true,
			mutate: func(a, b *Node) { a.Controller.Cluster.Initiators[1].ID = ptr(7) },
			want:   []string{"error initiator-ids pair channel 2"},
		},
		{
			name:   "initiator IDs differ but are not 6 and 7",
			base:   true,
			mutate: func(a, b *Node) { a.Controller.Cluster.Initiators[1].ID = ptr(5) },
			want:   []string{"warning initiator-ids pair channel 2"},
		},
		{
			name:   "initiator ID unknown on the shared channel",
			base:   true,
			mutate: func(a, b *Node) { b.Controller.Cluster.Initiators = b.Controller.Cluster.Initiators[:1] },
			want:   []string{"warning initiator-ids pair channel 2"},
		},
		{
			name: "shared drive write-back",
			base: true,
			mutate: func(a, b *Node) {
				shared(a).WriteCache = ptr(WriteBack)
			},
			want: []string{"error write-through A logical drive 2 (merge group 1)"},
		},
		{
			name:   "shared drive write policy unknown",
			base:   true,
			mutate: func(a, b *Node) { shared(a).WriteCache = nil },
			want:   []string{"warning write-through A logical drive 2 (merge group 1)"},
		},
		{
			// Both controllers hold merge group 1: the pair's worst state.
			name: "shared merge group merged on both nodes",
			base: true,
			mutate: func(a, b *Node) {
				b.Controller.LogicalDrives = append(b.Controller.LogicalDrives, *shared(a))
			},
			want: []string{"error shared-on-both pair logical drive 2 (merge group 1)", "-info shared-on-both A logical drive 2 (merge group 1)"},
		},
		{
			name:   "shared merge group merged on neither node",
			base:   true,
			mutate: func(a, b *Node) { a.Controller.LogicalDrives = a.Controller.LogicalDrives[:1] },
			// No shared channel is known then: channel 1, common to both
			// and at ID 7 on both, is the one the IDs are checked on.
			want: []string{"-info shared-on-both A logical drive 2 (merge group 1)", "error initiator-ids pair channel 1"},
		},
		{
			// A drive shared without a merge group (another tool's own
			// sharing flag) is still matched by ID, size and level.
			name: "shared drive without merge group missing on B",
			base: true,
			mutate: func(a, b *Node) {
				shared(a).MergeGroup = nil
			},
			want: []string{"error shared-on-both A logical drive 2", "-info shared-on-both A logical drive 2 (merge group 1)",
				"warning merge-group A logical drives 2"},
		},
		{
			name:   "shared drive is RAID-5",
			base:   true,
			mutate: func(a, b *Node) { shared(a).RAIDLevel = ptr("5") },
			want:   []string{"warning shared-raid5 A logical drive 2 (merge group 1)"},
		},
		{
			name:   "merge group between 9 and 199",
			base:   true,
			mutate: func(a, b *Node) { a.Controller.LogicalDrives[0].setMergeGroup(50) },
			want: []string{"error merge-group A logical drive 1 (merge group 50)",
				"warning shared-unknown A logical drives 1"},
		},
		{
			name: "two shared drives in one merge group",
			base: true,
			mutate: func(a, b *Node) {
				for _, n := range []*Node{a, b} {
					n.Controller.LogicalDrives[0].setMergeGroup(1)
					n.Controller.LogicalDrives[0].WriteCache = ptr(WriteThrough)
				}
			},
			want: []string{"error merge-group A logical drive 2 (merge group 1)",
				// Channel 1 now carries a shared drive, and both nodes use ID 7 there.
				"error initiator-ids pair channel 1",
				// Group 1 is now listed on both nodes: merged on both.
				"error shared-on-both pair logical drive 1 (merge group 1)", "error shared-on-both pair logical drive 2 (merge group 1)",
				"-info shared-on-both A logical drive 2 (merge group 1)"},
		},
		{
			name: "degraded, rebuilding and failed drives, failed battery",
			base: true,
			mutate: func(a, b *Node) {
				a.Controller.LogicalDrives[0].Condition = ConditionDegraded
				b.Controller.LogicalDrives[0].Condition = ConditionRebuilding
				shared(a).Condition = ConditionFailed
				a.Controller.Battery = &Battery{Present: ptr(true), Failed: ptr(true)}
			},
			want: []string{"warning drive-health A logical drive 1 (merge group 207)", "warning drive-health B logical drive 1 (merge group 207)",
				"error drive-health A logical drive 2 (merge group 1)", "warning battery A battery", "-info battery A battery"},
		},
		{
			name:         "real ipssend capture against itself: nothing known about clustering",
			namesUnknown: true,
			a: func(t *testing.T) Node {
				return loadNode(t, "A", "ipssend/check_raid__ips__test1.ipssend-getconfig-1-LD.txt", ToolIpssend, "")
			},
			b: func(t *testing.T) Node {
				return loadNode(t, "B", "ipssend/check_raid__ips__test1.ipssend-getconfig-1-LD.txt", ToolIpssend, "")
			},
			want: []string{
				"warning drive-health A logical drive 2 (merge group 207)",
				"info battery A battery",
				"warning drive-health B logical drive 2 (merge group 207)",
				"info battery B battery",
				"warning cluster-mode A controller",
				"warning cluster-mode B controller",
				"warning initiator-ids pair initiator IDs",
			},
		},
		{
			name:         "arcconf parallel SCSI pair: both at the default ID 7",
			namesUnknown: true,
			a: func(t *testing.T) Node {
				return loadNode(t, "A", "arcconf/check_raid__arcconf__86__arcconf-getconfig.out", ToolArcconf, "")
			},
			b: func(t *testing.T) Node {
				return loadNode(t, "B", "arcconf/check_raid__arcconf__86__arcconf-getconfig.out", ToolArcconf, "")
			},
			want: []string{
				"error initiator-ids pair channel 0",
				"error initiator-ids pair channel 1",
				"warning drive-health A logical drive 0",
				"warning drive-health B logical drive 0",
				"warning shared-unknown A logical drives 0",
				"warning shared-unknown B logical drives 0",
			},
		},
		{
			name:         "storcli controllers without cluster mode",
			namesUnknown: true,
			a: func(t *testing.T) Node {
				return loadNode(t, "A", "storcli/storcli-check__single-controller-ok__00-show-all.txt", ToolStorcliText, "")
			},
			b: func(t *testing.T) Node {
				return loadNode(t, "B", "storcli/prometheus-textfile__storcli_-cALL_show_all.json", ToolStorcli, "")
			},
			want: []string{
				"error cluster-mode A controller",
				"error cluster-mode B controller",
				"warning tool-output A output",
				"warning shared-unknown A logical drives 0, 1",
				// "Cluster Active: No" says nothing about a drive's
				// sharing: unknown, as in the text form.
				"warning shared-unknown B logical drives 0",
				"warning initiator-ids pair initiator IDs",
			},
		},
		{
			name:         "storcli HA-active pair (synthetic): sharing and names unknown",
			namesUnknown: true,
			a: func(t *testing.T) Node {
				return loadNode(t, "A", "storcli/synthetic__storcli_-cALL_show_all_ha-active.json", ToolStorcli, "")
			},
			b: func(t *testing.T) Node {
				return loadNode(t, "B", "storcli/synthetic__storcli_-cALL_show_all_ha-active.json", ToolStorcli, "")
			},
			want: []string{
				"warning shared-unknown A logical drives 0",
				"warning shared-unknown B logical drives 0",
				"warning initiator-ids pair initiator IDs",
			},
		},
		{
			name: "Linux md pair: controller checks do not apply",
			a: func(t *testing.T) Node {
				return loadNode(t, "A", "mdadm/check_raid__mdadm__white-mdadm-125.txt", ToolMdadm, "")
			},
			b: func(t *testing.T) Node {
				return loadNode(t, "B", "mdadm/check_raid__mdstat__mdstat-resync.txt", ToolMdstat, "")
			},
			want: []string{
				"warning drive-health B logical drive md2",
				"warning drive-health B logical drive md1",
				"info battery A battery",
				"info battery B battery",
				"info not-applicable pair controller",
				"warning md-assembly B arrays md0, md2, md1",
			},
		},
		{
			// The same array (one UUID) assembled on both nodes.
			name: "Linux md pair: one array assembled on both nodes",
			a: func(t *testing.T) Node {
				return loadNode(t, "A", "mdadm/check_raid__mdadm__white-mdadm-125.txt", ToolMdadm, "")
			},
			b: func(t *testing.T) Node {
				return loadNode(t, "B", "mdadm/check_raid__mdadm__white-mdadm-125.txt", ToolMdadm, "")
			},
			want: []string{
				"info battery A battery",
				"info battery B battery",
				"info not-applicable pair controller",
				"error md-assembly pair array 57219006:b1527c59:de32536d:bb88a27f",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var a, b Node
			if tc.a != nil {
				a, b = tc.a(t), tc.b(t)
			} else {
				a, b = loadNode(t, "A", ipsA, ToolIpssend, ""), loadNode(t, "B", ipsB, ToolIpssend, "")
			}
			if tc.mutate != nil {
				tc.mutate(&a, &b)
			}
			want := map[string]int{}
			if tc.base {
				for _, s := range ipsBase {
					want[s]++
				}
			}
			if tc.namesUnknown {
				for _, node := range []string{"A", "B"} {
					want["warning partner-names "+node+" controller name"]++
					want["warning partner-names "+node+" partner name"]++
				}
			}
			for _, s := range tc.want {
				if strings.HasPrefix(s, "-") {
					want[s[1:]]--
					continue
				}
				want[s]++
			}
			got := map[string]int{}
			r := ValidatePair(a, b)
			for _, s := range summary(r) {
				got[s]++
			}
			for k, n := range want {
				if n == 0 {
					delete(want, k)
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("findings mismatch (-want +got):\n%s\nall findings:\n%s", diff, strings.Join(messages(r), "\n"))
			}
			for _, f := range r.Findings {
				if f.Severity != SeverityInfo && f.Fix == "" {
					t.Errorf("finding without a fix hint: %+v", f)
				}
				if f.Severity == SeverityWarning && strings.Contains(f.Rule, "unknown") && !strings.Contains(f.Message, "unknown") {
					t.Errorf("unknown-value warning does not say unknown: %+v", f)
				}
			}
			if r.OK() != (r.Count(SeverityError)+r.Count(SeverityWarning) == 0) {
				t.Errorf("OK() = %v with %d errors, %d warnings", r.OK(), r.Count(SeverityError), r.Count(SeverityWarning))
			}
		})
	}
}

func messages(r Report) []string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, fmt.Sprintf("  %s %s [%s %s] %s (fix: %s)", f.Severity, f.Rule, f.Node, f.Subject, f.Message, f.Fix))
	}
	return out
}

// TestValidateUnknownNeverPasses strips every optional field from a correct
// pair: no check may pass silently, so the report must not be OK and every
// cluster rule must speak.
func TestValidateUnknownNeverPasses(t *testing.T) {
	a, b := loadNode(t, "A", ipsA, ToolIpssend, ""), loadNode(t, "B", ipsB, ToolIpssend, "")
	for _, n := range []*Node{&a, &b} {
		n.Warnings = nil
		c := n.Controller
		c.Cluster = Cluster{}
		for i := range c.LogicalDrives {
			ld := &c.LogicalDrives[i]
			*ld = LogicalDrive{ID: ld.ID, Condition: ConditionUnknown}
		}
	}
	r := ValidatePair(a, b)
	if r.OK() {
		t.Fatal("report OK with every value unknown")
	}
	rules := map[string]bool{}
	for _, f := range r.Findings {
		if f.Severity != SeverityInfo && !strings.Contains(f.Message, "unknown") {
			t.Errorf("finding on unknown data does not say unknown: %+v", f)
		}
		rules[f.Rule] = true
	}
	for _, rule := range []string{RuleClusterMode, RuleNames, RuleInitiatorIDs, RuleSharedUnknown, RuleDriveHealth} {
		if !rules[rule] {
			t.Errorf("rule %s silent on unknown data; findings:\n%s", rule, strings.Join(messages(r), "\n"))
		}
	}
}

func TestNodeFromSystem(t *testing.T) {
	sys, err := Parse(ToolStorcli, readFixture(t, "storcli/puppet-storcli__storcli_call_show.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NodeFromSystem("A", sys, ""); err == nil || !strings.Contains(err.Error(), "3 controllers") {
		t.Errorf("NodeFromSystem without id on 3 controllers: err = %v", err)
	}
	n, err := NodeFromSystem("A", sys, "1")
	if err != nil || n.Controller.ID != "1" {
		t.Errorf("NodeFromSystem(id 1) = %+v, %v", n.Controller, err)
	}
	if _, err := NodeFromSystem("A", sys, "9"); err == nil {
		t.Error("NodeFromSystem(id 9) succeeded")
	}
}

// Two controllers in HBA mode (the real mpt3sas HBA 9500-8i capture on
// both nodes) pass their drives through: no logical drive, no drive group.
// The controller-pairing rules do not apply and say so; the pair is not
// failed for lacking cluster support. Beside a MegaRAID with a RAID 6
// (the ServeRAID M5015 capture) the pair is checked as usual.
func TestValidatePassThrough(t *testing.T) {
	hba := loadNode(t, "A", "storcli/netdata__storcli__mpt3sas-controllers-info.json", ToolStorcli, "0")
	hbaB := loadNode(t, "B", "storcli/netdata__storcli__mpt3sas-controllers-info.json", ToolStorcli, "0")
	got := summary(ValidatePair(hba, hbaB))
	want := []string{"info battery A battery", "info battery B battery", "info not-applicable pair controller"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("HBA pair (-want +got):\n%s", diff)
	}
	// A warning may be logical drives the parser missed: checked as usual.
	hbaB.Warnings = []string{`storcli controller 0: "Virtual Drives" counts 1, the output lists 0: virtual drives not read`}
	for _, f := range ValidatePair(hba, hbaB).Findings {
		if f.Rule == RuleNotApplicable {
			t.Errorf("HBA pair with a parser warning: %+v", f)
		}
	}
	raid := loadNode(t, "B", "storcli/netdata__storcli__megaraid-controllers-info.json", ToolStorcli, "0")
	errs := 0
	for _, f := range ValidatePair(hba, raid).Findings {
		if f.Rule == RuleNotApplicable {
			t.Errorf("HBA beside a RAID controller: %+v", f)
		}
		if f.Severity == SeverityError {
			errs++
		}
	}
	if errs == 0 {
		t.Error("HBA beside a RAID controller: no error")
	}
}
