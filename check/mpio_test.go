package check

import (
	"strings"
	"testing"

	"github.com/hakit/hakit/scsi"
)

func TestJudgePathRegistrations(t *testing.T) {
	const iqn = "iqn.2026-11.io.hakit:node-a"
	key, other := scsi.Key(0x6863000000010001), scsi.Key(0x6863000000010002)
	isids := pathISIDs(iqn)
	if isids[0] == isids[1] {
		t.Fatalf("both paths have ISID %s", isids[0])
	}
	reg := func(k scsi.Key, isid string) scsi.Registration {
		return scsi.Registration{Key: k, Initiator: scsi.TransportID{Protocol: scsi.ProtocolISCSI, Name: iqn, ISID: isid}}
	}
	for _, tc := range []struct {
		name string
		keys []scsi.Key
		full *scsi.FullStatus
		v    Verdict
		in   string
	}{
		{"READ KEYS, both", []scsi.Key{key, other, key}, nil, Pass, "registered 2 time(s)"},
		{"READ KEYS, one path", []scsi.Key{key, other}, nil, Fail, "want 2: one per path"},
		{"full status, both", nil, &scsi.FullStatus{Registrations: []scsi.Registration{reg(key, isids[0]), reg(other, "00"), reg(key, strings.ToUpper(isids[1]))}}, Pass, "2 initiator port(s)"},
		{"full status, twice on one path", nil, &scsi.FullStatus{Registrations: []scsi.Registration{reg(key, isids[0]), reg(key, isids[0])}}, Fail, "want both paths"},
		{"full status, other key on path 2", nil, &scsi.FullStatus{Registrations: []scsi.Registration{reg(key, isids[0]), reg(other, isids[1])}}, Fail, "1 initiator port(s)"},
	} {
		v, m, hint := judgePathRegistrations(key, iqn, isids, tc.keys, tc.full)
		if v != tc.v || !strings.Contains(m, tc.in) || (v == Fail && hint == "") {
			t.Errorf("%s: %s %q (fix %q), want %s with %q", tc.name, v, m, hint, tc.v, tc.in)
		}
	}
}
