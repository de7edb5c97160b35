package nic

import (
	"cmp"
	"maps"
	"slices"
	"time"
)

// Snapshot is the state of every watched link, by interface index.
type Snapshot map[int]Link

// ChangeKind says what happened to a link between two snapshots.
type ChangeKind string

// Kinds of change.
const (
	Added   ChangeKind = "added"
	Removed ChangeKind = "removed"
	Changed ChangeKind = "changed"
)

// Change is one link's difference between two snapshots. Old is the zero
// Link for Added, New the zero Link for Removed.
type Change struct {
	Kind ChangeKind `json:"kind"`
	Old  Link       `json:"old"`
	New  Link       `json:"new"`
	// Fields names what changed for Changed: "name", "kind", "admin",
	// "carrier", "operstate", "mtu", "mac", "master".
	Fields []string `json:"fields,omitempty"`
}

// Event is a change delivered by a Watcher.
type Event struct {
	Time time.Time `json:"time"`
	// Resync is true when the change was found by a full resync after the
	// kernel reported lost messages (ENOBUFS), rather than by an event.
	Resync bool `json:"resync,omitempty"`
	Change
}

// Diff returns the changes that turn old into new, ordered by interface
// index. It is pure: same snapshots, same changes.
func Diff(old, new Snapshot) []Change {
	idx := slices.Sorted(maps.Keys(old))
	for i := range new {
		if _, ok := old[i]; !ok {
			idx = append(idx, i)
		}
	}
	slices.SortFunc(idx, cmp.Compare)
	var out []Change
	for _, i := range idx {
		o, inOld := old[i]
		n, inNew := new[i]
		switch {
		case !inOld:
			out = append(out, Change{Kind: Added, New: n})
		case !inNew:
			out = append(out, Change{Kind: Removed, Old: o})
		case o != n:
			out = append(out, Change{Kind: Changed, Old: o, New: n, Fields: changedFields(o, n)})
		}
	}
	return out
}

func changedFields(o, n Link) []string {
	var f []string
	add := func(changed bool, name string) {
		if changed {
			f = append(f, name)
		}
	}
	add(o.Name != n.Name, "name")
	add(o.Kind != n.Kind, "kind")
	add(o.AdminUp != n.AdminUp, "admin")
	add(o.Carrier != n.Carrier, "carrier")
	add(o.OperState != n.OperState, "operstate")
	add(o.MTU != n.MTU, "mtu")
	add(o.MAC != n.MAC, "mac")
	add(o.MasterIndex != n.MasterIndex, "master")
	return f
}

// Filter returns the links of s whose names are in names; all of s when
// names is empty.
func (s Snapshot) Filter(names []string) Snapshot {
	if len(names) == 0 {
		return maps.Clone(s)
	}
	out := make(Snapshot)
	for i, l := range s {
		if slices.Contains(names, l.Name) {
			out[i] = l
		}
	}
	return out
}
