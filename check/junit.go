package check

import (
	"encoding/xml"
	"fmt"
	"io"
)

type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Skipped   int         `xml:"skipped,attr"`
	Time      string      `xml:"time,attr"`
	Timestamp string      `xml:"timestamp,attr"`
	Cases     []junitCase `xml:"testcase"`
}

type junitCase struct {
	Class     string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes the report as JUnit XML for CI systems: one test case
// per check (class: its group), fail as <failure>, skip as <skipped>; JUnit
// has no warning, so a warn passes with "WARN" and its fix in system-out
// (hwcheck --strict makes the exit code count it).
func (r Report) WriteJUnit(w io.Writer) error {
	s := junitSuite{Name: fmt.Sprintf("hwcheck %s/%s", r.Node, r.Peer), Tests: len(r.Results), Failures: r.Counts[Fail], Skipped: r.Counts[Skip],
		Time: secs(r.Duration.Seconds()), Timestamp: r.Started.UTC().Format("2006-01-02T15:04:05")}
	for _, c := range r.Results {
		tc := junitCase{Class: "hwcheck." + c.Group, Name: c.Name, Time: secs(c.Duration.Seconds()), SystemOut: c.Measured}
		switch c.Verdict {
		case Fail:
			tc.Failure = &junitMessage{Message: c.Measured, Text: c.Hint}
		case Skip:
			tc.Skipped = &junitMessage{Message: c.Measured + hintSuffix(c.Hint)}
		case Warn:
			tc.SystemOut = "WARN: " + c.Measured + hintSuffix(c.Hint)
		}
		s.Cases = append(s.Cases, tc)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(junitSuites{Suites: []junitSuite{s}}); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func secs(s float64) string { return fmt.Sprintf("%.3f", s) }

func hintSuffix(h string) string {
	if h == "" {
		return ""
	}
	return " (fix: " + h + ")"
}
