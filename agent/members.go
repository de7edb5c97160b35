package agent

import "slices"

// MemberStatuses is what the disks and paths say of each member: disks
// are the last statuses read, fenced the guard's state of this node,
// paths each path's states by member name ("serial", "nic", "disk").
// Pure: the agent's status and fence_hwagent's list read it.
func MemberStatuses(members []Member, disks []DiskStatus, fenced bool, paths map[string]map[string]string) []MemberStatus {
	out := make([]MemberStatus, 0, len(members))
	for _, m := range members {
		ms := MemberStatus{Name: m.Name, ID: m.ID, Self: m.Self, Serial: paths["serial"][m.Name], NIC: paths["nic"][m.Name], Disk: paths["disk"][m.Name]}
		on, off, known := 0, 0, 0
		for _, d := range disks {
			if d.Error != "" || d.Mode == ModeSCSI2 {
				continue
			}
			i := slices.IndexFunc(d.Members, func(k MemberKey) bool { return k.ID == m.ID })
			if i < 0 {
				continue
			}
			k := d.Members[i]
			known++
			ms.Key = k.Key
			if k.Registered {
				on++
			} else {
				off++
			}
			if k.Holder {
				ms.Holder = append(ms.Holder, d.Device)
			}
		}
		unread := slices.ContainsFunc(disks, func(d DiskStatus) bool { return d.Error != "" })
		ms.Registered = known > 0 && on == known && !unread
		ms.Fenced = known > 0 && off == known && !unread
		if m.Self {
			ms.Fenced = fenced
		}
		out = append(out, ms)
	}
	return out
}
