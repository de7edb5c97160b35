package raidctl

import "testing"

// BenchmarkParse measures each parser on its largest capture.
func BenchmarkParse(b *testing.B) {
	for _, tc := range []struct {
		tool Tool
		file string
	}{
		{ToolArcconf, "arcconf/check_raid__arcconf__arcconf31000__getconfig.txt"},
		{ToolStorcli, "storcli/puppet-storcli__storcli_call_show.json"},
		{ToolStorcliText, "storcli/storcli-check__single-controller-hba.txt"},
		{ToolMegaCLI, "megacli/glpi-agent__megacli__set2_PDlist.txt"},
		{ToolIpssend, "ipssend/check_raid__ips__test1.ipssend-getconfig-1-LD.txt"},
		{ToolMdadm, "mdadm/check_raid__mdadm__white-mdadm-127.txt"},
		{ToolMdstat, "mdadm/check_raid__mdstat__mdstat-centos6.2.txt"},
	} {
		data := readFixture(b, tc.file)
		b.Run(string(tc.tool), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(tc.tool, data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkValidatePair measures a full pair validation.
func BenchmarkValidatePair(b *testing.B) {
	a, err := Parse(ToolIpssend, readFixture(b, "ipssend/synthetic__getconfig-1-AL-cluster-A.txt"))
	if err != nil {
		b.Fatal(err)
	}
	bb, err := Parse(ToolIpssend, readFixture(b, "ipssend/synthetic__getconfig-1-AL-cluster-B.txt"))
	if err != nil {
		b.Fatal(err)
	}
	na, _ := NodeFromSystem("A", a, "")
	nb, _ := NodeFromSystem("B", bb, "")
	b.ReportAllocs()
	for b.Loop() {
		ValidatePair(na, nb)
	}
}
