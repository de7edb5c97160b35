package agent

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMemberStatuses(t *testing.T) {
	ms := []Member{{Name: "a", ID: 1, Self: true}, {Name: "b", ID: 2}, {Name: "c", ID: 3}, {Name: "d", ID: 4}}
	keys := func(reg map[int]bool, holder int) []MemberKey {
		var out []MemberKey
		for _, m := range ms {
			out = append(out, MemberKey{Name: m.Name, ID: m.ID, Key: "0x" + m.Name, Registered: reg[m.ID], Holder: m.ID == holder})
		}
		return out
	}
	two := []DiskStatus{
		{Device: "d1", Members: keys(map[int]bool{1: true, 2: true, 3: false, 4: true}, 1)},
		{Device: "d2", Members: keys(map[int]bool{1: true, 2: true, 3: false, 4: false}, 1)},
	}
	paths := map[string]map[string]string{"serial": {"b": "alive"}, "nic": {"b": "reachable", "c": "unreachable"}, "disk": {"d": "dead"}}
	got := MemberStatuses(ms, two, false, paths)
	want := []MemberStatus{
		{Name: "a", ID: 1, Self: true, Key: "0xa", Registered: true, Holder: []string{"d1", "d2"}},
		{Name: "b", ID: 2, Key: "0xb", Registered: true, Serial: "alive", NIC: "reachable"},
		{Name: "c", ID: 3, Key: "0xc", Fenced: true, NIC: "unreachable"},
		{Name: "d", ID: 4, Key: "0xd", Disk: "dead"}, // on one disk of two: neither
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// A disk that cannot be read makes nobody registered or fenced; this
	// node's fenced state is the guard's.
	unread := append(two, DiskStatus{Device: "d3", Error: "path down"})
	for _, m := range MemberStatuses(ms, unread, true, nil) {
		if m.Registered || m.Fenced != m.Self {
			t.Errorf("with an unreadable disk: %+v", m)
		}
	}
	// A scsi2 disk, or one that lists no members, says nothing of them.
	for _, m := range MemberStatuses(ms, []DiskStatus{{Device: "s", Mode: ModeSCSI2}}, false, nil) {
		if m.Registered || m.Fenced || m.Key != "" {
			t.Errorf("scsi2 only: %+v", m)
		}
	}
}
