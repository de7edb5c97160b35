package raidctl

import (
	"bytes"
	"fmt"
	"regexp"
)

// Parse reads data as the output of tool.
func Parse(tool Tool, data []byte) (*System, error) {
	if s, ok := spec(tool); ok && s.parse != nil {
		return s.parse(data)
	}
	return nil, fmt.Errorf("raidctl: no parser for tool %q (known: %v)", tool, parsers())
}

var (
	detectIpssend  = regexp.MustCompile(`(?im)^\s*Found \d+ IBM ServeRAID controller`)
	detectArcconf  = regexp.MustCompile(`(?im)^\s*Controllers found:\s*\d+`)
	detectSasIRCU  = regexp.MustCompile(`(?im)^\s*\S.*\bSAS[23] IR Configuration Utility\.?\s*$`)
	detectMdstat   = regexp.MustCompile(`(?m)^\s*Personalities :`)
	detectMdadm    = regexp.MustCompile(`(?m)^\s*/dev/\S+:\s*$`)
	detectStorText = regexp.MustCompile(`(?m)^Controller = \d+\r?\n(?:[^\n]*\n)?Status = `)
	detectSsacli   = regexp.MustCompile(`(?m)^\S.* in Slot \S+.*\r?\n(?:\s*\r?\n)*[ \t]+\S`)
	detectMegaCLI  = regexp.MustCompile(`(?im)^\s*(Exit Code:\s*0x|Adapter\s*#\d+|(CacheCade )?Virtual (Drive|Disk):\s*\d+|BBU status for Adapter)`)
)

// Detect guesses which tool printed data, so a saved capture can be read
// without naming its tool. ok is false when no signature matches.
func Detect(data []byte) (tool Tool, ok bool) {
	t := bytes.TrimSpace(data)
	switch {
	case bytes.HasPrefix(t, []byte("{")) && bytes.Contains(t, []byte(`"Controllers"`)):
		return ToolStorcli, true
	case detectSasIRCU.Match(data):
		return ToolSasIRCU, true
	case detectIpssend.Match(data):
		return ToolIpssend, true
	case detectArcconf.Match(data):
		return ToolArcconf, true
	case detectMdstat.Match(data):
		return ToolMdstat, true
	case detectStorText.Match(data):
		return ToolStorcliText, true
	case detectSsacli.Match(data):
		return ToolSsacli, true
	case detectMegaCLI.Match(data):
		return ToolMegaCLI, true
	case detectMdadm.Match(data):
		return ToolMdadm, true
	}
	return "", false
}
