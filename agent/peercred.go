package agent

import "fmt"

// Cred is the API caller's identity as the kernel recorded it on the
// connection (SO_PEERCRED), with its supplementary groups (SO_PEERGROUPS).
type Cred struct {
	PID    int32 `json:"pid"`
	UID    uint32
	GID    uint32
	Groups []uint32
}

// Access is the API's access rule: root, plus the members of one group.
type Access struct {
	// GID is the allowed group; ignored when !HasGroup.
	GID      uint32
	HasGroup bool
	// Group is the group's name, for messages.
	Group string
}

// Check allows root and members (primary or supplementary) of the group,
// and returns an error wrapping ErrPermission otherwise.
func (a Access) Check(c Cred) error {
	if c.UID == 0 {
		return nil
	}
	if a.HasGroup {
		if c.GID == a.GID {
			return nil
		}
		for _, g := range c.Groups {
			if g == a.GID {
				return nil
			}
		}
		return fmt.Errorf("%w: uid %d (pid %d) is neither root nor in group %s", ErrPermission, c.UID, c.PID, a.Group)
	}
	return fmt.Errorf("%w: uid %d (pid %d) is not root, and no api.group is configured", ErrPermission, c.UID, c.PID)
}
