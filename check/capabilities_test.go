package check

import (
	"errors"
	"strings"
	"testing"

	"github.com/hakit/hakit/scsi"
)

// illegal is the target's ILLEGAL REQUEST 24/00 (invalid field in CDB), as
// tgtd answers PREEMPT AND ABORT.
func illegal() error {
	return scsi.CheckStatus("PERSISTENT RESERVE OUT", &scsi.Response{Status: scsi.StatusCheckCondition, Sense: scsi.Sense{Key: scsi.SenseIllegalRequest, ASC: 0x24}.MarshalFixed()})
}

func TestDescribeCapabilities(t *testing.T) {
	all := scsi.Capabilities{PersistThroughPowerLoss: true, CompatibleReservation: true, TypeMaskValid: true, Types: []scsi.ReservationType{scsi.TypeWriteExclusive, prType}}
	for _, tc := range []struct {
		name string
		c    scsi.Capabilities
		v    Verdict
		in   []string
	}{
		{"full", all, Pass, []string{"PTPL_C 1", "CRH 1", "ATP_C 0", "types we we-ro"}},
		{"no mask", scsi.Capabilities{}, Warn, []string{"PTPL_C 0", "TMV 0", "unknown"}},
		{"no WERO", scsi.Capabilities{TypeMaskValid: true, Types: []scsi.ReservationType{scsi.TypeExclusiveAccess}}, Fail, []string{"types ea"}},
		{"empty mask", scsi.Capabilities{TypeMaskValid: true}, Fail, []string{"types none"}},
	} {
		m := describeCapabilities(tc.c)
		v, hint := judgeCapabilities(tc.c)
		if v != tc.v || (v != Pass && hint == "") {
			t.Errorf("%s: verdict %s (fix %q), want %s", tc.name, v, hint, tc.v)
		}
		for _, w := range tc.in {
			if !strings.Contains(m, w) {
				t.Errorf("%s: %q lacks %q", tc.name, m, w)
			}
		}
	}
}

func TestAPTPLResult(t *testing.T) {
	none := scsi.Capabilities{}
	ptpl := scsi.Capabilities{PersistThroughPowerLoss: true}
	active := scsi.Capabilities{PersistThroughPowerLoss: true, PTPLActive: true}
	for _, tc := range []struct {
		name  string
		c     scsi.Capabilities
		tried bool
		err   error
		v     Verdict
		in    string
	}{
		{"lacks it, refused", none, true, illegal(), Warn, "refused (ILLEGAL REQUEST 24/00"},
		{"lacks it, accepted", none, true, nil, Warn, "yet a REGISTER with APTPL was accepted"},
		{"supported, not tried", ptpl, false, nil, Pass, "not tried"},
		{"in effect, accepted", active, true, nil, Pass, "PTPL_A 1"},
		{"in effect, refused", active, true, illegal(), Fail, "but a REGISTER with APTPL was refused"},
	} {
		r := aptplResult("APTPL", tc.c, tc.tried, tc.err)
		if r.Verdict != tc.v || !strings.Contains(r.Measured, tc.in) || (r.Verdict != Pass && r.Hint == "") {
			t.Errorf("%s: %+v, want %s with %q", tc.name, r, tc.v, tc.in)
		}
	}
}

func TestKeysResult(t *testing.T) {
	agents := [2]scsi.Key{0x686b000000010001, 0x686b000000010002}
	tests := [2]scsi.Key{0x6863000000010001, 0x6863000000010002}
	for _, tc := range []struct {
		name       string
		agents     [2]scsi.Key
		registered []scsi.Key
		v          Verdict
		in         string
	}{
		{"clean", agents, agents[:], Pass, "no other key"},
		{"stale test key", agents, []scsi.Key{agents[0], tests[1]}, Warn, "already registered before the test: " + tests[1].String()},
		{"foreign key", agents, []scsi.Key{0x6c9d0001}, Warn, "keys of neither node registered: 0x6c9d0001"},
		{"same node ids", [2]scsi.Key{agents[0], agents[0]}, nil, Fail, "appears twice"},
	} {
		r := keysResult("keys", tc.agents, tests, tc.registered)
		if r.Verdict != tc.v || !strings.Contains(r.Measured, tc.in) || (r.Verdict != Pass && r.Hint == "") {
			t.Errorf("%s: %+v, want %s with %q", tc.name, r, tc.v, tc.in)
		}
	}
}

func TestPreemptAbortResult(t *testing.T) {
	for _, tc := range []struct {
		name     string
		err      error
		fallback bool
		v        Verdict
		in       string
	}{
		{"accepted", nil, false, Pass, "accepted"},
		{"refused, fallback allowed", illegal(), true, Warn, "fence with PREEMPT instead"},
		{"refused, no fallback", illegal(), false, Fail, "every fence of this disk fails"},
		{"other error", errors.New("timeout"), true, Fail, "timeout"},
	} {
		r := preemptAbortResult("PREEMPT AND ABORT", tc.err, tc.fallback)
		if r.Verdict != tc.v || !strings.Contains(r.Measured, tc.in) {
			t.Errorf("%s: %+v, want %s with %q", tc.name, r, tc.v, tc.in)
		}
	}
}
