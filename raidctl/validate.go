package raidctl

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Severity ranks a Finding.
type Severity string

// Severities, most serious first.
const (
	SeverityError   Severity = "error"   // will corrupt data or break failover
	SeverityWarning Severity = "warning" // degraded, or could not be checked
	SeverityInfo    Severity = "info"
)

func (s Severity) rank() int {
	switch s {
	case SeverityError:
		return 0
	case SeverityWarning:
		return 1
	}
	return 2
}

// Rule identifiers, stable for scripts and tests.
const (
	RuleClusterMode   = "cluster-mode"   // the controller is set up for clustering at all
	RuleNames         = "partner-names"  // names unique, each partner name names the other
	RuleInitiatorIDs  = "initiator-ids"  // IDs differ on each shared channel (6 and 7)
	RuleSharedOnBoth  = "shared-on-both" // a shared drive on both with the same size and level; a ServeRAID merge group merged on one node only
	RuleMergeGroup    = "merge-group"    // shared 1-8 and unique, non-shared 200+
	RuleSharedUnknown = "shared-unknown" // whether a drive is shared is not known
	RuleWriteThrough  = "write-through"  // shared drives run write-through
	RuleSharedRAID5   = "shared-raid5"   // Linux-HA refuses shared RAID-5
	RuleDriveHealth   = "drive-health"   // degraded / rebuilding / failed logical drives
	RuleBattery       = "battery"        // failed or unknown cache battery
	RuleProvisional   = "provisional"    // cluster fields came from unconfirmed output lines
	RuleToolOutput    = "tool-output"    // parser warnings (unknown lines, partial failures)
	RuleNotApplicable = "not-applicable" // Linux md: no controller pairing
	RuleMdAssembly    = "md-assembly"    // Linux md: one array UUID assembled on both nodes
)

// Finding is one problem found by ValidatePair.
type Finding struct {
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	// Node is "A", "B" or "pair"; Subject names what is wrong within it
	// ("controller", "logical drive 2", "channel 1").
	Node    string `json:"node"`
	Subject string `json:"subject"`
	Message string `json:"message"`
	Fix     string `json:"fix,omitempty"`
}

// Report is the outcome of a pair validation.
type Report struct {
	NodeA    string    `json:"node_a"`
	NodeB    string    `json:"node_b"`
	Findings []Finding `json:"findings"`
}

// Count returns how many findings have severity s.
func (r *Report) Count(s Severity) int {
	n := 0
	for _, f := range r.Findings {
		if f.Severity == s {
			n++
		}
	}
	return n
}

// OK reports whether the pair has no errors and no warnings: nothing wrong
// and nothing left unchecked.
func (r *Report) OK() bool { return r.Count(SeverityError) == 0 && r.Count(SeverityWarning) == 0 }

// Node is one side of the pair: the controller that sits on the shared
// enclosure, plus the warnings its parser raised.
type Node struct {
	Label      string // "A" or "B"
	Tool       Tool
	Controller *Controller
	Warnings   []string
}

// NodeFromSystem picks the controller with id from sys (any controller when
// sys has exactly one and id is empty).
func NodeFromSystem(label string, sys *System, id string) (Node, error) {
	n := Node{Label: label, Tool: sys.Tool, Warnings: sys.Warnings}
	if id == "" {
		if len(sys.Controllers) != 1 {
			ids := make([]string, 0, len(sys.Controllers))
			for _, c := range sys.Controllers {
				ids = append(ids, strconv.Quote(c.ID))
			}
			return n, fmt.Errorf("node %s: %d controllers (%s): name the one on the shared enclosure", label, len(sys.Controllers), strings.Join(ids, ", "))
		}
		n.Controller = &sys.Controllers[0]
		return n, nil
	}
	for i := range sys.Controllers {
		if sys.Controllers[i].ID == id {
			n.Controller = &sys.Controllers[i]
			return n, nil
		}
	}
	return n, fmt.Errorf("node %s: no controller %q in %s output", label, id, sys.Tool)
}

// ValidatePair checks that a and b are configured as cluster partners on a
// shared enclosure. It never reports a check as passed when a value it needs
// is unknown: that becomes a warning saying what is unknown.
func ValidatePair(a, b Node) Report {
	if a.Label == "" {
		a.Label = "A"
	}
	if b.Label == "" {
		b.Label = "B"
	}
	v := &validator{a: a, b: b}
	v.run()
	sort.SliceStable(v.out, func(i, j int) bool { return v.out[i].Severity.rank() < v.out[j].Severity.rank() })
	return Report{NodeA: a.Label, NodeB: b.Label, Findings: v.out}
}

