package raidctl

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// ToolSsacli is the Tool of ssacli|hpssacli ctrl all show config detail.
const ToolSsacli Tool = "ssacli"

// detectSsacli is the signature Detect looks for.
var detectSsacli = regexp.MustCompile(`(?m)^\S.* in Slot \S+.*\r?\n(?:\s*\r?\n)*[ \t]+\S`)

var (
	// ssaSlotRe is a controller header: "Smart Array P410i in Slot 0
	// (Embedded)", "HPE Smart Array P408i-a SR Gen10 in Slot 0 (Embedded)".
	ssaSlotRe = regexp.MustCompile(`^(\S.*?) in Slot (\S+)`)
	// ssaInRe is a controller header without a slot ("MSA1500 CS in MY
	// STORAGE").
	ssaInRe     = regexp.MustCompile(`^(\S[^:]*?) in (\S[^:]*)$`)
	ssaArrayRe  = regexp.MustCompile(`^Array:? (\S+)$`)
	ssaLDRe     = regexp.MustCompile(`^Logical Drive: (\S+)$`)
	ssaPDRe     = regexp.MustCompile(`^physicaldrive (\S+)$`)
	ssaPDSumRe  = regexp.MustCompile(`^physicaldrive (\S+) \((.*)\)$`)
	ssaMirrorRe = regexp.MustCompile(`^Mirror Group \d+:$`)
	// ssaShortRe marks `ctrl all show config` (without detail) lines.
	ssaShortRe = regexp.MustCompile(`^(?:logicaldrive|array) \S+ \(`)
	ssaRatioRe = regexp.MustCompile(`(\d+)% Read / (\d+)% Write`)
)

// ParseSsacli reads `ssacli ctrl all show config detail` output (HPE Smart
// Array; hpssacli and hpacucli print the same format).
//
// Indentation carries the hierarchy: a controller header at the left
// margin ("Smart Array P410i in Slot 0 (Embedded)"), its settings, then
// port, enclosure and expander blocks, a "Physical Drives" list per drive
// cage, "Array: A" sections holding "Logical Drive: N" blocks (with
// "Mirror Group N:" member lists) and a section per physical drive, and an
// "Unassigned" section for drives in no array. Advisory banners before a
// controller ("FIRMWARE UPGRADE REQUIRED: ...") are skipped.
//
// ssacli prints no closing line and no counts, so completeness is proven
// per controller: every drive of its "Physical Drives" lists must have its
// own drive section, every drive and logical drive section must carry the
// lines the model is read from (Status, Size, Model, Serial Number; Status,
// Size, Fault Tolerance, Caching), and the capture must end with a line
// end. When a check fails, or a controller has no "Physical Drives" list to
// check against, the model carries a "may be truncated" warning. One cut
// cannot be seen: after a controller's last drive section and before the
// next controller's header, which reads as a complete report of fewer
// controllers; compare the controller count with `ssacli ctrl all show`.
//
// Write cache: a logical drive with "Caching: Enabled" caches writes when
// the controller's Cache Ratio gives writes a share (write-back), not when
// the ratio is 0% write or no cache board is present (none); with no ratio
// printed the policy stays unknown. Smart Array prints no shared-drive or
// cluster setting: those stay unknown. Drives are addressed as
// port:box:bay (PhysicalDrive.Location); box numbers repeat across ports,
// so Enclosure and Slot are not set.
func ParseSsacli(data []byte) (*System, error) {
	const tool = ToolSsacli
	ls := splitLines(data)
	p := ssaParser{sys: &System{Tool: tool}}
	for _, l := range ls {
		if err := p.line(l); err != nil {
			return nil, err
		}
	}
	if p.ctrl == nil && len(p.sys.Controllers) == 0 {
		first := firstNonEmpty(ls)
		return nil, &ParseError{Tool: tool, Line: first.n, Err: ErrForeign,
			Expected: `a controller header such as "Smart Array P410i in Slot 0 (Embedded)"`, Got: first.text}
	}
	p.finish()
	if t := strings.TrimRight(string(data), " \t\r"); t != "" && !strings.HasSuffix(t, "\n") {
		last := lastNonEmpty(ls)
		p.sys.Warnings = append(p.sys.Warnings, fmt.Sprintf("ssacli line %d: the capture ends without a line end: the last line may be cut and the output may be truncated", last.n))
	}
	return p.sys, nil
}

// ssaBlock is one open section: its kind and the indentation of its header.
type ssaBlock struct {
	kind   string // ctrl, array, unassigned, pdlist, ld, mirror, pd, other
	indent int
	// keyIndent is the indentation of the block's own key lines (the
	// first one seen); deeper key lines belong to sub-blocks the parser
	// does not read.
	keyIndent int
}

