package raidctl

import (
	"slices"
	"testing"
)

// The tool table drives Parse, Binaries, NewExec and the configuration's
// tool names: each row must be usable through all of them.
func TestToolTable(t *testing.T) {
	for _, s := range toolTable() {
		if s.parse == nil && s.tool != ToolSysfsMD {
			t.Errorf("%s: no parser", s.tool)
		}
		if s.parse != nil {
			if _, err := Parse(s.tool, nil); err == nil {
				t.Errorf("%s: empty input accepted", s.tool)
			}
		}
		_, err := NewExec(ExecConfig{Tool: s.tool})
		if live := len(s.binaries) > 0; live != (err == nil) {
			t.Errorf("%s: NewExec error %v, live %v", s.tool, err, live)
		}
		if s.config != "" && len(s.binaries) == 0 {
			t.Errorf("%s: configurable as %q but cannot run live", s.tool, s.config)
		}
	}
	want := []string{"storcli", "megacli", "arcconf", "ipssend", "md", "sas2ircu", "ssacli"}
	if got := ConfigToolNames(); !slices.Equal(got, want) {
		t.Errorf("ConfigToolNames() = %q, want %q", got, want)
	}
	for name, want := range map[string]Tool{"md": ToolMdadm, "ssacli": ToolSsacli, "storcli": ToolStorcli} {
		if got, ok := ConfigTool(name); !ok || got != want {
			t.Errorf("ConfigTool(%q) = %q, %v; want %q", name, got, ok, want)
		}
	}
	if _, ok := ConfigTool("storcli-text"); ok {
		t.Error("a file-only tool has a configuration name")
	}
	if IsConfigToolName("hpacucli") || !IsConfigToolName("sas2ircu") {
		t.Error("IsConfigToolName wrong")
	}
	if !slices.Equal(Binaries(ToolStorcliText), Binaries(ToolStorcli)) {
		t.Error("storcli text and JSON come from the same binaries")
	}
}
