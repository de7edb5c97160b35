package check

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hakit/hakit/scsi"
)

func TestJudgeRounds(t *testing.T) {
	ms := time.Millisecond
	boom := errors.New("both nodes were granted the reservation")
	for _, tc := range []struct {
		name   string
		rounds []round
		want   Verdict
		in     string
	}{
		{"none", nil, Fail, "no round"},
		{"one at once", []round{{First: -1, Winner: 1, Took: ms}}, Pass, "both asked at once: peer won in 1ms, this node got RESERVATION CONFLICT"},
		{"alternating", []round{{First: -1, Winner: 0, Took: ms}, {First: 0, Winner: 0, Took: 2 * ms}, {First: -1, Winner: 1, Took: ms}, {First: 1, Winner: 1, Took: 3 * ms}}, Pass, "2 at once, 2 alternating"},
		{"two winners", []round{{First: -1, Winner: 0, Took: ms}, {First: -1, Winner: -1, Err: boom}}, Fail, "round 2 of 2: both nodes"},
		{"second asker won", []round{{First: 1, Winner: 0, Took: ms}}, Fail, "peer asked first"},
	} {
		v, m, hint := judgeRounds(tc.rounds)
		if v != tc.want || !strings.Contains(m, tc.in) || (v == Fail && hint == "" && tc.rounds != nil) {
			t.Errorf("%s: %s %q (fix %q), want %s containing %q", tc.name, v, m, hint, tc.want, tc.in)
		}
	}
	c := roundsChart([]round{{First: -1, Winner: 0, Took: 1500 * time.Microsecond}, {First: 1, Winner: 1, Took: ms}})
	if c.Kind != ChartRounds || len(c.Values) != 2 || c.Values[0] != 1.5 || c.Labels[0] != "A" || c.Labels[1] != "B*" {
		t.Errorf("rounds chart %+v", c)
	}
}

func TestSameState(t *testing.T) {
	held := scsi.Reservation{Held: true, Key: 1, Type: prType}
	for _, tc := range []struct {
		a, b diskState
		same bool
	}{
		{diskState{Keys: []scsi.Key{1, 2}}, diskState{Keys: []scsi.Key{1, 2}, Res: scsi.Reservation{Generation: 9}}, true},
		{diskState{Keys: []scsi.Key{1, 2}}, diskState{Keys: []scsi.Key{1}}, false},
		{diskState{Keys: []scsi.Key{1}, Res: held}, diskState{Keys: []scsi.Key{1}, Res: held}, true},
		{diskState{Keys: []scsi.Key{1}, Res: held}, diskState{Keys: []scsi.Key{1}}, false},
		{diskState{Res: held}, diskState{Res: scsi.Reservation{Held: true, Key: 1, Type: scsi.TypeExclusiveAccess}}, false},
		{diskState{Res: held}, diskState{Res: scsi.Reservation{Held: true, Key: 2, Type: prType}}, false},
	} {
		if got := sameState(tc.a, tc.b); got != tc.same {
			t.Errorf("sameState(%s, %s) = %v", tc.a, tc.b, got)
		}
	}
}

func TestParseRegion(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want scsi.Region
		ok   bool
	}{
		{"2048+64", scsi.Region{Start: 2048, Len: 64}, true},
		{" 0+1 ", scsi.Region{Start: 0, Len: 1}, true},
		{"2048", scsi.Region{}, false},
		{"2048+0", scsi.Region{}, false},
		{"a+1", scsi.Region{}, false},
		{"-1+2", scsi.Region{}, false},
		{"18446744073709551615+2", scsi.Region{}, false},
	} {
		got, err := ParseRegion(tc.in)
		if (err == nil) != tc.ok || got != tc.want || (err != nil && !errors.Is(err, ErrRegion)) {
			t.Errorf("ParseRegion(%q) = %v, %v", tc.in, got, err)
		}
	}
}
