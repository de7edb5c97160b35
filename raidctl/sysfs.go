package raidctl

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// ToolSysfsMD is the Tool of /sys/block/md*/md.
const ToolSysfsMD Tool = "sysfs-md"

// ReadSysfsMD reads Linux md arrays from a sysfs tree: fsys is rooted at
// /sys (os.DirFS("/sys") on a live system; an fstest.MapFS in tests). It
// reads block/md*/md/{level,raid_disks,array_state,degraded,sync_action,
// sync_completed,uuid} and block/md*/size, and each member's
// md/dev-*/{state,slot}. A file that is missing leaves its field unknown.
func ReadSysfsMD(fsys fs.FS) (*System, error) {
	ents, err := fs.ReadDir(fsys, "block")
	if err != nil {
		return nil, fmt.Errorf("%s: reading block devices: %w", ToolSysfsMD, err)
	}
	ctrl := mdController()
	read := func(p string) (string, bool) {
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return "", false
		}
		return strings.TrimSpace(string(b)), true
	}
	for _, e := range ents {
		name := e.Name()
		if !strings.HasPrefix(name, "md") {
			continue
		}
		dir := path.Join("block", name, "md")
		if _, err := fs.Stat(fsys, dir); err != nil {
			continue // not an md device
		}
		ld := LogicalDrive{ID: name, Condition: ConditionUnknown}
		if v, ok := read(path.Join(dir, "level")); ok && v != "" {
			ld.setLevel(v)
		}
		if v, ok := read(path.Join("block", name, "size")); ok {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 && n < 1<<54 {
				ld.SizeBytes = ptr(n * 512)
				ld.SizeText = ptr(v + " sectors")
			}
		}
		if v, ok := read(path.Join(dir, "uuid")); ok && v != "" {
			ld.UUID = ptr(v)
		}
		state, haveState := read(path.Join(dir, "array_state"))
		if haveState {
			parts := []string{state}
			if v, ok := read(path.Join(dir, "degraded")); ok && v != "0" && v != "" {
				parts = append(parts, "degraded")
			}
			if v, ok := read(path.Join(dir, "sync_action")); ok && v != "idle" && v != "" && v != "frozen" {
				parts = append(parts, v)
				if c, ok := read(path.Join(dir, "sync_completed")); ok {
					if done, total, ok := strings.Cut(c, "/"); ok {
						d, e1 := strconv.ParseFloat(strings.TrimSpace(done), 64)
						t, e2 := strconv.ParseFloat(strings.TrimSpace(total), 64)
						if e1 == nil && e2 == nil && t > 0 {
							ld.Progress = ptr(float64(int(d/t*1000)) / 10)
						}
					}
				}
			}
			ld.setState(strings.Join(parts, ", "))
			if state == "clear" || state == "inactive" {
				ld.Condition = ConditionFailed
			}
		}
		members, err := fs.ReadDir(fsys, dir)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", ToolSysfsMD, dir, err)
		}
		var devs []string
		for _, m := range members {
			if strings.HasPrefix(m.Name(), "dev-") {
				devs = append(devs, m.Name())
			}
		}
		sort.Strings(devs)
		for _, d := range devs {
			dev := strings.TrimPrefix(d, "dev-")
			pd := PhysicalDrive{Device: ptr(dev), Array: ptr(name), Condition: ConditionUnknown}
			if v, ok := read(path.Join(dir, d, "state")); ok {
				pd.State = ptr(v)
				pd.Condition = mdDevCondition(v)
			}
			ld.Members = append(ld.Members, dev)
			ctrl.PhysicalDrives = append(ctrl.PhysicalDrives, pd)
		}
		ctrl.LogicalDrives = append(ctrl.LogicalDrives, ld)
	}
	return &System{Tool: ToolSysfsMD, Controllers: []Controller{ctrl}}, nil
}

// mdDevCondition maps a member's md/dev-*/state ("in_sync", "faulty",
// "spare", "write_mostly,in_sync", ...).
func mdDevCondition(s string) Condition {
	flags := strings.Split(s, ",")
	has := func(f string) bool {
		for _, x := range flags {
			if x == f {
				return true
			}
		}
		return false
	}
	switch {
	case has("faulty") || has("blocked"):
		return ConditionFailed
	case has("in_sync"):
		return ConditionOK
	case has("spare") && has("want_replacement") || has("replacement"):
		return ConditionRebuilding
	case has("spare"):
		return ConditionOK
	}
	return ConditionUnknown
}

// SysfsMD is a Source reading Linux md arrays from sysfs.
type SysfsMD struct {
	// FS is rooted at /sys; nil means the live /sys (Linux only).
	FS fs.FS
}

// Read implements Source.
func (s SysfsMD) Read(ctx context.Context) (*System, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	fsys := s.FS
	if fsys == nil {
		var err error
		if fsys, err = liveSysfs(); err != nil {
			return nil, err
		}
	}
	return ReadSysfsMD(fsys)
}
