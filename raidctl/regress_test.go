package raidctl

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// A controller in HBA mode (mpt3sas, IT firmware) prints no PD LIST: its
// drives are the "Drive /cX/eY/sZ" sections under Physical Device
// Information. They are read, counted against the Enclosure Information
// table, and a capture cut before the last drive's Inquiry Data warns
// (issue 14 item 3).
func TestStorcliTextHBA(t *testing.T) {
	data := readFixture(t, "storcli/storcli-check__single-controller-hba.txt")
	sys := mustParse(t, ToolStorcliText, data)
	c := sys.Controllers[0]
	if len(sys.Warnings) != 0 {
		t.Errorf("warnings on a whole capture: %q", sys.Warnings)
	}
	if len(c.PhysicalDrives) != 16 {
		t.Fatalf("%d drives, want 16", len(c.PhysicalDrives))
	}
	for _, pd := range c.PhysicalDrives {
		if pd.Serial == nil || pd.Model == nil || pd.SizeBytes == nil || pd.Condition != ConditionOK {
			t.Errorf("drive %v:%v incomplete: %+v", *pd.Enclosure, *pd.Slot, pd)
		}
	}
	// Cut inside the second drive section: one drive of 16 listed.
	cut := strings.Index(string(data), "Drive /c0/e0/s8 Device attributes")
	sys = mustParse(t, ToolStorcliText, data[:cut])
	if !warnsTruncated(sys) || !strings.Contains(strings.Join(sys.Warnings, "\n"), "counts 16 drives") {
		t.Errorf("cut capture: warnings %q", sys.Warnings)
	}
}

// An arcconf capture whose logical-device list disagrees with the
// controller's "Logical devices/Failed/Degraded" count is flagged (issue 14
// item 8). The capture lists 3 of 3; with the block of logical device 2
// removed it lists 2.
func TestArcconfLDCount(t *testing.T) {
	data := string(readFixture(t, "arcconf/check_raid__arcconf__issue31__getconfig.txt"))
	if sys := mustParse(t, ToolArcconf, []byte(data)); len(sys.Warnings) != 0 {
		t.Fatalf("warnings on the whole capture: %q", sys.Warnings)
	}
	start := strings.Index(data, "Logical device number 2")
	end := start + strings.Index(data[start:], "--------")
	sys := mustParse(t, ToolArcconf, []byte(data[:start]+data[end:]))
	if !strings.Contains(strings.Join(sys.Warnings, "\n"), "counts 3 logical devices but the output lists 2") {
		t.Errorf("warnings %q", sys.Warnings)
	}
}

// An mdadm capture cut inside its last device row is rejected, never read
// with a mangled entry (issue 14 item 8): cut inside the device name, and
// cut before it.
func TestMdadmCutLastRow(t *testing.T) {
	data := string(readFixture(t, "mdadm/check_raid__mdadm__white-mdadm-125.txt"))
	for _, cut := range []string{"/dev/sd", "active sync"} {
		n := strings.LastIndex(data, cut) + len(cut)
		_, err := Parse(ToolMdadm, []byte(data[:n]))
		if !errors.Is(err, ErrTruncated) {
			t.Errorf("cut after %q: error %v, want %v", cut, err, ErrTruncated)
		}
	}
}

// arcconf "Impacted" is a build or verify running on the logical device
// (Adaptec Storage Management Software User's Guide, "Status Reporting"),
// not a failed member: it is read as rebuilding, keeps the progress its
// status prints, and the fix hint says to wait for the build/verify
// (issue 14 item 8).
func TestArcconfImpacted(t *testing.T) {
	sys := mustParse(t, ToolArcconf, readFixture(t, "arcconf/pyarcconf__unknown_versions___getconfig_1_AL.txt"))
	c := sys.Controllers[0]
	if ld := c.LogicalDrives[0]; ld.Condition != ConditionRebuilding || *ld.State != "Impacted" {
		t.Fatalf("LD %s: %s (%s)", ld.ID, ld.Condition, *ld.State)
	}
	r := ValidatePair(Node{Tool: ToolArcconf, Controller: &c}, Node{Tool: ToolArcconf, Controller: &c})
	var hint string
	for _, f := range r.Findings {
		if f.Rule == RuleDriveHealth {
			hint = f.Fix + " | " + f.Message
		}
	}
	if !strings.Contains(hint, "build/verify") || strings.Contains(hint, "replace") {
		t.Errorf("drive-health finding %q", hint)
	}
	// Status values with a task percentage, as reported from an Adaptec
	// ASR8405 (fw 7.11-0) in YuriySm/raid_arcconf_zabbix_lld pull request 5.
	for status, want := range map[string]float64{
		"Degraded, Rebuilding ( Rebuild : 38 % )":  38,
		"Suboptimal, Rebuilding ( Rebuild : 1 % )": 1,
	} {
		if p := arcProgress(status); p == nil || *p != want || condition(status) != ConditionRebuilding {
			t.Errorf("%q: progress %v, condition %s", status, p, condition(status))
		}
	}
}

