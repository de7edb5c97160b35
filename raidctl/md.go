package raidctl

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
)

// ToolMdstat is the Tool of /proc/mdstat.
const ToolMdstat Tool = "mdstat"

// ToolMdadm is the Tool of mdadm --detail /dev/mdN [...].
const ToolMdadm Tool = "mdadm"

// detectMdadm is the signature Detect looks for.
var detectMdadm = regexp.MustCompile(`(?m)^\s*/dev/\S+:\s*$`)

// detectMdstat is the signature Detect looks for.
var detectMdstat = regexp.MustCompile(`(?m)^\s*Personalities :`)

var (
	mdDetailDevRe  = regexp.MustCompile(`^(/dev/\S+):$`)
	mdTableHdrRe   = regexp.MustCompile(`^Number\s+Major\s+Minor\s+RaidDevice(\s+State)?$`)
	mdPercentRe    = regexp.MustCompile(`(\d+(?:\.\d+)?)%`)
	mdstatArrayRe  = regexp.MustCompile(`^(md\w*)\s*:\s*(active|inactive)(?:\s+\((?:auto-)?read-only\))?(.*)$`)
	mdstatDevRe    = regexp.MustCompile(`^([\w.-]+)\[(\d+)\]((?:\([A-Za-z]\))*)$`)
	mdstatBlocksRe = regexp.MustCompile(`^(\d+) blocks`)
	mdstatCountRe  = regexp.MustCompile(`\[(\d+)/(\d+)\]`)
	mdstatProgRe   = regexp.MustCompile(`(recovery|resync|reshape|check|repair)\s*=\s*(\d+(?:\.\d+)?)%`)
)

// mdController returns the pseudo-controller Linux md arrays hang from.
// md has no controller pairing, cache or battery: those fields stay unknown.
func mdController() Controller {
	return Controller{ID: "md", Vendor: "Linux md"}
}

// ParseMdadmDetail reads `mdadm --detail /dev/mdN [/dev/mdM ...]`. Each
// array block must end with its device table (Number Major Minor RaidDevice
// State), listing at least "Raid Devices" rows; a row must end in its
// /dev/ device (only a removed slot has none), and a last row without its
// line end is taken as cut.
func ParseMdadmDetail(data []byte) (*System, error) {
	const tool = ToolMdadm
	ls := splitLines(data)
	first := firstNonEmpty(ls)
	if !mdDetailDevRe.MatchString(strings.TrimSpace(first.text)) {
		return nil, &ParseError{Tool: tool, Line: first.n, Err: ErrForeign,
			Expected: `"/dev/mdN:" as the first line`, Got: first.text}
	}
	p := &mdDetailParser{ctrl: mdController()}
	for _, l := range ls {
		t := strings.TrimSpace(l.text)
		if t == "" {
			continue
		}
		if m := mdDetailDevRe.FindStringSubmatch(t); m != nil {
			if err := p.finish(l.n - 1); err != nil {
				return nil, err
			}
			p.ld = &LogicalDrive{ID: m[1], Condition: ConditionUnknown}
			p.start, p.inTable, p.rows, p.raidDevs, p.stateText = l.n, false, 0, -1, ""
			continue
		}
		if p.ld == nil {
			continue
		}
		if mdTableHdrRe.MatchString(t) {
			p.inTable = true
			continue
		}
		var err error
		if p.inTable {
			// The last row of a capture cut mid-line: its device name or
			// state may be cut short.
			cut := l.n == len(ls) && !bytes.HasSuffix(data, []byte("\n"))
			err = p.deviceRow(l, t, cut)
		} else {
			err = p.keyLine(l, t)
		}
		if err != nil {
			return nil, err
		}
	}
	if err := p.finish(len(ls)); err != nil {
		return nil, err
	}
	normalizeConditions(&p.ctrl)
	return &System{Tool: tool, Controllers: []Controller{p.ctrl}}, nil
}

// mdDetailParser is the state of ParseMdadmDetail: the array being read.
type mdDetailParser struct {
	ctrl      Controller
	ld        *LogicalDrive
	start     int
	inTable   bool
	rows      int
	raidDevs  int
	stateText string
}

