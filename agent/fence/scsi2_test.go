package fence

import (
	"testing"

	"github.com/hakit/hakit/agent"
)

// A scsi2 disk has no keys: this node is on when the disk reads, the peer
// is off only while this node holds the reservation.
func TestAllOnSCSI2(t *testing.T) {
	s2 := func(owner bool, errMsg string) agent.DiskStatus {
		return agent.DiskStatus{Device: "d", Mode: agent.ModeSCSI2, Registered: owner, Owner: owner, PeerRegistered: !owner, Error: errMsg}
	}
	for _, tt := range []struct {
		name       string
		disk       agent.DiskStatus
		self, peer bool
	}{
		{"held here", s2(true, ""), true, false},
		{"held by the peer", s2(false, ""), true, true},
		{"free", agent.DiskStatus{Device: "d", Mode: agent.ModeSCSI2}, true, true},
		{"unreadable", s2(false, "timeout"), false, true},
		{"pr registered", agent.DiskStatus{Device: "d", Mode: agent.ModePR, Registered: true}, true, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := allOn([]agent.DiskStatus{tt.disk}, true); got != tt.self {
				t.Errorf("self on = %v, want %v", got, tt.self)
			}
			if got := allOn([]agent.DiskStatus{tt.disk}, false); got != tt.peer {
				t.Errorf("peer on = %v, want %v", got, tt.peer)
			}
		})
	}
}