// Dell perccli prints storcli's JSON: a real PERC H755 capture of
// `perccli64 /call show all j` and `/call/eall/sall show all j` reads
// through the storcli parser, the binaries perccli64/perccli are tried
// after storcli's, and the vendor is Dell.
func TestPerccli(t *testing.T) {
	data := readFixture(t, "storcli/perccli-status__output-ok-controllers.json")
	if tool, ok := Detect(data); !ok || tool != ToolStorcli {
		t.Fatalf("Detect = %q, %v", tool, ok)
	}
	c := mustParse(t, ToolStorcli, data).Controllers[0]
	if *c.Model != "PERC H755 Front" || c.Vendor != "Dell" || len(c.LogicalDrives) != 1 || len(c.PhysicalDrives) != 8 ||
		*c.LogicalDrives[0].RAIDLevel != "5" || c.LogicalDrives[0].Shared != nil {
		t.Errorf("controller %s (%s): %d LDs, %d drives", *c.Model, c.Vendor, len(c.LogicalDrives), len(c.PhysicalDrives))
	}
	disks := mustParse(t, ToolStorcli, readFixture(t, "storcli/perccli-status__output-ok-disks.json")).Controllers[0]
	for _, pd := range disks.PhysicalDrives {
		if pd.Serial == nil {
			t.Errorf("drive %d:%d without its serial", *pd.Enclosure, *pd.Slot)
		}
	}
	if b := strings.Join(Binaries(ToolStorcli), " "); !strings.Contains(b, "perccli64 perccli") {
		t.Errorf("binaries %s", b)
	}
}

// ipssend GETCONFIG PD prints "Size (in MB)/(in sectors): 34715/71096368"
// (example output in glpi-agent's ServeRaid.pm): the size comes from the
// exact sector count when it agrees with the MB figure (issue 14 item 8).
func TestIpssendExactSize(t *testing.T) {
	if b := sasDriveSize("34715/71096368"); b == nil || *b != 71096368*512 {
		t.Errorf("size %v, want %d", b, 71096368*512)
	}
}

// sas3ircu DISPLAY with an IR volume: the volume is read with its level,
// exact size and member, and a volume that is inactive with its only
// member missing is failed, never ok (the volume branch's capture).
func TestSasIRCUVolume(t *testing.T) {
	sys := mustParse(t, ToolSasIRCU, readFixture(t, "sas2ircu/moxspec__sas3ircu__display.SAS3008.txt"))
	c := sys.Controllers[0]
	if len(c.LogicalDrives) != 1 || len(c.PhysicalDrives) != 1 {
		t.Fatalf("%d volumes, %d drives", len(c.LogicalDrives), len(c.PhysicalDrives))
	}
	ld, pd := c.LogicalDrives[0], c.PhysicalDrives[0]
	if ld.ID != "1" || *ld.RAIDLevel != "0" || *ld.SizeBytes != 1522064<<20 || strings.Join(ld.Members, " ") != "0:0" {
		t.Errorf("volume %s level %s size %d members %q", ld.ID, *ld.RAIDLevel, *ld.SizeBytes, ld.Members)
	}
	if ld.Condition != ConditionFailed || pd.Condition != ConditionFailed || *pd.State != "Missing (MIS)" {
		t.Errorf("volume %q is %s, drive %q is %s; want failed", *ld.State, ld.Condition, *pd.State, pd.Condition)
	}
}

