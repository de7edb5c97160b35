package raidctl

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// UnknownGroup is one node's warnings that a value is unknown or was read
// from a line without a confirmed format (RuleToolOutput, and any warning
// saying "unknown"), said as one line so that they do not bury a fault.
type UnknownGroup struct {
	Node string
	// Findings are the warnings grouped, in report order.
	Findings []Finding
	// Subjects names each value once: its subject, or "output line N"
	// for a line of the tool's output.
	Subjects []string
	// Fixes are the distinct fixes, in order.
	Fixes []string
}

var outputLine = regexp.MustCompile(`line \d+`)

// IsUnknown is a warning that a value is unknown or was read without a
// confirmed format: the tool's output (RuleToolOutput) or any rule's.
func IsUnknown(f Finding) bool {
	return f.Severity == SeverityWarning && (f.Rule == RuleToolOutput || strings.Contains(f.Message, "unknown"))
}

// IsToolOutput is a warning about a line of the tool's output (a line
// not recognised, or read without a confirmed format).
func IsToolOutput(f Finding) bool {
	return f.Severity == SeverityWarning && f.Rule == RuleToolOutput
}

// Group splits a report's findings into the faults, errors first, then
// warnings, then notes (stable within each), and one UnknownGroup per node
// (sorted by node) of the findings grouped says (IsUnknown, IsToolOutput).
func Group(fs []Finding, grouped func(Finding) bool) (faults []Finding, unknown []UnknownGroup) {
	byNode := map[string]*UnknownGroup{}
	for _, f := range fs {
		if !grouped(f) {
			faults = append(faults, f)
			continue
		}
		g := byNode[f.Node]
		if g == nil {
			g = &UnknownGroup{Node: f.Node}
			byNode[f.Node] = g
		}
		g.Findings = append(g.Findings, f)
		subject := f.Subject
		if l := outputLine.FindString(f.Message); f.Rule == RuleToolOutput && l != "" {
			subject = "output " + l
		}
		if !slices.Contains(g.Subjects, subject) {
			g.Subjects = append(g.Subjects, subject)
		}
		if f.Fix != "" && !slices.Contains(g.Fixes, f.Fix) {
			g.Fixes = append(g.Fixes, f.Fix)
		}
	}
	rank := map[Severity]int{SeverityError: 0, SeverityWarning: 1, SeverityInfo: 2}
	slices.SortStableFunc(faults, func(a, b Finding) int { return rank[a.Severity] - rank[b.Severity] })
	for _, g := range byNode {
		unknown = append(unknown, *g)
	}
	slices.SortFunc(unknown, func(a, b UnknownGroup) int { return strings.Compare(a.Node, b.Node) })
	return faults, unknown
}

// Summary is the group as one line: how many values, and which.
func (g UnknownGroup) Summary() string {
	return strconv.Itoa(len(g.Findings)) + " value(s) the tool's output does not give or that were read without a confirmed format: " + strings.Join(g.Subjects, ", ")
}