type ssaParser struct {
	sys   *System
	ctrl  *Controller
	stack []ssaBlock

	array *Array
	ld    *LogicalDrive
	pd    *PhysicalDrive
	keys  map[string]bool // the current drive or logical drive's keys

	// Per controller: drives in the "Physical Drives" lists, the drive
	// sections seen, the lines each section had, and the settings that
	// decide the write cache.
	listed   []string
	listSeen bool
	sections map[string]bool
	pdKeys   []map[string]bool
	ldKeys   []map[string]bool
	ratio    string
	board    *bool
	battery  *Battery
	// repeated: the line before repeated the controller's header, as
	// ssacli does before each drive summary of a Smart HBA in RAID mode.
	repeated bool
}

func (p *ssaParser) warn(format string, args ...any) {
	p.sys.Warnings = append(p.sys.Warnings, "ssacli: "+fmt.Sprintf(format, args...))
}

func indentOf(s string) int {
	return len(s) - len(strings.TrimLeft(s, " \t"))
}

func (p *ssaParser) line(l line) error {
	t := strings.TrimSpace(l.text)
	if t == "" {
		return nil
	}
	ind := indentOf(l.text)
	if ssaShortRe.MatchString(t) {
		return &ParseError{Tool: ToolSsacli, Line: l.n, Err: ErrForeign,
			Expected: "`ssacli ctrl all show config detail` output (this line is from `ctrl all show config` without detail)", Got: t}
	}
	repeated := p.repeated
	p.repeated = false
	if p.repeatsHeader(t) {
		// Smart HBA H240ar (ssacli in RAID mode) prints its header again
		// before each drive of a Physical Drives list or mirror group,
		// at the margin or at the drive's indent: the drive that follows
		// still belongs to the block open before it.
		p.repeated = true
		return nil
	}
	if ind == 0 {
		return p.header(l, t)
	}
	if p.ctrl == nil {
		return nil // banner continuation
	}
	if !repeated || !ssaPDSumRe.MatchString(t) {
		for len(p.stack) > 1 && p.stack[len(p.stack)-1].indent >= ind {
			p.pop()
		}
	}
	top := &p.stack[len(p.stack)-1]
	if p.block(top.kind, t, ind) {
		return nil
	}
	p.keyLine(top, t, ind)
	return nil
}

// repeatsHeader reports whether t is the header of the controller being
// read again ("Smart HBA H240ar in Slot 0 (Embedded)" after "Smart HBA
// H240ar in Slot 0 (Embedded) (RAID Mode)"): two controllers never share
// a slot.
func (p *ssaParser) repeatsHeader(t string) bool {
	m := ssaSlotRe.FindStringSubmatch(t)
	return p.ctrl != nil && m != nil && p.ctrl.Model != nil && m[1] == *p.ctrl.Model && m[2] == p.ctrl.ID
}

// header reads an unindented line: a controller header, a tool error or an
// advisory banner.
func (p *ssaParser) header(l line, t string) error {
	if m := ssaSlotRe.FindStringSubmatch(t); m != nil {
		p.start(m[1], m[2])
		return nil
	}
	if m := ssaInRe.FindStringSubmatch(t); m != nil {
		p.start(m[1], m[2])
		return nil
	}
	if strings.HasPrefix(t, "Error:") {
		return &ParseError{Tool: ToolSsacli, Line: l.n, Err: ErrToolFailed, Got: t}
	}
	// An advisory banner: it and its indented continuation lines come
	// before a controller header.
	p.finish()
	return nil
}

// block reads a line that opens a block inside the block of kind top (an
// array, Unassigned, a Physical Drives list, a logical drive, a mirror
// group, a drive section) or is a drive's one-line summary in a list.
func (p *ssaParser) block(top, t string, ind int) bool {
	switch {
	case top == "ctrl" && ssaArrayRe.MatchString(t):
		p.ctrl.Arrays = append(p.ctrl.Arrays, Array{ID: ssaArrayRe.FindStringSubmatch(t)[1], Condition: ConditionUnknown})
		p.array = &p.ctrl.Arrays[len(p.ctrl.Arrays)-1]
		p.push("array", ind)
		return true
	case top == "ctrl" && t == "Unassigned":
		p.push("unassigned", ind)
		return true
	case top == "ctrl" && t == "Physical Drives":
		p.listSeen = true
		p.push("pdlist", ind)
		return true
	case top == "array" && ssaLDRe.MatchString(t):
		p.ld = &LogicalDrive{ID: ssaLDRe.FindStringSubmatch(t)[1], Condition: ConditionUnknown, Array: ptr(p.array.ID)}
		p.keys = map[string]bool{}
		p.push("ld", ind)
		return true
	case top == "ld" && ssaMirrorRe.MatchString(t):
		p.push("mirror", ind)
		return true
	}
	if m := ssaPDSumRe.FindStringSubmatch(t); m != nil {
		switch top {
		case "pdlist":
			p.listed = append(p.listed, m[1])
		case "mirror":
			p.ld.Members = append(p.ld.Members, m[1])
		}
		return true
	}
	if m := ssaPDRe.FindStringSubmatch(t); m != nil && (top == "array" || top == "unassigned" || top == "ctrl") {
		p.pd = &PhysicalDrive{Condition: ConditionUnknown, Location: ptr(m[1])}
		if top == "array" {
			p.pd.Array = ptr(p.array.ID)
			p.array.Members = append(p.array.Members, m[1])
		}
		p.sections[m[1]] = true
		p.keys = map[string]bool{}
		p.push("pd", ind)
		return true
	}
	return false
}