type validator struct {
	a, b Node
	out  []Finding
}

// mdAssembly compares the array UUIDs of two md nodes: an array assembled
// on both nodes at once (the same UUID in both outputs) is an error, since
// both would write a shared array; an array whose UUID the output does not
// give (/proc/mdstat) cannot be compared, a warning.
func (v *validator) mdAssembly(a, b *Controller) {
	onB := map[string]string{}
	for _, ld := range b.LogicalDrives {
		if ld.UUID != nil {
			onB[strings.ToLower(*ld.UUID)] = ld.ID
		}
	}
	for _, n := range []struct {
		label string
		c     *Controller
	}{{v.a.Label, a}, {v.b.Label, b}} {
		var unknown []string
		for _, ld := range n.c.LogicalDrives {
			if ld.UUID == nil {
				unknown = append(unknown, ld.ID)
			}
		}
		if len(unknown) > 0 {
			v.add(RuleMdAssembly, SeverityWarning, n.label, "arrays "+strings.Join(unknown, ", "),
				"run mdadm --detail --scan (or mdadm --detail on each array) on both nodes; /proc/mdstat gives no UUID",
				"array UUID unknown: whether both nodes assemble the same array cannot be checked")
		}
	}
	for _, ld := range a.LogicalDrives {
		if ld.UUID == nil {
			continue
		}
		if idB, ok := onB[strings.ToLower(*ld.UUID)]; ok {
			v.add(RuleMdAssembly, SeverityError, "pair", "array "+*ld.UUID,
				"stop the array on the standby node (mdadm --stop) and let one node assemble it (resource-agents Raid1)",
				"array UUID %s is assembled on both nodes (%s as %s, %s as %s): both can write it", *ld.UUID, v.a.Label, ld.ID, v.b.Label, idB)
		}
	}
}

func (v *validator) add(rule string, sev Severity, node, subject, fix, format string, args ...any) {
	v.out = append(v.out, Finding{Rule: rule, Severity: sev, Node: node, Subject: subject,
		Message: fmt.Sprintf(format, args...), Fix: fix})
}

func (v *validator) run() {
	for _, n := range []Node{v.a, v.b} {
		for _, w := range n.Warnings {
			v.add(RuleToolOutput, SeverityWarning, n.Label, "output", "check the line against the tool's documentation and extend the parser", "%s", w)
		}
		if n.Controller == nil {
			v.add(RuleClusterMode, SeverityError, n.Label, "controller", "read the node's controller output", "no controller data for node %s", n.Label)
		}
	}
	if v.a.Controller == nil || v.b.Controller == nil {
		return
	}
	ca, cb := v.a.Controller, v.b.Controller
	for _, n := range []Node{v.a, v.b} {
		v.health(n)
		v.battery(n)
	}
	if ca.Vendor == "Linux md" || cb.Vendor == "Linux md" {
		v.add(RuleNotApplicable, SeverityInfo, "pair", "controller",
			"make sure only one node assembles each shared array (resource-agents Raid1)",
			"Linux md has no controller pairing, initiator IDs, merge groups or controller cache: those checks do not apply")
		if ca.Vendor == cb.Vendor {
			v.mdAssembly(ca, cb)
		}
		return
	}
	// Only from outputs read without a warning: a warning may be the
	// logical drives the parser did not find.
	if passThrough(ca) && passThrough(cb) && len(v.a.Warnings) == 0 && len(v.b.Warnings) == 0 {
		v.add(RuleNotApplicable, SeverityInfo, "pair", "controller",
			"check the shared disks themselves: the same LUN identity on both nodes and SCSI reservations (hwagent disks, hwcheck)",
			"neither controller presents a logical drive or puts a drive in a drive group (HBA/IT firmware or JBOD: the drives are passed through): controller pairing, initiator IDs, merge groups and controller cache do not apply")
		return
	}
	for _, n := range []Node{v.a, v.b} {
		v.clusterMode(n)
		if n.Controller.Cluster.Provisional {
			v.add(RuleProvisional, SeverityWarning, n.Label, "controller",
				"confirm the cluster settings in the controller's setup utility, and send the capture so the parser can be confirmed",
				"cluster settings were read from output lines no capture has confirmed (provisional)")
		}
		v.mergeGroups(n)
		v.sharedDrives(n)
	}
	v.names()
	v.initiators()
	v.sharedOnBoth(v.a, v.b)
	v.sharedOnBoth(v.b, v.a)
}