// A real GETCONFIG AL capture with a build/verify in progress (check_raid
// issue 190, Adaptec ASR8885Q): "Impacted ( Build/Verify with fix : 90 % )"
// is rebuilding at 90 %, never degraded, and the fix hint says to wait for
// the build/verify, not to replace a drive.
func TestArcconfImpactedPercent(t *testing.T) {
	sys := mustParse(t, ToolArcconf, readFixture(t, "arcconf/check_raid__arcconf__issue190__getconfig.txt"))
	c := sys.Controllers[0]
	if len(c.LogicalDrives) != 2 || len(sys.Warnings) != 0 {
		t.Fatalf("%d logical drives, warnings %q", len(c.LogicalDrives), sys.Warnings)
	}
	ld := c.LogicalDrives[0]
	if ld.Condition != ConditionRebuilding || ld.Progress == nil || *ld.Progress != 90 || *ld.RAIDLevel != "6" {
		t.Fatalf("LD 0: %s, progress %v, level %s (%s)", ld.Condition, ld.Progress, *ld.RAIDLevel, *ld.State)
	}
	if c.LogicalDrives[1].Condition != ConditionOK {
		t.Errorf("LD 1: %s", c.LogicalDrives[1].Condition)
	}
	r := ValidatePair(Node{Tool: ToolArcconf, Controller: &c}, Node{Tool: ToolArcconf, Controller: &c})
	var hint string
	for _, f := range r.Findings {
		if f.Rule == RuleDriveHealth {
			hint += f.Fix + " | " + f.Message + "\n"
		}
	}
	if !strings.Contains(hint, "build/verify") || !strings.Contains(hint, "90") || strings.Contains(hint, "replace") {
		t.Errorf("drive-health findings %q", hint)
	}
}

// The JSON form of a controller in HBA mode: netdata's capture of
// `storcli /cALL show all J nolog` on an HBA 9500-8i (SAS3808, mpt3sas,
// IT firmware 28.00.00.00) prints no PD LIST and no "Physical Drives"
// count; its 29 drives are "Drive /c0/eY/sZ" sections inside "Physical
// Device Information", and "Enclosure Information" counts them (23 in
// enclosure 23, 6 in enclosure 30). All 29 are read, in slot order, JBOD
// and ok, with model, size and serial, and without a warning. With the
// drive sections taken out the drive list is empty, and that is said
// (issue 14 item 3).
func TestStorcliJSONHBA(t *testing.T) {
	data := readFixture(t, "storcli/netdata__storcli__mpt3sas-controllers-info.json")
	if tool, ok := Detect(data); !ok || tool != ToolStorcli {
		t.Fatalf("Detect = %q, %v", tool, ok)
	}
	sys := mustParse(t, ToolStorcli, data)
	if len(sys.Warnings) != 0 {
		t.Errorf("warnings on a whole capture: %q", sys.Warnings)
	}
	c := sys.Controllers[0]
	if *c.Model != "HBA 9500-8i" || *c.Status != "OK" || len(c.LogicalDrives) != 0 || c.Battery != nil {
		t.Errorf("controller %s, status %s, %d logical drives, battery %+v", *c.Model, *c.Status, len(c.LogicalDrives), c.Battery)
	}
	if len(c.PhysicalDrives) != 29 {
		t.Fatalf("%d drives, want 29", len(c.PhysicalDrives))
	}
	perEnclosure := map[int]int{}
	last := -1
	for i, pd := range c.PhysicalDrives {
		if pd.Enclosure == nil || pd.Slot == nil || *pd.State != "JBOD" || pd.Condition != ConditionOK ||
			pd.Model == nil || pd.SizeBytes == nil || pd.Serial == nil || pd.Array != nil {
			t.Errorf("drive %d incomplete: %+v", i, pd)
			continue
		}
		perEnclosure[*pd.Enclosure]++
		if at := *pd.Enclosure*1000 + *pd.Slot; at <= last {
			t.Errorf("drive %d:%d out of slot order", *pd.Enclosure, *pd.Slot)
		} else {
			last = at
		}
	}
	if perEnclosure[23] != 23 || perEnclosure[30] != 6 {
		t.Errorf("drives per enclosure %v, want 23 in 23 and 6 in 30", perEnclosure)
	}
	if pd := c.PhysicalDrives[2]; *pd.Slot != 2 || *pd.Model != "ST18000NM000J-2TV103" || *pd.SizeBytes/1e12 != 17 {
		t.Errorf("enclosure 23 slot 2: %+v", pd)
	}

	// The same capture without its drive sections: no silent empty list.
	var doc map[string][]map[string]map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	delete(doc["Controllers"][0]["Response Data"], "Physical Device Information")
	stripped, _ := json.Marshal(doc)
	sys = mustParse(t, ToolStorcli, stripped)
	if n := len(sys.Controllers[0].PhysicalDrives); n != 0 || !strings.Contains(strings.Join(sys.Warnings, "\n"), `"Enclosure Information" counts 29 drives`) {
		t.Errorf("without drive sections: %d drives, warnings %q", n, sys.Warnings)
	}
}

