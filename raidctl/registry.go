package raidctl

import (
	"bytes"
	"cmp"
	"context"
	"slices"
)

// toolSpec is one row of the tool table: everything raidctl knows about a
// tool outside its parser. Adding a vendor is a row here and its parser
// file (which declares the Tool constant and the signature regexp); Parse,
// Detect, Exec, Binaries, the configuration names and the raid command's
// help all read the table, and TestToolTableCoverage asks for a fixture, a
// golden file, a truncation case and a fuzz target for every parser.
type toolSpec struct {
	tool Tool
	// help is the raid command's line for the tool: what it reads and, for
	// a live tool, the command run. A "\n" continues on an indented line.
	help string
	// parse reads the tool's output; nil for sources that are not bytes
	// (sysfs).
	parse func([]byte) (*System, error)
	// detect reports whether a saved capture carries the tool's
	// signature; nil when Detect never names the tool.
	detect func([]byte) bool
	// detectRank orders the signatures (lowest tried first) where another
	// tool's output can hold this one's: MegaCLI's "Virtual Drive: N" and
	// mdadm's "/dev/x:" lines are tried last.
	detectRank int
	// binaries are the executables tried in order; empty when Exec cannot
	// run the tool live.
	binaries []string
	// commands are the argument lists Exec runs, in order; with more than
	// one, the outputs are joined, each followed by a newline. "<ctrl>"
	// stands for ExecConfig.Controller.
	commands [][]string
	// controller is the default ExecConfig.Controller ("" means "1").
	controller string
	// idFromController sets every controller's ID to the number the
	// command named (arcconf prints none).
	idFromController bool
	// accept says whether output of a run that exited non-zero is usable
	// (MegaCLI and old ipssend exit non-zero on success); nil: never.
	accept func(out []byte) bool
	// read replaces commands when a live read is not one run per command
	// (mdadm reads its list of arrays from /proc first).
	read func(e *Exec, ctx context.Context, path string) (*System, error)
	// config is the name hwagent's configuration uses for the tool ("" when
	// it cannot be configured: a text variant read only from files).
	config string
}

// toolTable is the tool table, in the order Tools lists them.
func toolTable() []toolSpec {
	completed := func(out []byte) bool {
		return bytes.HasSuffix(bytes.TrimSpace(out), []byte("Command completed successfully."))
	}
	lastMatches := func(re interface{ Match([]byte) bool }) func([]byte) bool {
		return func(out []byte) bool { return re.Match(bytes.TrimSpace(lastLine(out))) }
	}
	return []toolSpec{
		{tool: ToolStorcli, help: "storcli/perccli JSON: storcli64 /call show all J nolog",
			parse: ParseStorcliJSON, detect: detectStorcliJSON, detectRank: 1,
			binaries: []string{"storcli64", "storcli", "perccli64", "perccli"},
			commands: [][]string{{"/call", "show", "all", "J", "nolog"}},
			accept:   func(out []byte) bool { return bytes.HasPrefix(bytes.TrimSpace(out), []byte("{")) },
			config:   "storcli"},
		{tool: ToolStorcliText, help: "storcli text: storcli64 /call show all   (saved files only)",
			parse: ParseStorcliText, detect: detectStorText.Match, detectRank: 6},
		{tool: ToolMegaCLI, help: "MegaCli64 -AdpAllInfo, -LDPDInfo and -AdpBbuCmd -aALL -NoLog",
			parse: ParseMegaCLI, detect: detectMegaCLI.Match, detectRank: 8,
			binaries: []string{"MegaCli64", "MegaCli", "megacli"},
			commands: [][]string{
				{"-AdpAllInfo", "-aALL", "-NoLog"},
				{"-LDPDInfo", "-aALL", "-NoLog"},
				{"-AdpBbuCmd", "-GetBbuStatus", "-aALL", "-NoLog"},
			},
			accept: lastMatches(megaExitRe), config: "megacli"},
		{tool: ToolArcconf, help: "arcconf GETCONFIG <n> AL   (Adaptec, IBM ServeRAID-8)",
			parse: ParseArcconf, detect: detectArcconf.Match, detectRank: 4,
			binaries: []string{"arcconf"}, commands: [][]string{{"GETCONFIG", "<ctrl>", "AL"}},
			controller: "1", idFromController: true, accept: completed, config: "arcconf"},
		{tool: ToolIpssend, help: "ipssend GETCONFIG <n> AL   (IBM ServeRAID-3/4/6/7k; the cluster\nlines are read provisionally, see the warnings)",
			parse: ParseIpssend, detect: detectIpssend.Match, detectRank: 3,
			binaries: []string{"ipssend"}, commands: [][]string{{"GETCONFIG", "<ctrl>", "AL"}},
			controller: "1", accept: completed, config: "ipssend"},
		{tool: ToolMdadm, help: "mdadm --detail on every array in /proc/mdstat",
			parse: ParseMdadmDetail, detect: detectMdadm.Match, detectRank: 9,
			binaries: []string{"mdadm"}, read: (*Exec).readMdadm, config: "md"},
		{tool: ToolMdstat, help: "/proc/mdstat",
			parse: ParseMdstat, detect: detectMdstat.Match, detectRank: 5},
		{tool: ToolSasIRCU, help: "sas2ircu|sas3ircu <n> DISPLAY   (LSI Integrated RAID)",
			parse: ParseSasIRCU, detect: detectSasIRCU.Match, detectRank: 2,
			binaries: []string{"sas2ircu", "sas3ircu"}, commands: [][]string{{"<ctrl>", "DISPLAY"}},
			controller: "0", accept: lastMatches(sasEndRe), config: "sas2ircu"},
		{tool: ToolSsacli, help: "ssacli|hpssacli ctrl all show config detail   (HPE Smart Array)",
			parse: ParseSsacli, detect: detectSsacli.Match, detectRank: 7,
			binaries: []string{"ssacli", "hpssacli"}, commands: [][]string{{"ctrl", "all", "show", "config", "detail"}},
			config: "ssacli"},
		{tool: ToolSysfsMD, help: "/sys/block/md*/md   (live only)"},
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

// Tools lists every tool in a stable order.
func Tools() []Tool {
	var out []Tool
	for _, s := range toolTable() {
		out = append(out, s.tool)
	}
	return out
}

// Help is the raid command's description of tool: what it reads and, for
// a live tool, the command run; a second line, if any, follows a "\n".
// It is "" for a tool that is not in Tools.
func Help(tool Tool) string {
	s, _ := spec(tool)
	return s.help
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

// detectOrder is the tool table with a signature, in the order Detect tries
// them.
func detectOrder() []toolSpec {
	var out []toolSpec
	for _, s := range toolTable() {
		if s.detect != nil {
			out = append(out, s)
		}
	}
	slices.SortStableFunc(out, func(a, b toolSpec) int { return cmp.Compare(a.detectRank, b.detectRank) })
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
