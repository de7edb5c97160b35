package raidctl

import (
	"strings"
)

// writePolicy normalises a printed write-cache setting.
func writePolicy(s string) (WritePolicy, bool) {
	l := strings.ToLower(strings.TrimSpace(s))
	words := strings.FieldsFunc(l, func(r rune) bool {
		return (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-'
	})
	has := func(set ...string) bool {
		for _, w := range words {
			for _, x := range set {
				if w == x {
					return true
				}
			}
		}
		return false
	}
	switch {
	case l == "":
		return "", false
	case strings.Contains(l, "write-through") || strings.Contains(l, "write through") ||
		strings.Contains(l, "writethrough") || has("wt"):
		return WriteThrough, true
	case strings.Contains(l, "write-back") || strings.Contains(l, "write back") ||
		strings.Contains(l, "writeback") || has("wb", "awb"):
		return WriteBack, true
	case strings.HasPrefix(l, "disabled") || strings.HasPrefix(l, "not supported") || l == "off" || l == "none":
		return WriteNone, true
	case strings.HasPrefix(l, "enabled") || l == "on":
		// arcconf "Caching : Enabled" / "Write-cache status : On": the
		// controller caches writes.
		return WriteBack, true
	}
	return "", false
}

// setWriteCache records the printed policy and its normalised form.
func (ld *LogicalDrive) setWriteCache(text string) {
	ld.WriteCacheText = ptr(text)
	if p, ok := writePolicy(text); ok {
		ld.WriteCache = ptr(p)
	} else {
		ld.WriteCache = nil
	}
}

// setState records the printed state and its condition.
func (ld *LogicalDrive) setState(text string) { ld.setStateAs(text, condition) }

// setStateAs records the printed state and the condition cond reads from
// it.
func (ld *LogicalDrive) setStateAs(text string, cond func(string) Condition) {
	ld.State = ptr(text)
	ld.Condition = cond(text)
}

// setMergeGroup records a ServeRAID merge group and what it implies: groups
// 1-8 are shared, 200 and up are not (heartbeat/ServeRAID; NOTES.md §2).
func (ld *LogicalDrive) setMergeGroup(mg int) {
	ld.MergeGroup = ptr(mg)
	switch {
	case mg >= 1 && mg <= 8:
		ld.Shared = ptr(true)
	case mg >= 200:
		ld.Shared = ptr(false)
	default:
		ld.Shared = nil
	}
}

// setLevel records a RAID level when it can be read.
func (ld *LogicalDrive) setLevel(text string) {
	if lv, ok := raidLevel(text); ok {
		ld.RAIDLevel = ptr(lv)
	}
}

// setSize records the printed size and its byte count.
func (ld *LogicalDrive) setSize(text string) {
	ld.SizeText = ptr(text)
	if b, ok := parseSize(text); ok {
		ld.SizeBytes = ptr(b)
	}
}

// setStateAs records a drive's printed state and the condition cond reads
// from it.
func (pd *PhysicalDrive) setStateAs(text string, cond func(string) Condition) {
	pd.State = ptr(text)
	pd.Condition = cond(text)
}

// setSize records a drive's byte count read from printed text ("1.9 TB").
func (pd *PhysicalDrive) setSize(text string) {
	if b, ok := parseSize(text); ok {
		pd.SizeBytes = ptr(b)
	}
}

// isRule reports whether s is a dashed or '=' underline.
func isRule(s string) bool {
	t := strings.TrimSpace(s)
	if len(t) < 3 {
		return false
	}
	return strings.Trim(t, "-") == "" || strings.Trim(t, "=") == ""
}

// unknownConditionFor returns ConditionUnknown for empty strings, so zero
// values never read as healthy.
func normalizeConditions(c *Controller) {
	for i := range c.LogicalDrives {
		if c.LogicalDrives[i].Condition == "" {
			c.LogicalDrives[i].Condition = ConditionUnknown
		}
	}
	for i := range c.PhysicalDrives {
		if c.PhysicalDrives[i].Condition == "" {
			c.PhysicalDrives[i].Condition = ConditionUnknown
		}
	}
	for i := range c.Arrays {
		if c.Arrays[i].Condition == "" {
			c.Arrays[i].Condition = ConditionUnknown
		}
	}
}