// A MegaRAID's TOPOLOGY names each drive group's members: netdata's
// `storcli /cALL show all J nolog` capture of an IBM ServeRAID M5015
// (RAID 6 over six drives, iBBU08) gives drive group 0 its six drives in
// the order printed, and the VD and PD lists match the controller's
// "Virtual Drives" and "Physical Drives" counts. Its High Availability
// section says no cluster; the drive's Shared stays unknown.
func TestStorcliJSONTopology(t *testing.T) {
	sys := mustParse(t, ToolStorcli, readFixture(t, "storcli/netdata__storcli__megaraid-controllers-info.json"))
	if len(sys.Warnings) != 0 {
		t.Errorf("warnings: %q", sys.Warnings)
	}
	c := sys.Controllers[0]
	if *c.Model != "ServeRAID M5015 SAS/SATA Controller" || len(c.Arrays) != 1 || len(c.LogicalDrives) != 1 || len(c.PhysicalDrives) != 6 {
		t.Fatalf("%s: %d arrays, %d logical drives, %d drives", *c.Model, len(c.Arrays), len(c.LogicalDrives), len(c.PhysicalDrives))
	}
	if got, want := strings.Join(c.Arrays[0].Members, " "), "252:3 252:5 252:4 252:7 252:0 252:1"; got != want {
		t.Errorf("members %q, want %q", got, want)
	}
	ld := c.LogicalDrives[0]
	if *ld.RAIDLevel != "6" || ld.Condition != ConditionOK || *ld.WriteCache != WriteBack || ld.Shared != nil {
		t.Errorf("VD %+v", ld)
	}
	if b := c.Battery; b == nil || b.Failed == nil || *b.Failed || *b.State != "Optimal" {
		t.Errorf("battery %+v", b)
	}
	if c.Cluster.Active == nil || *c.Cluster.Active || *c.Cluster.Topology != "None" {
		t.Errorf("cluster %+v", c.Cluster)
	}

	// Without its VD LIST and PD LIST the controller's own counts say what
	// is missing.
	var doc map[string][]map[string]map[string]any
	if err := json.Unmarshal(readFixture(t, "storcli/netdata__storcli__megaraid-controllers-info.json"), &doc); err != nil {
		t.Fatal(err)
	}
	delete(doc["Controllers"][0]["Response Data"], "VD LIST")
	delete(doc["Controllers"][0]["Response Data"], "PD LIST")
	stripped, _ := json.Marshal(doc)
	w := strings.Join(mustParse(t, ToolStorcli, stripped).Warnings, "\n")
	for _, want := range []string{`"Virtual Drives" counts 1, the output lists 0`, `"Physical Drives" counts 6, the output lists 0`, `"Enclosure LIST" counts 6 drives`} {
		if !strings.Contains(w, want) {
			t.Errorf("warnings %q lack %q", w, want)
		}
	}
}