// passThrough reports whether c only passes drives through: it has drives
// but no logical drive, no array and no drive in a drive group (an HBA
// with IT firmware, a RAID controller with JBOD or unconfigured drives
// only). Then there is nothing on the controller for a partner to share.
func passThrough(c *Controller) bool {
	if len(c.LogicalDrives) > 0 || len(c.Arrays) > 0 || len(c.PhysicalDrives) == 0 {
		return false
	}
	for _, pd := range c.PhysicalDrives {
		if pd.Array != nil {
			return false
		}
	}
	return true
}

func (v *validator) clusterMode(n Node) {
	c := n.Controller.Cluster
	switch {
	case c.Supported != nil && !*c.Supported:
		v.add(RuleClusterMode, SeverityError, n.Label, "controller",
			"use a controller model that supports clustering on the shared enclosure",
			"the controller reports no cluster support")
	case c.Enabled != nil && !*c.Enabled:
		v.add(RuleClusterMode, SeverityError, n.Label, "controller",
			"enable cluster mode (MegaCli -AdpSetProp ClusterEnable 1 -aN; Syncro/HA setup for storcli controllers)",
			"cluster mode is not enabled (permitted: no)")
	case c.Active != nil && !*c.Active:
		v.add(RuleClusterMode, SeverityError, n.Label, "controller",
			"bring the controller pair up as a cluster (check the peer controller and the shared cabling)",
			"cluster mode is not active")
	case c.Supported == nil && c.Enabled == nil && c.Active == nil && c.Name == nil && c.PartnerName == nil && len(c.Initiators) == 0:
		v.add(RuleClusterMode, SeverityWarning, n.Label, "controller",
			"check the controller's cluster settings by hand; the tool output shows none",
			"cluster settings unknown: the %s output shows no cluster setting at all", n.Tool)
	}
}

func strOr(p *string) string {
	if p == nil {
		return "unknown"
	}
	return strconv.Quote(*p)
}

func (v *validator) names() {
	ca, cb := v.a.Controller.Cluster, v.b.Controller.Cluster
	for _, x := range []struct {
		n     Node
		c     Cluster
		other Node
		oc    Cluster
	}{{v.a, ca, v.b, cb}, {v.b, cb, v.a, ca}} {
		if x.c.Name == nil {
			v.add(RuleNames, SeverityWarning, x.n.Label, "controller name",
				"read the controller name from the controller's setup utility (ServeRAID: Configure for clustering)",
				"controller name unknown: not in the %s output", x.n.Tool)
		}
		if x.c.PartnerName == nil {
			v.add(RuleNames, SeverityWarning, x.n.Label, "partner name",
				"read the partner name from the controller's setup utility",
				"partner name unknown: not in the %s output", x.n.Tool)
			continue
		}
		if x.oc.Name != nil && *x.c.PartnerName != *x.oc.Name {
			v.add(RuleNames, SeverityError, x.n.Label, "partner name",
				fmt.Sprintf("set node %s's partner name to %q", x.n.Label, *x.oc.Name),
				"partner name %q does not name node %s's controller (%q)", *x.c.PartnerName, x.other.Label, *x.oc.Name)
		}
	}
	if ca.Name != nil && cb.Name != nil && *ca.Name == *cb.Name {
		v.add(RuleNames, SeverityError, "pair", "controller name",
			"give each controller a unique name (change one controller at a time, never both at once)",
			"both controllers are named %q", *ca.Name)
	}
}

// channelsOf returns the channels of "channel,id" member references.
func channelsOf(members []string) []int {
	var out []int
	for _, m := range members {
		c, _, ok := strings.Cut(m, ",")
		if !ok || strings.Contains(m, ":") {
			continue
		}
		if n, ok := atoi(c); ok {
			out = append(out, n)
		}
	}
	return out
}

