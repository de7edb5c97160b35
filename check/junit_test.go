package check

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"
	"time"
)

func TestWriteJUnit(t *testing.T) {
	r := Report{Node: "a", Peer: "b", Started: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC), Duration: 1500 * time.Millisecond,
		Counts: map[Verdict]int{Pass: 1, Warn: 1, Fail: 1, Skip: 1},
		Results: []Result{
			{Group: "serial", Name: "cable test", Verdict: Pass, Measured: "50/50 pings", Duration: time.Second},
			{Group: "disks", Name: "disk 0 identity", Verdict: Warn, Measured: "not pinned", Hint: "add identity"},
			{Group: "nic", Name: "link <and> peer", Verdict: Fail, Measured: "carrier down & silent", Hint: "plug the cable"},
			{Group: "pr", Name: "PR matrix", Verdict: Skip, Measured: "no consent", Hint: "--pr-test"},
		}}
	var b bytes.Buffer
	if err := r.WriteJUnit(&b); err != nil {
		t.Fatal(err)
	}
	var got junitSuites
	if err := xml.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("not XML: %v\n%s", err, b.String())
	}
	s := got.Suites[0]
	if s.Tests != 4 || s.Failures != 1 || s.Skipped != 1 || s.Time != "1.500" || len(s.Cases) != 4 {
		t.Fatalf("suite %+v", s)
	}
	if c := s.Cases[2]; c.Class != "hwcheck.nic" || c.Name != "link <and> peer" || c.Failure == nil || c.Failure.Message != "carrier down & silent" || c.Failure.Text != "plug the cable" {
		t.Errorf("failure case %+v", c)
	}
	if c := s.Cases[3]; c.Skipped == nil || !strings.Contains(c.Skipped.Message, "--pr-test") {
		t.Errorf("skip case %+v", c)
	}
	if c := s.Cases[1]; c.Failure != nil || !strings.HasPrefix(c.SystemOut, "WARN: not pinned (fix: add identity)") {
		t.Errorf("warn case %+v", c)
	}
}
