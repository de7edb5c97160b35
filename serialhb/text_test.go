package serialhb

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestStatusJSONRoundTrip(t *testing.T) {
	in := Status{
		LinkStatus: LinkStatus{
			State: StateWarn, Since: testEpoch, LastHeard: testEpoch, Silence: time.Second, Node: 1, Incarnation: 5,
			Peer:   PeerInfo{Node: 2, Incarnation: 6, Seq: 9, State: NodeState{Role: RoleActive, Resources: 3}},
			RTT:    RTTStats{Samples: 1, Last: time.Millisecond},
			Timers: TimersMS(10, 25, 50, 100), Counters: Counters{Sent: 4, CRCErrors: 1},
		},
		Path: "/dev/ttyS0", PortOpen: true, Modem: ModemLines{DSR: LineOn, CTS: LineOff}, Cable: CableOK,
	}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out Status
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if d := cmp.Diff(in, out); d != "" {
		t.Errorf("JSON round trip (-in +out):\n%s\n%s", d, b)
	}
	ev := Event{Time: testEpoch, Kind: EventRestart, From: StateAlive, To: StateAlive, Peer: 2, Incarnation: 7, PrevIncarnation: 6}
	b, _ = json.Marshal(ev)
	var back Event
	if err := json.Unmarshal(b, &back); err != nil || back != ev {
		t.Errorf("event round trip: %v %+v\n%s", err, back, b)
	}
	var s State
	if err := s.UnmarshalText([]byte("zombie")); err == nil {
		t.Errorf("unknown state accepted")
	}
}