// keyLine reads a "Key: value" line of the block top, or opens a block
// this parser does not read (enclosure, expander, SEP, drive cage).
func (p *ssaParser) keyLine(top *ssaBlock, t string, ind int) {
	key, val, ok := ssaKeyValue(t)
	if !ok {
		if top.kind == "ctrl" {
			p.push("other", ind) // enclosure, expander, SEP, drive cage
		}
		return
	}
	if top.keyIndent == 0 {
		top.keyIndent = ind
	}
	if ind > top.keyIndent {
		return // a key of a sub-block ("Port Name: 1I", then "Port ID: 0")
	}
	k := normKey(key)
	switch top.kind {
	case "ctrl":
		p.ctrlKey(k, val)
	case "array":
		if k == "status" {
			p.array.State = ptr(val)
			p.array.Condition = ssaCondition(val)
		}
	case "ld":
		p.keys[k] = true
		p.ldKey(k, val)
	case "pd":
		p.keys[k] = true
		p.pdKey(k, val)
	}
}

func (p *ssaParser) push(kind string, indent int) {
	p.stack = append(p.stack, ssaBlock{kind: kind, indent: indent})
}

func (p *ssaParser) pop() {
	b := p.stack[len(p.stack)-1]
	p.stack = p.stack[:len(p.stack)-1]
	switch b.kind {
	case "ld":
		p.ctrl.LogicalDrives = append(p.ctrl.LogicalDrives, *p.ld)
		p.ldKeys = append(p.ldKeys, p.keys)
		p.ld, p.keys = nil, nil
	case "pd":
		p.ctrl.PhysicalDrives = append(p.ctrl.PhysicalDrives, *p.pd)
		p.pdKeys = append(p.pdKeys, p.keys)
		p.pd, p.keys = nil, nil
	case "array":
		p.array = nil
	}
}

// start opens a controller (closing the one before).
func (p *ssaParser) start(model, slot string) {
	p.finish()
	vendor := "HP"
	if strings.HasPrefix(model, "HPE ") {
		vendor = "HPE"
	}
	p.ctrl = &Controller{ID: slot, Vendor: vendor, Model: ptr(model)}
	p.stack = []ssaBlock{{kind: "ctrl"}}
	p.listed, p.listSeen, p.pdKeys, p.ldKeys = nil, false, nil, nil
	p.sections = map[string]bool{}
	p.ratio, p.board, p.battery = "", nil, nil
}

// finish closes the open controller: its write-cache policies, battery and
// completeness checks.
func (p *ssaParser) finish() {
	if p.ctrl == nil {
		return
	}
	for len(p.stack) > 1 {
		p.pop()
	}
	c := p.ctrl
	c.Battery = p.battery
	for i := range c.LogicalDrives {
		p.writeCache(&c.LogicalDrives[i])
	}
	id := "slot " + c.ID
	for i, pd := range c.PhysicalDrives {
		for _, want := range []string{"status", "size", "model", "serial number"} {
			if !p.pdKeys[i][want] {
				p.warn("controller %s: physicaldrive %s has no %q line: the output may be truncated", id, *pd.Location, want)
				break
			}
		}
	}
	for i, ld := range c.LogicalDrives {
		for _, want := range []string{"status", "size", "fault tolerance", "caching"} {
			if !p.ldKeys[i][want] {
				p.warn("controller %s: logical drive %s has no %q line: the output may be truncated", id, ld.ID, want)
				break
			}
		}
	}
	switch {
	case len(c.PhysicalDrives) == 0:
		p.warn("controller %s: no drive sections: the output may be truncated", id)
	case !p.listSeen:
		p.warn("controller %s: no %q list to check the drive sections against: the output may be truncated", id, "Physical Drives")
	default:
		var missing []string
		for _, d := range p.listed {
			if !p.sections[d] {
				missing = append(missing, d)
			}
		}
		if len(missing) > 0 {
			p.warn("controller %s: %d of %d listed drives have no drive section (%s): the output may be truncated", id, len(missing), len(p.listed), strings.Join(missing, ", "))
		}
	}
	normalizeConditions(c)
	p.sys.Controllers = append(p.sys.Controllers, *c)
	p.ctrl, p.stack = nil, nil
}

