package raidctl

import "fmt"

// Parse reads data as the output of tool.
func Parse(tool Tool, data []byte) (*System, error) {
	if s, ok := spec(tool); ok && s.parse != nil {
		return s.parse(data)
	}
	return nil, fmt.Errorf("raidctl: no parser for tool %q (known: %v)", tool, parsers())
}

// Detect guesses which tool printed data, so a saved capture can be read
// without naming its tool: the first signature of the tool table that
// matches, in the table's detection order. ok is false when none matches.
func Detect(data []byte) (tool Tool, ok bool) {
	for _, s := range detectOrder() {
		if s.detect(data) {
			return s.tool, true
		}
	}
	return "", false
}
