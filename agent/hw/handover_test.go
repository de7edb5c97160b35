package hw

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/sbd"
	"github.com/hakit/hakit/scsi"
)

// What this node posts comes back, through sbd's version 2 block, as the
// peer's request and answer on the reading node.
func TestMailboxPostRoundTrip(t *testing.T) {
	req := &agent.HandoverRequest{Seq: 9, Disk: "naa.60014050000000000000000000000001", Key: 0x686b000000000003,
		TransportID: scsi.ISCSIPortID("iqn.2026-11.io.hakit.test:node-c", [6]byte{0x80, 1, 2, 3, 4, 5})}
	for _, tc := range []struct {
		name string
		req  *agent.HandoverRequest
		ans  *agent.HandoverAnswer
	}{
		{"request", req, nil},
		{"answer", nil, &agent.HandoverAnswer{Key: 0x686b000000000002, Seq: 4, Code: agent.HandoverClaimed}},
		{"both", req, &agent.HandoverAnswer{Key: 0x686b000000000002, Seq: 5, Code: agent.HandoverMoved}},
		{"none", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &Mailbox{}
			m.Post(tc.req, tc.ans)
			h, a := m.post()
			sec, err := sbd.Beat{Counter: 1, Name: "node-c", Handover: h, Answer: a}.MarshalSector(512)
			if err != nil {
				t.Fatal(err)
			}
			b, err := sbd.ParseBeat(sec)
			if err != nil {
				t.Fatal(err)
			}
			gotReq, gotAns := peerPost(b)
			if d := cmp.Diff(tc.req, gotReq); d != "" {
				t.Errorf("request (-posted +read):\n%s", d)
			}
			if d := cmp.Diff(tc.ans, gotAns); d != "" {
				t.Errorf("answer (-posted +read):\n%s", d)
			}
		})
	}
}