// finish checks that the array being read has its whole device table and
// adds it.
func (p *mdDetailParser) finish(at int) error {
	ld := p.ld
	if ld == nil {
		return nil
	}
	if !p.inTable {
		return &ParseError{Tool: ToolMdadm, Line: at, Err: ErrTruncated,
			Expected: fmt.Sprintf("the device table (Number Major Minor RaidDevice State) of %s (line %d)", ld.ID, p.start)}
	}
	if p.raidDevs > 0 && p.rows < p.raidDevs {
		return &ParseError{Tool: ToolMdadm, Line: at, Err: ErrTruncated,
			Expected: fmt.Sprintf("%d device rows for %s (Raid Devices), found %d", p.raidDevs, ld.ID, p.rows)}
	}
	if p.stateText != "" {
		ld.setState(p.stateText)
	}
	p.ctrl.LogicalDrives = append(p.ctrl.LogicalDrives, *ld)
	p.ld = nil
	return nil
}

// deviceRow reads a row of the device table; cut says the capture ends
// inside it.
func (p *mdDetailParser) deviceRow(l line, t string, cut bool) error {
	const tool = ToolMdadm
	f := strings.Fields(t)
	_, okMaj := atoi(f[min(1, len(f)-1)])
	if len(f) < 5 || !okMaj {
		return &ParseError{Tool: tool, Line: l.n, Err: ErrTruncated,
			Expected: "a device row: Number Major Minor RaidDevice State [device]", Got: t}
	}
	if cut {
		return &ParseError{Tool: tool, Line: l.n, Err: ErrTruncated,
			Expected: "the line end of the last device row", Got: t}
	}
	if !strings.HasPrefix(f[len(f)-1], "/dev/") && !strings.Contains(strings.ToLower(t), "removed") {
		// Only a removed slot has no device.
		return &ParseError{Tool: tool, Line: l.n, Err: ErrTruncated,
			Expected: "a device row ending in its /dev/ device (or a removed slot)", Got: t}
	}
	p.rows++
	state := strings.Join(f[4:], " ")
	pd := PhysicalDrive{Condition: ConditionUnknown}
	if strings.HasPrefix(f[len(f)-1], "/dev/") {
		pd.Device = ptr(f[len(f)-1])
		state = strings.Join(f[4:len(f)-1], " ")
		p.ld.Members = append(p.ld.Members, f[len(f)-1])
	}
	pd.State = ptr(state)
	pd.Condition = condition(state)
	pd.Array = ptr(p.ld.ID)
	p.ctrl.PhysicalDrives = append(p.ctrl.PhysicalDrives, pd)
	return nil
}

// keyLine reads an array's "Key : value" line.
func (p *mdDetailParser) keyLine(l line, t string) error {
	key, val, ok := keyValue(t, " : ")
	if !ok {
		key, val, ok = keyValue(t, ":")
	}
	if !ok {
		return &ParseError{Tool: ToolMdadm, Line: l.n, Err: ErrSyntax, Expected: `"Key : value"`, Got: t}
	}
	ld := p.ld
	switch normKey(key) {
	case "raid level":
		ld.setLevel(val)
	case "array size":
		kib, _, _ := strings.Cut(val, " ")
		ld.setSize(kib + " KB")
		ld.SizeText = ptr(val)
	case "state":
		p.stateText = val
	case "rebuild status", "resync status", "reshape status", "check status":
		if m := mdPercentRe.FindStringSubmatch(val); m != nil {
			var pc float64
			fmt.Sscan(m[1], &pc)
			ld.Progress = ptr(pc)
		}
	case "uuid":
		ld.UUID = ptr(val)
	case "name":
		ld.Name = ptr(val)
	case "raid devices":
		if n, ok := atoi(val); ok {
			p.raidDevs = n
		}
	}
	return nil
}

