package raidctl

import "slices"

// toolSpec is one row of the tool table: everything raidctl knows about a
// tool in one place. Adding a vendor is a row here, its parser, and (for
// saved captures) its signature in Detect.
type toolSpec struct {
	tool Tool
	// parse reads the tool's output; nil for sources that are not bytes
	// (sysfs).
	parse func([]byte) (*System, error)
	// binaries are the executables tried in order; empty when Exec cannot
	// run the tool live.
	binaries []string
	// config is the name hwagent's configuration uses for the tool ("" when
	// it cannot be configured: a text variant read only from files).
	config string
}

// toolTable is the tool table, in the order Tools lists them.
func toolTable() []toolSpec {
	return []toolSpec{
		{tool: ToolStorcli, parse: ParseStorcliJSON, binaries: []string{"storcli64", "storcli", "perccli64", "perccli"}, config: "storcli"},
		{tool: ToolStorcliText, parse: ParseStorcliText},
		{tool: ToolMegaCLI, parse: ParseMegaCLI, binaries: []string{"MegaCli64", "MegaCli", "megacli"}, config: "megacli"},
		{tool: ToolArcconf, parse: ParseArcconf, binaries: []string{"arcconf"}, config: "arcconf"},
		{tool: ToolIpssend, parse: ParseIpssend, binaries: []string{"ipssend"}, config: "ipssend"},
		{tool: ToolMdadm, parse: ParseMdadmDetail, binaries: []string{"mdadm"}, config: "md"},
		{tool: ToolMdstat, parse: ParseMdstat},
		{tool: ToolSasIRCU, parse: ParseSasIRCU, binaries: []string{"sas2ircu", "sas3ircu"}, config: "sas2ircu"},
		{tool: ToolSsacli, parse: ParseSsacli, binaries: []string{"ssacli", "hpssacli"}, config: "ssacli"},
		{tool: ToolSysfsMD},
	}
}

func spec(tool Tool) (toolSpec, bool) {
	for _, s := range toolTable() {
		if s.tool == tool {
			return s, true
		}
	}
	return toolSpec{}, false
}

// parsers lists the tools with a parser for saved output.
func parsers() []Tool {
	var out []Tool
	for _, s := range toolTable() {
		if s.parse != nil {
			out = append(out, s.tool)
		}
	}
	return out
}

// liveTools lists the tools Exec can run.
func liveTools() []Tool {
	var out []Tool
	for _, s := range toolTable() {
		if len(s.binaries) > 0 {
			out = append(out, s.tool)
		}
	}
	return out
}

// ConfigToolNames lists the RAID tool names hwagent's configuration
// accepts, in table order.
func ConfigToolNames() []string {
	var out []string
	for _, s := range toolTable() {
		if s.config != "" {
			out = append(out, s.config)
		}
	}
	return out
}

// ConfigTool returns the tool a configuration name stands for ("md" is
// ToolMdadm); ok is false for a name that is not one of ConfigToolNames.
func ConfigTool(name string) (tool Tool, ok bool) {
	for _, s := range toolTable() {
		if s.config != "" && s.config == name {
			return s.tool, true
		}
	}
	return "", false
}

// IsConfigToolName reports whether name is one of ConfigToolNames.
func IsConfigToolName(name string) bool { return slices.Contains(ConfigToolNames(), name) }
