package raidctl

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// checkParse is the property every parser must keep on any input: either a
// complete model, or a *ParseError naming the tool, a line and what was
// expected, and never both.
func checkParse(t *testing.T, tool Tool, data []byte) {
	t.Helper()
	sys, err := Parse(tool, data)
	if err != nil {
		if sys != nil {
			t.Fatalf("%s: partial model returned with error %v", tool, err)
		}
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Fatalf("%s: error %v (%T) is not a *ParseError", tool, err, err)
		}
		msg := err.Error()
		if pe.Tool != tool || pe.Line < 1 || !strings.HasPrefix(msg, string(tool)+" output, line ") {
			t.Fatalf("%s: error %q does not name the tool and a line", tool, msg)
		}
		if pe.Expected == "" && !errors.Is(err, ErrToolFailed) {
			t.Fatalf("%s: error %q does not say what was expected", tool, msg)
		}
		return
	}
	if sys.Tool != tool || len(sys.Controllers) == 0 {
		t.Fatalf("%s: success without controllers: %+v", tool, sys)
	}
	for _, c := range sys.Controllers {
		for _, ld := range c.LogicalDrives {
			if ld.Condition == "" {
				t.Fatalf("%s: logical drive %s with empty condition", tool, ld.ID)
			}
		}
		for _, pd := range c.PhysicalDrives {
			if pd.Condition == "" {
				t.Fatalf("%s: physical drive with empty condition", tool)
			}
		}
	}
	// The model survives a JSON round trip unchanged.
	b, err := json.Marshal(sys)
	if err != nil {
		t.Fatal(err)
	}
	var back System
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(*sys, back); diff != "" {
		t.Fatalf("%s: JSON round trip changed the model:\n%s", tool, diff)
	}
}

func fuzzParser(f *testing.F, tool Tool) {
	for _, tc := range goldenCases {
		if tc.tool == tool {
			f.Add(readFixture(f, tc.file))
		}
	}
	f.Add([]byte{})
	f.Add([]byte("\n\r\n"))
	f.Add([]byte("Command completed successfully.\n"))
	f.Fuzz(func(t *testing.T, data []byte) { checkParse(t, tool, data) })
}

func FuzzParseStorcliJSON(f *testing.F) { fuzzParser(f, ToolStorcli) }
func FuzzParseStorcliText(f *testing.F) { fuzzParser(f, ToolStorcliText) }
func FuzzParseMegaCLI(f *testing.F)     { fuzzParser(f, ToolMegaCLI) }
func FuzzParseArcconf(f *testing.F)     { fuzzParser(f, ToolArcconf) }
func FuzzParseIpssend(f *testing.F)     { fuzzParser(f, ToolIpssend) }
func FuzzParseMdadmDetail(f *testing.F) { fuzzParser(f, ToolMdadm) }
func FuzzParseMdstat(f *testing.F)      { fuzzParser(f, ToolMdstat) }
func FuzzParseSasIRCU(f *testing.F)     { fuzzParser(f, ToolSasIRCU) }
func FuzzParseSsacli(f *testing.F)      { fuzzParser(f, ToolSsacli) }

func TestParseErrorMessage(t *testing.T) {
	tests := []struct {
		tool Tool
		in   string
		want []string
	}{
		{ToolIpssend, "hello\n", []string{"ipssend output, line 1", "not this tool's output", `expected "Found N IBM ServeRAID controller(s)."`, `got "hello"`}},
		{ToolArcconf, "Controllers found: 1\nController information\n", []string{"arcconf output, line 2", "output truncated", `"Command completed successfully."`}},
		{ToolStorcli, "{\"Controllers\":[{\n", []string{"storcli output, line 2", "output truncated"}},
		{ToolStorcli, "Controller = 0\n", []string{"storcli output, line 1", "not this tool's output", "JSON output"}},
		{ToolMegaCLI, "Adapter #0\n", []string{"megacli output, line 1", "output truncated", `"Exit Code: 0x.."`}},
		{ToolMdstat, "Personalities : [raid1]\nmd0 : active raid1 sda1[0]\n", []string{"mdstat output, line 2", "output truncated", "unused devices"}},
		{ToolMdstat, "Personalities : [raid1]\nmd0 : active raid1 sda1[0]\nunused devices: <none>\n", []string{"mdstat output, line 3", "output truncated", "blocks"}},
		{ToolMdadm, "/dev/md0:\n  Raid Level : raid1\n", []string{"mdadm output, line 2", "output truncated", "device table"}},
		{ToolSsacli, "hello\n", []string{"ssacli output, line 1", "not this tool's output", "Smart Array P410i in Slot 0"}},
		{ToolStorcliText, "Controller = 0\nStatus = Success\n\nVD LIST :\n=======\n\n-----\nDG/VD TYPE State Access Consist Cache sCC Size Name\n-----\n0/0 RAID1 Optl RW Yes RWBD - 1 GB\n",
			[]string{"storcli-text output, line 10", "output truncated", "closing rule"}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s/%q", tc.tool, tc.in), func(t *testing.T) {
			_, err := Parse(tc.tool, []byte(tc.in))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}
