package raidctl

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// cutPoints are where TestTruncatedCaptures cuts a capture: every line
// boundary, and 20 byte offsets spread over it (mid-line cuts).
func cutPoints(data []byte) []int {
	var cuts []int
	for i, b := range data {
		if b == '\n' && i+1 < len(data) {
			cuts = append(cuts, i+1)
		}
	}
	for k := 1; k <= 20; k++ {
		cuts = append(cuts, len(data)*k/21)
	}
	return cuts
}

// Every capture, cut short anywhere, is rejected or read with an explicit
// "truncated" warning: never a silent smaller model. A cut that loses
// nothing (the same model as the whole capture) is fine.
func TestTruncatedCaptures(t *testing.T) {
	for _, tc := range truncationCases() {
		t.Run(tc.file, func(t *testing.T) {
			data := readFixture(t, tc.file)
			full, err := Parse(tc.tool, data)
			if err != nil {
				t.Fatal(err)
			}
			whole, _ := json.Marshal(full)
			var silent []string
			for _, n := range cutPoints(data) {
				rest := bytes.TrimSpace(data[n:])
				if len(rest) == 0 {
					continue // only blank space cut
				}
				if tc.tool == ToolStorcliText && bytes.HasPrefix(rest, []byte("Generating detailed summary")) {
					// Cut exactly between two controllers' blocks, before
					// the banner of the next: storcli text has no end
					// marker and no controller count, so this one cut is
					// a complete report of fewer controllers (documented
					// on ParseStorcliText).
					continue
				}
				sys, err := Parse(tc.tool, data[:n])
				if err != nil {
					continue
				}
				if tc.tool == ToolSsacli && fewerWholeControllers(full, sys) {
					// Cut after a controller's last drive section,
					// before the next controller's header: ssacli
					// prints no controller count and no end marker,
					// so this reads as a complete report of fewer
					// controllers (documented on ParseSsacli).
					continue
				}
				if warnsTruncated(sys) {
					continue
				}
				if got, _ := json.Marshal(sys); bytes.Equal(got, whole) {
					continue
				}
				silent = append(silent, fmt.Sprintf("byte %d of %d (line %d)", n, len(data), bytes.Count(data[:n], []byte("\n"))+1))
			}
			if len(silent) > 0 {
				t.Errorf("%d cut(s) parsed as a smaller model without a truncation warning, e.g. %s", len(silent), strings.Join(silent[:min(len(silent), 5)], "; "))
			}
		})
	}
}

// truncationCases are the captures TestTruncatedCaptures cuts: every
// golden case that parses.
func truncationCases() []goldenCase {
	var out []goldenCase
	for _, tc := range goldenCases {
		if tc.wantErr == nil {
			out = append(out, tc)
		}
	}
	return out
}

// fewerWholeControllers reports whether cut is full with its last
// controllers left out and nothing else changed.
func fewerWholeControllers(full, cut *System) bool {
	n := len(cut.Controllers)
	if n == 0 || n >= len(full.Controllers) {
		return false
	}
	a, _ := json.Marshal(cut)
	b, _ := json.Marshal(&System{Tool: full.Tool, Controllers: full.Controllers[:n], Warnings: full.Warnings})
	return bytes.Equal(a, b)
}

func warnsTruncated(s *System) bool {
	for _, w := range s.Warnings {
		if strings.Contains(strings.ToLower(w), "truncated") {
			return true
		}
	}
	return false
}