// ParseMdstat reads /proc/mdstat. It must start with "Personalities :" and
// end with the "unused devices:" line the kernel always prints last.
func ParseMdstat(data []byte) (*System, error) {
	const tool = ToolMdstat
	ls := splitLines(data)
	first := firstNonEmpty(ls)
	if !strings.HasPrefix(strings.TrimSpace(first.text), "Personalities :") {
		return nil, &ParseError{Tool: tool, Line: first.n, Err: ErrForeign,
			Expected: `"Personalities : ..." as the first line`, Got: first.text}
	}
	last := lastNonEmpty(ls)
	if !strings.HasPrefix(strings.TrimSpace(last.text), "unused devices:") {
		return nil, &ParseError{Tool: tool, Line: last.n, Err: ErrTruncated,
			Expected: `"unused devices: ..." as the last line`, Got: last.text}
	}
	ctrl := mdController()
	var ld *LogicalDrive
	var sawBlocks bool
	var start int
	finish := func(at int) error {
		if ld == nil {
			return nil
		}
		if !sawBlocks {
			return &ParseError{Tool: tool, Line: at, Err: ErrTruncated,
				Expected: fmt.Sprintf("the \"N blocks ...\" line of %s (line %d)", ld.ID, start)}
		}
		ctrl.LogicalDrives = append(ctrl.LogicalDrives, *ld)
		ld = nil
		return nil
	}
	for _, l := range ls {
		if l.n <= first.n || l.n >= last.n {
			continue
		}
		t := strings.TrimSpace(l.text)
		if t == "" {
			continue
		}
		if m := mdstatArrayRe.FindStringSubmatch(t); m != nil {
			if err := finish(l.n); err != nil {
				return nil, err
			}
			var err error
			if ld, err = mdstatArray(l, m, &ctrl); err != nil {
				return nil, err
			}
			start, sawBlocks = l.n, false
			continue
		}
		if ld == nil {
			return nil, &ParseError{Tool: tool, Line: l.n, Err: ErrSyntax, Expected: `"mdN : active|inactive ..." array line`, Got: t}
		}
		if mdstatDetail(ld, t, &sawBlocks) {
			continue
		}
		return nil, &ParseError{Tool: tool, Line: l.n, Err: ErrSyntax,
			Expected: "a blocks, progress or bitmap line", Got: t}
	}
	if err := finish(last.n); err != nil {
		return nil, err
	}
	normalizeConditions(&ctrl)
	return &System{Tool: tool, Controllers: []Controller{ctrl}}, nil
}

// mdstatArray reads an array line ("md0 : active raid1 sda1[0] sdb1[1](F)",
// m its match) into its logical drive, adding its members to ctrl.
func mdstatArray(l line, m []string, ctrl *Controller) (*LogicalDrive, error) {
	ld := &LogicalDrive{ID: m[1], Condition: ConditionUnknown}
	state := m[2]
	f := strings.Fields(m[3])
	if len(f) > 0 && !mdstatDevRe.MatchString(f[0]) {
		ld.setLevel(f[0])
		f = f[1:]
	}
	for _, d := range f {
		dm := mdstatDevRe.FindStringSubmatch(d)
		if dm == nil {
			return nil, &ParseError{Tool: ToolMdstat, Line: l.n, Err: ErrSyntax, Expected: "member devices as name[n]", Got: d}
		}
		pd := PhysicalDrive{Device: ptr(dm[1]), Array: ptr(ld.ID), State: ptr("in_sync"), Condition: ConditionOK}
		switch {
		case strings.Contains(dm[3], "(F)"):
			pd.State, pd.Condition = ptr("faulty"), ConditionFailed
		case strings.Contains(dm[3], "(S)"):
			pd.State = ptr("spare")
		case strings.Contains(dm[3], "(W)"):
			pd.State = ptr("write-mostly")
		}
		ctrl.PhysicalDrives = append(ctrl.PhysicalDrives, pd)
		ld.Members = append(ld.Members, dm[1])
	}
	ld.setState(state)
	return ld, nil
}

// mdstatDetail reads a line under an array line: its first "N blocks"
// line (size, and [n/m] members up), a recovery/resync/reshape progress
// line, or a bitmap or delayed/pending line. false for any other line.
func mdstatDetail(ld *LogicalDrive, t string, sawBlocks *bool) bool {
	if m := mdstatBlocksRe.FindStringSubmatch(t); m != nil && !*sawBlocks {
		*sawBlocks = true
		ld.setSize(m[1] + " KB")
		if c := mdstatCountRe.FindStringSubmatch(t); c != nil {
			want, _ := atoi(c[1])
			have, _ := atoi(c[2])
			if have < want {
				ld.setState(*ld.State + ", degraded")
			}
		}
		return true
	}
	if m := mdstatProgRe.FindStringSubmatch(t); m != nil {
		var p float64
		fmt.Sscan(m[2], &p)
		ld.Progress = ptr(p)
		ld.setState(*ld.State + ", " + m[1])
		return true
	}
	return strings.HasPrefix(t, "bitmap:") || strings.Contains(t, "=DELAYED") || strings.Contains(t, "=PENDING")
}