// A MegaRAID in JBOD personality beside RAID: cloudpods' capture of
// `storcli /c0/eall/sall show J` lists its drives under "Drive
// Information" (no PD LIST): 9 online in drive groups 0 and 1, one JBOD
// and one Unconfigured Good drive whose DG column reads F (foreign). All
// 11 are read; the JBOD drive is in no drive group, and the foreign one is
// in none either and is named in a warning (it was rejected as "not this
// tool's output" before).
func TestStorcliJSONDriveInformation(t *testing.T) {
	sys := mustParse(t, ToolStorcli, readFixture(t, "storcli/cloudpods__storcli__c0_eall_sall_show_J.json"))
	c := sys.Controllers[0]
	if len(c.PhysicalDrives) != 11 {
		t.Fatalf("%d drives, want 11", len(c.PhysicalDrives))
	}
	states := map[string]int{}
	for _, pd := range c.PhysicalDrives {
		states[*pd.State]++
		if pd.Condition != ConditionOK {
			t.Errorf("drive %d:%d %s: %s", *pd.Enclosure, *pd.Slot, *pd.State, pd.Condition)
		}
		if (*pd.State == "Onln") != (pd.Array != nil) {
			t.Errorf("drive %d:%d %s in array %v", *pd.Enclosure, *pd.Slot, *pd.State, pd.Array)
		}
	}
	if states["Onln"] != 9 || states["JBOD"] != 1 || states["UGood"] != 1 {
		t.Errorf("states %v", states)
	}
	if len(sys.Warnings) != 1 || !strings.Contains(sys.Warnings[0], "65:6 carry a foreign configuration") {
		t.Errorf("warnings %q", sys.Warnings)
	}
	// `/c0/vall show all J` from the same project: seven VDs in order,
	// write-back on the two RAID 1, write-through on the five RAID 0.
	c = mustParse(t, ToolStorcli, readFixture(t, "storcli/cloudpods__storcli__c0_vall_show_all_J.json")).Controllers[0]
	var got []string
	for _, ld := range c.LogicalDrives {
		got = append(got, ld.ID+":"+*ld.RAIDLevel+":"+string(*ld.WriteCache))
	}
	if want := "0:1:write-back 1:1:write-back 2:0:write-through 3:0:write-through 4:0:write-through 5:0:write-through 6:0:write-through"; strings.Join(got, " ") != want {
		t.Errorf("VDs %q, want %q", got, want)
	}
	if len(c.PhysicalDrives) != 9 {
		t.Errorf("%d drives, want 9", len(c.PhysicalDrives))
	}
}

// ClusterLabs resource-agents heartbeat/ServeRAID names the line its
// status looks for in `ipssend getconfig <ctrl> ld` as
// "Part of merge group            : 2   " (trailing blanks included), a
// shared group. In the real check_raid capture, with its first merge group
// line written that way, the drive is read as shared in merge group 2.
func TestIpssendSharedMergeGroupLine(t *testing.T) {
	data := string(readFixture(t, "ipssend/check_raid__ips__test1.ipssend-getconfig-1-LD.txt"))
	i := strings.Index(data, "Part of merge group")
	end := i + strings.IndexAny(data[i:], "\r\n")
	data = data[:i] + "Part of merge group            : 2   " + data[end:]
	ld := mustParse(t, ToolIpssend, []byte(data)).Controllers[0].LogicalDrives[0]
	if ld.MergeGroup == nil || *ld.MergeGroup != 2 || ld.Shared == nil || !*ld.Shared {
		t.Errorf("merge group %v, shared %v", ld.MergeGroup, ld.Shared)
	}
}

// storcli's JSON keys are ordered with their numbers read as numbers once
// decoded into a map: s2 before s10, e9 before e23, v2 before v10.
func TestNaturalCompare(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"Drive /c0/e23/s2", "Drive /c0/e23/s10", -1},
		{"Drive /c0/e9/s5", "Drive /c0/e23/s0", -1},
		{"/c0/v10", "/c0/v2", 1},
		{"PDs for VD 1", "PDs for VD 1", 0},
		{"s007", "s7", 0},
		{"PD LIST", "PDs for VD 0", -1},
		{"Drive /c0/e23/s2", "Drive /c0/e23/s2 - Detailed Information", -1},
	} {
		if got := naturalCompare(tc.a, tc.b); got != tc.want {
			t.Errorf("naturalCompare(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
