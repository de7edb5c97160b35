package raidctl

import "testing"

// TestSysfsMDLive reads this machine's /sys: with or without md arrays the
// read must succeed and give a well-formed model.
func TestSysfsMDLive(t *testing.T) {
	sys, err := SysfsMD{}.Read(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(sys.Controllers) != 1 || sys.Controllers[0].Vendor != "Linux md" {
		t.Fatalf("live sysfs model: %+v", sys)
	}
	for _, ld := range sys.Controllers[0].LogicalDrives {
		if ld.Condition == "" {
			t.Errorf("%s: empty condition", ld.ID)
		}
	}
}