// sharedChannels returns the channels that carry drives of shared logical
// drives on either node.
func sharedChannels(cs ...*Controller) []int {
	var out []int
	for _, c := range cs {
		arrays := map[string][]string{}
		for _, a := range c.Arrays {
			arrays[a.ID] = a.Members
		}
		for _, ld := range c.LogicalDrives {
			if ld.Shared == nil || !*ld.Shared {
				continue
			}
			out = append(out, channelsOf(ld.Members)...)
			if ld.Array != nil {
				out = append(out, channelsOf(arrays[*ld.Array])...)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// initiatorOn returns the controller's ID on channel ch; channel 0 entries
// apply to every channel.
func initiatorOn(c Cluster, ch int) (*int, bool) {
	var all *int
	found := false
	for _, i := range c.Initiators {
		if i.Channel == ch {
			return i.ID, true
		}
		if i.Channel == 0 && ch != 0 {
			all, found = i.ID, true
		}
	}
	return all, found
}

func (v *validator) initiators() {
	ca, cb := v.a.Controller.Cluster, v.b.Controller.Cluster
	chans := sharedChannels(v.a.Controller, v.b.Controller)
	how := "channels carrying shared drives"
	if len(chans) == 0 {
		how = "channels both controllers report"
		for _, i := range ca.Initiators {
			if _, ok := initiatorOn(cb, i.Channel); ok {
				chans = append(chans, i.Channel)
			}
		}
		slices.Sort(chans)
		chans = slices.Compact(chans)
	}
	if len(chans) == 0 {
		v.add(RuleInitiatorIDs, SeverityWarning, "pair", "initiator IDs",
			"read each controller's SCSI initiator ID on the shared channels from its setup utility (one 6, the other 7)",
			"initiator IDs unknown: no shared channel is known and the outputs show no common channel")
		return
	}
	for _, ch := range chans {
		subject := fmt.Sprintf("channel %d", ch)
		ia, _ := initiatorOn(ca, ch)
		ib, _ := initiatorOn(cb, ch)
		if ia == nil || ib == nil {
			var who []string
			if ia == nil {
				who = append(who, v.a.Label)
			}
			if ib == nil {
				who = append(who, v.b.Label)
			}
			v.add(RuleInitiatorIDs, SeverityWarning, "pair", subject,
				"read the initiator ID of that channel from the controller's setup utility",
				"initiator ID on %s (one of the %s) unknown on node %s", subject, how, strings.Join(who, " and "))
			continue
		}
		if *ia == *ib {
			v.add(RuleInitiatorIDs, SeverityError, "pair", subject,
				"set one controller's initiator ID on this channel to 6 and the other's to 7",
				"both controllers use SCSI initiator ID %d on %s", *ia, subject)
			continue
		}
		if !(*ia == 6 && *ib == 7 || *ia == 7 && *ib == 6) {
			v.add(RuleInitiatorIDs, SeverityWarning, "pair", subject,
				"use 6 on one node and 7 on the other, as the cluster documentation expects",
				"initiator IDs %d and %d on %s differ but are not the conventional 6 and 7", *ia, *ib, subject)
		}
	}
}

func ldSubject(ld LogicalDrive) string {
	s := "logical drive " + ld.ID
	if ld.MergeGroup != nil {
		s += fmt.Sprintf(" (merge group %d)", *ld.MergeGroup)
	}
	return s
}

func (v *validator) mergeGroups(n Node) {
	var unknownShared []string
	seen := map[int]string{}
	for _, ld := range n.Controller.LogicalDrives {
		if ld.Shared == nil {
			unknownShared = append(unknownShared, ld.ID)
		}
		if ld.MergeGroup == nil {
			continue
		}
		mg := *ld.MergeGroup
		switch {
		case mg >= 1 && mg <= 8:
			if other, dup := seen[mg]; dup {
				v.add(RuleMergeGroup, SeverityError, n.Label, ldSubject(ld),
					"give every shared logical drive its own merge group number (1-8)",
					"merge group %d is used by logical drives %s and %s", mg, other, ld.ID)
			}
			seen[mg] = ld.ID
		case mg >= 200:
		default:
			v.add(RuleMergeGroup, SeverityError, n.Label, ldSubject(ld),
				"use 1-8 for a shared logical drive and 200 or more for a non-shared one",
				"merge group %d is neither shared (1-8) nor non-shared (200 and up)", mg)
		}
	}
	if len(unknownShared) > 0 {
		v.add(RuleSharedUnknown, SeverityWarning, n.Label, "logical drives "+strings.Join(unknownShared, ", "),
			"confirm in the controller's setup utility which logical drives are shared",
			"whether these logical drives are shared is unknown: the %s output does not say", n.Tool)
	}
}

func (v *validator) sharedDrives(n Node) {
	var unknownMG []string
	for _, ld := range n.Controller.LogicalDrives {
		if ld.MergeGroup == nil && ld.Shared != nil {
			unknownMG = append(unknownMG, ld.ID)
		}
		if ld.Shared == nil || !*ld.Shared {
			continue
		}
		switch {
		case ld.WriteCache == nil:
			v.add(RuleWriteThrough, SeverityWarning, n.Label, ldSubject(ld),
				"check the logical drive's write policy; shared drives must be write-through",
				"write-cache policy unknown (printed: %s)", strOr(ld.WriteCacheText))
		case *ld.WriteCache == WriteBack:
			v.add(RuleWriteThrough, SeverityError, n.Label, ldSubject(ld),
				"set the shared logical drive to write-through: data in this controller's cache is lost to the partner on failover",
				"shared logical drive runs write-back (%s)", strOr(ld.WriteCacheText))
		}
		if ld.RAIDLevel != nil && *ld.RAIDLevel == "5" {
			v.add(RuleSharedRAID5, SeverityWarning, n.Label, ldSubject(ld),
				"use RAID 1 or 10 for shared drives: the firmware does not fail over a critical RAID-5 correctly",
				"shared logical drive is RAID-5")
		}
	}
	if len(unknownMG) > 0 {
		v.add(RuleMergeGroup, SeverityWarning, n.Label, "logical drives "+strings.Join(unknownMG, ", "),
			"check merge groups in the controller's setup utility (shared 1-8, non-shared 200 and up)",
			"merge group unknown: the %s output does not print one", n.Tool)
	}
}

// sharedKey matches a shared drive across the pair: by merge group when
// known, else by logical drive ID.
func sharedKey(ld LogicalDrive) string {
	if ld.MergeGroup != nil {
		return "mg:" + strconv.Itoa(*ld.MergeGroup)
	}
	return "id:" + ld.ID
}

// mergedOnce checks a ServeRAID shared merge group (1-8) across the pair.
// A shared merge group is a logical drive only on the controller that has
// merged it: `ipssend getconfig <ctrl> ld` prints its "Part of merge
// group : N" line there and not on the partner, and UNMERGE takes it away
// (ClusterLabs resource-agents heartbeat/ServeRAID: its status is that
// line's presence, its stop must make it disappear). So the group listed
// on both nodes means both controllers hold it, the one thing a pair must
// never do; listed on one node is the normal state, and its size and RAID
// level cannot be compared with the partner's from these captures.
func (v *validator) mergedOnce(x, y Node, ld LogicalDrive, onPeer bool) {
	mg := *ld.MergeGroup
	switch {
	case onPeer && x.Label < y.Label:
		v.add(RuleSharedOnBoth, SeverityError, "pair", ldSubject(ld),
			fmt.Sprintf("if the captures were taken at the same time, stop the service on one node and release the group there (ipssend UNMERGE <controller> %d), then check the data", mg),
			"shared merge group %d is merged on both nodes (%s and %s): only one controller may hold it at a time", mg, x.Label, y.Label)
	case !onPeer:
		v.add(RuleSharedOnBoth, SeverityInfo, x.Label, ldSubject(ld),
			"compare its size and RAID level with the partner's after a failover (ipssend getconfig <controller> ld on the node that then holds it)",
			"shared merge group %d is merged on node %s only, as a pair should be; node %s cannot list it while %s holds it", mg, x.Label, y.Label, x.Label)
	}
}

func (v *validator) sharedOnBoth(x, y Node) {
	other := map[string]LogicalDrive{}
	for _, ld := range y.Controller.LogicalDrives {
		other[sharedKey(ld)] = ld
	}
	for _, ld := range x.Controller.LogicalDrives {
		if ld.Shared == nil || !*ld.Shared {
			continue
		}
		peer, ok := other[sharedKey(ld)]
		if ld.MergeGroup != nil {
			v.mergedOnce(x, y, ld, ok)
			continue
		}
		if !ok {
			v.add(RuleSharedOnBoth, SeverityError, x.Label, ldSubject(ld),
				fmt.Sprintf("define the drive on node %s with the same merge group, or make it non-shared", y.Label),
				"shared logical drive is missing on node %s", y.Label)
			continue
		}
		if x.Label > y.Label {
			continue // compare each matched pair once
		}
		if peer.Shared != nil && !*peer.Shared {
			v.add(RuleSharedOnBoth, SeverityError, "pair", ldSubject(ld),
				"mark the drive shared on both nodes",
				"shared on node %s but not shared on node %s", x.Label, y.Label)
		}
		switch {
		case ld.SizeBytes == nil || peer.SizeBytes == nil:
			v.add(RuleSharedOnBoth, SeverityWarning, "pair", ldSubject(ld),
				"compare the sizes by hand", "size unknown on one node (%s on %s, %s on %s)",
				strOr(ld.SizeText), x.Label, strOr(peer.SizeText), y.Label)
		case *ld.SizeBytes != *peer.SizeBytes:
			v.add(RuleSharedOnBoth, SeverityError, "pair", ldSubject(ld),
				"both nodes must see the same logical drive: check the merge group and the cabling",
				"size differs: %d bytes on %s, %d bytes on %s", *ld.SizeBytes, x.Label, *peer.SizeBytes, y.Label)
		}
		switch {
		case ld.RAIDLevel == nil || peer.RAIDLevel == nil:
			v.add(RuleSharedOnBoth, SeverityWarning, "pair", ldSubject(ld),
				"compare the RAID levels by hand", "RAID level unknown on one node (%s on %s, %s on %s)",
				strOr(ld.RAIDLevel), x.Label, strOr(peer.RAIDLevel), y.Label)
		case *ld.RAIDLevel != *peer.RAIDLevel:
			v.add(RuleSharedOnBoth, SeverityError, "pair", ldSubject(ld),
				"both nodes must see the same logical drive: check the merge group and the cabling",
				"RAID level differs: %s on %s, %s on %s", *ld.RAIDLevel, x.Label, *peer.RAIDLevel, y.Label)
		}
	}
}

func (v *validator) health(n Node) {
	for _, ld := range n.Controller.LogicalDrives {
		switch ld.Condition {
		case ConditionDegraded:
			v.add(RuleDriveHealth, SeverityWarning, n.Label, ldSubject(ld),
				"replace the failed member and let the array rebuild before relying on failover",
				"logical drive is degraded (%s)", strOr(ld.State))
		case ConditionRebuilding:
			state := strOr(ld.State)
			if ld.Progress != nil && !strings.Contains(state, "%") {
				state += fmt.Sprintf(", %.0f%%", *ld.Progress)
			}
			if strings.Contains(strings.ToLower(state), "impacted") {
				v.add(RuleDriveHealth, SeverityWarning, n.Label, ldSubject(ld),
					"wait for the build/verify to finish (arcconf GETSTATUS shows its progress) before a planned failover",
					"logical drive is being built or verified (%s)", state)
				break
			}
			v.add(RuleDriveHealth, SeverityWarning, n.Label, ldSubject(ld),
				"wait for the rebuild to finish before a planned failover",
				"logical drive is rebuilding (%s)", state)
		case ConditionFailed:
			v.add(RuleDriveHealth, SeverityError, n.Label, ldSubject(ld),
				"restore the logical drive from its members or backup; it cannot serve data",
				"logical drive has failed or is offline (%s)", strOr(ld.State))
		case ConditionUnknown:
			v.add(RuleDriveHealth, SeverityWarning, n.Label, ldSubject(ld),
				"check the logical drive's state by hand",
				"state unknown (printed: %s)", strOr(ld.State))
		}
	}
}

func (v *validator) battery(n Node) {
	b := n.Controller.Battery
	switch {
	case b == nil:
		v.add(RuleBattery, SeverityInfo, n.Label, "battery", "",
			"the %s output says nothing about a cache battery", n.Tool)
	case b.Failed != nil && *b.Failed:
		v.add(RuleBattery, SeverityWarning, n.Label, "battery",
			"replace the cache battery; until then write-back drives fall back to write-through or risk data loss",
			"cache battery has failed (%s)", strOr(b.State))
	case b.Present != nil && !*b.Present:
		// No battery: nothing to fail.
	case b.Failed == nil:
		v.add(RuleBattery, SeverityWarning, n.Label, "battery",
			"check the battery state by hand", "cache battery state unknown (printed: %s)", strOr(b.State))
	}
}
