package raidctl

import (
	"strings"
	"testing"
)

// The Smart Array captures read as the tool printed them: drives in no
// array stay outside every array, a 0% write cache ratio is no write
// cache, an absent battery section leaves the battery unknown, mirror
// groups give the members, and a cut inside the last drive section warns.
func TestSsacliCaptures(t *testing.T) {
	sys := mustParse(t, ToolSsacli, readFixture(t, "ssacli/netdata__hpssa__ssacli-P212_P410i.txt"))
	if len(sys.Controllers) != 2 || len(sys.Warnings) != 0 {
		t.Fatalf("%d controllers, warnings %q", len(sys.Controllers), sys.Warnings)
	}
	p212, p410i := sys.Controllers[0], sys.Controllers[1]
	if p212.ID != "5" || *p212.Model != "Smart Array P212" || p212.Battery != nil {
		t.Errorf("P212: id %s model %s battery %+v", p212.ID, *p212.Model, p212.Battery)
	}
	unassigned := 0
	for _, pd := range p212.PhysicalDrives {
		if pd.Array == nil {
			unassigned++
		}
	}
	if len(p212.PhysicalDrives) != 12 || unassigned != 6 {
		t.Errorf("P212: %d drives, %d unassigned; want 12, 6", len(p212.PhysicalDrives), unassigned)
	}
	if ld := p212.LogicalDrives[0]; *ld.RAIDLevel != "5" || *ld.WriteCache != WriteNone {
		t.Errorf("P212 LD 1: level %s cache %s", *ld.RAIDLevel, *ld.WriteCache)
	}
	if ld := p410i.LogicalDrives[1]; *ld.RAIDLevel != "10" || strings.Join(ld.Members, " ") != "1I:1:1 1I:1:2 1I:1:3 1I:1:4" {
		t.Errorf("P410i LD 2: level %s members %q", *ld.RAIDLevel, ld.Members)
	}
	if *p410i.PCIAddress != "0000:04:00.0" {
		t.Errorf("P410i PCI %s", *p410i.PCIAddress)
	}

	data := readFixture(t, "ssacli/netdata__hpssa__ssacli-P400ar.txt")
	sys = mustParse(t, ToolSsacli, data)
	c := sys.Controllers[0]
	if b := c.Battery; b == nil || !*b.Present || *b.Failed || *c.LogicalDrives[0].WriteCache != WriteBack {
		t.Errorf("P440ar battery %+v, LD 1 cache %v", b, c.LogicalDrives[0].WriteCache)
	}
	// Cut after the last drive's Status line: its Size, Serial and Model
	// are lost, and the model says so.
	cut := strings.LastIndex(string(data), "\n         Status: OK\n") + len("\n         Status: OK\n")
	sys = mustParse(t, ToolSsacli, data[:cut])
	if !warnsTruncated(sys) {
		t.Errorf("cut inside the last drive section read without a truncation warning: %q", sys.Warnings)
	}
}

// A Smart HBA H240ar in RAID mode prints its header again before each
// drive of its Physical Drives list and of its mirror groups, at the
// margin or indented. Each repeat is the same controller, not a new empty
// one, and the drive after it stays in its list: one controller, 12
// drives, array A and logical drive 1 (RAID 1+0) with all 12 members.
func TestSsacliRepeatedHeader(t *testing.T) {
	sys := mustParse(t, ToolSsacli, readFixture(t, "ssacli/moxspec__hpacucli__show_config_detail.hba.txt"))
	if len(sys.Controllers) != 1 || len(sys.Warnings) != 0 {
		t.Fatalf("%d controllers, warnings %q; want 1 controller, no warning", len(sys.Controllers), sys.Warnings)
	}
	c := sys.Controllers[0]
	if *c.Model != "Smart HBA H240ar" || c.ID != "0" || *c.Serial != "PDNLN0BRH8O054" {
		t.Errorf("controller %s %s %s", *c.Model, c.ID, *c.Serial)
	}
	if len(c.PhysicalDrives) != 12 || len(c.Arrays) != 1 || len(c.Arrays[0].Members) != 12 {
		t.Fatalf("%d drives, %d arrays %+v", len(c.PhysicalDrives), len(c.Arrays), c.Arrays)
	}
	if len(c.LogicalDrives) != 1 {
		t.Fatalf("%d logical drives", len(c.LogicalDrives))
	}
	ld := c.LogicalDrives[0]
	if *ld.RAIDLevel != "10" || len(ld.Members) != 12 || ld.Members[0] != "1I:1:1" || ld.Members[11] != "1I:1:12" || ld.Condition != ConditionOK {
		t.Errorf("LD 1: level %s members %q condition %s", *ld.RAIDLevel, ld.Members, ld.Condition)
	}
}