func (p *ssaParser) ctrlKey(k, v string) {
	c := p.ctrl
	switch k {
	case "serial number":
		c.Serial = textOrNil(v)
	case "firmware version":
		c.Firmware = ptr(v)
	case "controller status":
		c.Status = ptr(v)
	case "pci address (domain:bus:device.function)":
		c.PCIAddress = ptr(strings.ToLower(v))
	case "cache ratio":
		p.ratio = v
	case "cache board present":
		p.board = yesNo(v)
	case "battery/capacitor count":
		if n, ok := atoi(v); ok {
			p.bat().Present = ptr(n > 0)
		}
	case "battery/capacitor status":
		b := p.bat()
		b.State = ptr(v)
		switch l := strings.ToLower(v); {
		case l == "ok":
			b.Failed = ptr(false)
		case strings.Contains(l, "fail"):
			b.Failed = ptr(true)
		}
	case "cache backup power source":
		p.bat().Model = ptr(v)
	}
}

func (p *ssaParser) bat() *Battery {
	if p.battery == nil {
		p.battery = &Battery{}
	}
	return p.battery
}

func (p *ssaParser) ldKey(k, v string) {
	ld := p.ld
	switch k {
	case "size":
		ld.setSize(v)
	case "fault tolerance":
		if lv, ok := ssaLevel(v); ok {
			ld.RAIDLevel = ptr(lv)
		}
	case "status":
		ld.setStateAs(v, ssaCondition)
	case "caching":
		ld.WriteCacheText = ptr("Caching: " + v)
	case "unique identifier":
		ld.UUID = ptr(v)
	}
}

func (p *ssaParser) pdKey(k, v string) {
	pd := p.pd
	switch k {
	case "status":
		pd.setStateAs(v, ssaCondition)
	case "size":
		pd.setSize(v)
	case "model":
		if f := strings.Fields(v); len(f) > 0 {
			pd.Model = ptr(strings.Join(f, " "))
		}
	case "serial number":
		pd.Serial = textOrNil(v)
	}
}

// writeCache sets a logical drive's policy from its Caching line and the
// controller's cache settings.
func (p *ssaParser) writeCache(ld *LogicalDrive) {
	if ld.WriteCacheText == nil {
		return
	}
	on := yesNo(strings.TrimPrefix(*ld.WriteCacheText, "Caching: "))
	if p.ratio != "" {
		ld.WriteCacheText = ptr(*ld.WriteCacheText + "; Cache Ratio: " + p.ratio)
	}
	switch {
	case on == nil:
	case !*on || (p.board != nil && !*p.board):
		ld.WriteCache = ptr(WriteNone)
	default:
		if m := ssaRatioRe.FindStringSubmatch(p.ratio); m != nil {
			if m[2] == "0" {
				ld.WriteCache = ptr(WriteNone)
			} else {
				ld.WriteCache = ptr(WriteBack)
			}
		}
	}
}

// textOrNil is v, or nil (not printed) when v is empty.
func textOrNil(v string) *string {
	if v == "" {
		return nil
	}
	return &v
}

// ssaKeyValue splits "Key: value" at the first colon followed by a blank
// ("PCI Address (Domain:Bus:Device.Function): 0000:03:00.0"), else at the
// first colon ("Serial Number:REDACTED").
func ssaKeyValue(s string) (key, value string, ok bool) {
	if i := strings.Index(s, ": "); i >= 0 {
		return strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+2:]), true
	}
	return keyValue(s, ":")
}

// ssaLevel maps Smart Array's "Fault Tolerance" onto a RAID level: "1+0"
// is RAID 10, "ADG" (advanced data guarding) RAID 6.
func ssaLevel(v string) (string, bool) {
	t := strings.ToUpper(strings.TrimSpace(v))
	t = strings.TrimSpace(strings.TrimPrefix(t, "RAID"))
	switch t {
	case "":
		return "", false
	case "ADG", "6 (ADG)":
		return "6", true
	}
	t = strings.ReplaceAll(t, "+0", "0")
	if _, err := strconv.Atoi(strings.TrimSuffix(t, "ADM")); err != nil {
		return "", false
	}
	return t, true
}

// ssaCondition maps a Smart Array status. "Interim Recovery Mode" is a
// fault-tolerant drive running without one of its members.
func ssaCondition(v string) Condition {
	l := strings.ToLower(v)
	switch {
	case strings.Contains(l, "interim recovery"):
		return ConditionDegraded
	case strings.Contains(l, "ready for rebuild"):
		return ConditionDegraded
	}
	return condition(v)
}
