package raidctl

import (
	"fmt"
	"regexp"
	"strings"
)

// ToolStorcliText is the Tool of storcli /call show all (text).
const ToolStorcliText Tool = "storcli-text"

// detectStorText is the signature Detect looks for.
var detectStorText = regexp.MustCompile(`(?m)^Controller = \d+\r?\n(?:[^\n]*\n)?Status = `)

var (
	storcliCtrlRe  = regexp.MustCompile(`^Controller = (\d+)$`)
	storcliDrvRe   = regexp.MustCompile(`^Drive /c\d+/e(\d+)/s(\d+)(?: (Device attributes))?$`)
	storcliCountRe = regexp.MustCompile(`^(Virtual Drives|Physical Drives) = (\d+)$`)
	// storcliCtrlPartRe is a controller header cut in its number.
	storcliCtrlPartRe = regexp.MustCompile(`^Controller = \d*$`)
)

// ParseStorcliText reads the human-readable `storcli /call show all` (or
// `/cN show all`) output. Prefer the JSON form (ParseStorcliJSON); this one
// exists for captures sent as text.
//
// Tables are read by their header names. Truncation is caught when a table
// lacks its closing rule, when a section title has no body, and when the
// "Virtual Drives = N" / "Physical Drives = N" counts disagree with the
// rows listed. The text has no end marker: when the last controller's
// block does not end as storcli ends one (PD LIST, its legend, at most the
// Cachevault_Info or BBU_Info table), the model carries a "may be
// truncated" warning. A controller in HBA mode (IT firmware) prints no PD
// LIST: its drives are the "Drive /cX/eY/sZ" sections under Physical
// Device Information, whole when there are as many as the Enclosure
// Information table's PD column counts and the last reaches its Inquiry
// Data; else the same warning. One cut cannot be seen: exactly between two
// controllers' blocks (before the next "Generating detailed summary"
// banner), which reads as a complete report of fewer controllers; compare
// the controller count with the machine's, or use the JSON form.
func ParseStorcliText(data []byte) (*System, error) {
	p := &storTextParser{ls: splitLines(data), sys: &System{Tool: ToolStorcliText}}
	for p.i = 0; p.i < len(p.ls); p.i++ {
		if err := p.line(); err != nil {
			return nil, err
		}
	}
	if err := p.end(); err != nil {
		return nil, err
	}
	if err := p.finishController(len(p.ls), true); err != nil {
		return nil, err
	}
	return p.sys, nil
}

// storTextParser is the state of ParseStorcliText: the controller block
// being read and what it has shown so far.
type storTextParser struct {
	ls  []line
	i   int // index in ls of the line being read
	sys *System

	ctrl        *Controller
	section     string
	table       *textTable
	counts      map[string]int
	countLine   map[string]int
	listed      map[string]int
	lastTitle   line
	bodySeen    bool
	sections    map[string]bool // section titles seen in this controller's block
	afterPD     map[string]bool // section titles after its PD LIST
	legend      bool            // the PD LIST legend was read whole
	legendStart bool
	// HBA form (drives only under Physical Device Information): the last
	// drive section reached its Inquiry Data line.
	inquiry bool
}

// line reads ls[i]: a table line, a controller header, a section title or
// a line of the current section.
func (p *storTextParser) line() error {
	l := p.ls[p.i]
	t := strings.TrimSpace(l.text)
	next := ""
	if p.i+1 < len(p.ls) {
		next = strings.TrimSpace(p.ls[p.i+1].text)
	}
	if p.table != nil {
		return p.tableLine(l, t)
	}
	if t == "" {
		return nil
	}
	if m := storcliCtrlRe.FindStringSubmatch(t); m != nil && strings.HasPrefix(next, "Status = ") {
		if err := p.finishController(l.n, false); err != nil {
			return err
		}
		p.ctrl = &Controller{ID: m[1], Vendor: "Broadcom/LSI"}
		p.counts, p.countLine, p.listed = map[string]int{}, map[string]int{}, map[string]int{}
		p.section, p.sections, p.afterPD, p.legend = "", map[string]bool{}, map[string]bool{}, false
		p.legendStart = false
		return nil
	}
	if strings.HasSuffix(t, " :") && strings.Trim(next, "=") == "" && next != "" {
		return p.title(l, t)
	}
	if p.ctrl == nil {
		return nil // banner lines ("Generating detailed summary ..."), CLI version
	}
	p.bodySeen = true
	// The legend after PD LIST: whole once its last line (CFShld-...) is
	// read.
	if strings.HasPrefix(t, "EID-Enclosure Device ID") || strings.HasPrefix(t, "EID=Enclosure Device ID") {
		p.legendStart = true
	}
	if p.legendStart && strings.HasPrefix(t, "CFShld-") && strings.HasSuffix(t, "Shielded") {
		p.legend = true
	}
	if strings.Trim(t, "-") == "" {
		p.table = &textTable{section: p.section, rules: 1, start: l.n}
		return nil
	}
	key, val, ok := keyValue(t, " = ")
	if !ok {
		key, val, ok = keyValue(t, "=")
	}
	if !ok {
		return nil // legends and wrapped text
	}
	if key == "Inquiry Data" {
		p.inquiry = true
	}
	if m := storcliCountRe.FindStringSubmatch(t); m != nil {
		n, _ := atoi(m[2])
		p.counts[m[1]], p.countLine[m[1]] = n, l.n
		return nil
	}
	p.keyValue(l, key, val)
	return nil
}

// tableLine reads a line inside a table: its rules, header and rows.
func (p *storTextParser) tableLine(l line, t string) error {
	if strings.Trim(t, "-") == "" && t != "" {
		p.table.rules++
		if p.table.rules == 3 {
			if err := p.table.finish(p.ctrl, p.listed); err != nil {
				return err
			}
			p.table = nil
		}
		return nil
	}
	switch p.table.rules {
	case 1:
		p.table.header = strings.Fields(t)
	case 2:
		if err := p.table.row(ToolStorcliText, l); err != nil {
			return err
		}
	}
	p.bodySeen = true
	return nil
}

// title starts a section ("Basics :" over its "=====" underline).
func (p *storTextParser) title(l line, t string) error {
	if p.ctrl == nil {
		return &ParseError{Tool: ToolStorcliText, Line: l.n, Err: ErrForeign,
			Expected: `"Controller = N" and "Status = ..." before the first section`, Got: t}
	}
	p.section = strings.TrimSuffix(t, " :")
	if m := storcliDrvRe.FindStringSubmatch(p.section); m != nil && m[3] == "" {
		p.inquiry = false
	}
	if p.sections["PD LIST"] {
		p.afterPD[p.section] = true
	}
	p.sections[p.section] = true
	p.lastTitle, p.bodySeen = l, false
	p.i++ // skip the underline
	return nil
}

// keyValue hands a "Key = value" line to its section's reader.
func (p *storTextParser) keyValue(l line, key, val string) {
	ctrl := p.ctrl
	switch p.section {
	case "":
		if key == "Status" && !strings.EqualFold(val, "Success") {
			p.sys.Warnings = append(p.sys.Warnings, fmt.Sprintf("storcli line %d: controller %s command status %q; data read anyway", l.n, ctrl.ID, val))
		}
	case "Basics", "Version", "Status":
		storTextControllerKey(ctrl, p.section, key, val)
	case "Supported Adapter Operations", "High Availability":
		storTextClusterKey(&ctrl.Cluster, p.section, key, val)
	case "HwCfg":
		if key == "BBU" {
			if ctrl.Battery == nil {
				ctrl.Battery = &Battery{}
			}
			ctrl.Battery.Present = yesNo(val)
		}
	default:
		storTextDriveKey(ctrl, p.section, key, val)
	}
}

// storTextControllerKey reads the controller's own sections: Basics,
// Version and Status.
func storTextControllerKey(ctrl *Controller, section, key, val string) {
	switch section + "/" + key {
	case "Basics/Model":
		ctrl.Model = ptr(val)
	case "Basics/Serial Number":
		ctrl.Serial = ptr(val)
	case "Basics/PCI Address":
		ctrl.PCIAddress = ptr(val)
	case "Version/Firmware Version":
		ctrl.Firmware = ptr(val)
	case "Status/Controller Status":
		ctrl.Status = ptr(val)
	}
}

// storTextClusterKey reads Cluster Support (Supported Adapter Operations)
// and the High Availability section.
func storTextClusterKey(c *Cluster, section, key, val string) {
	switch section + "/" + key {
	case "Supported Adapter Operations/Cluster Support":
		c.Supported = yesNo(val)
	case "High Availability/Topology Type":
		c.Topology = ptr(val)
	case "High Availability/Cluster Permitted":
		c.Enabled = yesNo(val)
	case "High Availability/Cluster Active":
		c.Active = yesNo(val)
	}
}

// storTextDriveKey reads a drive's "Device attributes" section: its serial
// goes to the drive its PD LIST row or drive section listed.
func storTextDriveKey(ctrl *Controller, section, key, val string) {
	m := storcliDrvRe.FindStringSubmatch(section)
	if m == nil || m[3] == "" || key != "SN" || val == "" {
		return
	}
	e, _ := atoi(m[1])
	s, _ := atoi(m[2])
	for j := range ctrl.PhysicalDrives {
		pd := &ctrl.PhysicalDrives[j]
		if pd.Enclosure != nil && pd.Slot != nil && *pd.Enclosure == e && *pd.Slot == s {
			pd.Serial = ptr(val)
		}
	}
}

// end checks how the capture ends: a controller header, a banner, a table
// or a section title cut short is a truncation; no controller at all is
// another tool's output.
func (p *storTextParser) end() error {
	const tool = ToolStorcliText
	ls := p.ls
	last := len(ls)
	// A controller header cut before its "Status = " line.
	for i := len(ls) - 1; i >= 0 && i >= len(ls)-4; i-- {
		t := strings.TrimSpace(ls[i].text)
		if t == "" {
			continue
		}
		if storcliCtrlRe.MatchString(t) || strings.HasPrefix("Controller = ", t) || storcliCtrlPartRe.MatchString(t) {
			return &ParseError{Tool: tool, Line: ls[i].n, Err: ErrTruncated, Expected: `"Status = ..." and the block of the controller on line ` + fmt.Sprint(ls[i].n)}
		}
		if !strings.HasPrefix("Status = ", t) && !strings.HasPrefix(t, "Status = ") {
			break
		}
	}
	const banner = "Generating detailed summary of the adapter"
	if fl := strings.TrimSpace(lastNonEmpty(ls).text); strings.HasPrefix(fl, banner) || (len(fl) >= 3 && strings.HasPrefix(banner, fl)) {
		// storcli prints this banner before a controller's block.
		return &ParseError{Tool: tool, Line: lastNonEmpty(ls).n, Err: ErrTruncated,
			Expected: `the controller block after the "Generating detailed summary" banner`}
	}
	if p.table != nil {
		return &ParseError{Tool: tool, Line: last, Err: ErrTruncated,
			Expected: fmt.Sprintf("the closing rule of the table that starts on line %d (%s)", p.table.start, p.table.section)}
	}
	if p.lastTitle.n > 0 && !p.bodySeen {
		return &ParseError{Tool: tool, Line: last, Err: ErrTruncated,
			Expected: fmt.Sprintf("the body of section %q (line %d)", strings.TrimSuffix(strings.TrimSpace(p.lastTitle.text), " :"), p.lastTitle.n)}
	}
	if p.ctrl == nil && len(p.sys.Controllers) == 0 {
		return &ParseError{Tool: tool, Line: firstNonEmpty(ls).n, Err: ErrForeign,
			Expected: `storcli text output ("Controller = N" then "Status = ...")`, Got: firstNonEmpty(ls).text}
	}
	return nil
}

// finishController checks the block of the controller being read (its
// counts, how it ends when eof) and adds it to the model.
func (p *storTextParser) finishController(at int, eof bool) error {
	ctrl := p.ctrl
	if ctrl == nil {
		return nil
	}
	for k, n := range p.counts {
		want := map[string]string{"Virtual Drives": "VD LIST", "Physical Drives": "PD LIST"}[k]
		if p.listed[want] != n {
			return &ParseError{Tool: ToolStorcliText, Line: at, Err: ErrTruncated,
				Expected: fmt.Sprintf("%d rows in %s (line %d says %s = %d), found %d", n, want, p.countLine[k], k, n, p.listed[want])}
		}
	}
	p.sys.Warnings = append(p.sys.Warnings, p.blockWarnings(eof)...)
	if b := ctrl.Battery; b != nil && b.Present != nil && *b.Present && !p.sections["Cachevault_Info"] && !p.sections["BBU_Info"] {
		p.sys.Warnings = append(p.sys.Warnings, fmt.Sprintf("storcli: controller %s has a cache battery or CacheVault (HwCfg BBU = Present) but no Cachevault_Info or BBU_Info section: the capture may be truncated; the battery state is unknown", ctrl.ID))
	}
	p.sys.Warnings = append(p.sys.Warnings, storcliForeign(ctrl)...)
	// Shared stays unknown unless printed: "Cluster Active: No" says
	// nothing about a drive's own setting.
	normalizeConditions(ctrl)
	p.sys.Controllers = append(p.sys.Controllers, *ctrl)
	p.ctrl = nil
	return nil
}

// blockWarnings says when the controller's block may be cut short.
// storcli text has no end marker. A block followed by the next
// controller's is whole; the last one is whole only when it ends as
// storcli ends a controller with drives: the PD LIST, its legend, then at
// most the Cachevault_Info or BBU_Info table.
func (p *storTextParser) blockWarnings(eof bool) []string {
	ctrl := p.ctrl
	_, pdCount := p.counts["Physical Drives"]
	hba := !pdCount && !p.sections["PD LIST"] && p.sections["Physical Device Information"]
	if hba {
		// HBA (IT firmware) or JBOD form: one "Drive /cX/eY/sZ" section
		// per drive, as many as the Enclosure Information table's PD
		// column adds up to; the last one ends with its Inquiry Data.
		n, ok := p.listed[encPDKey], p.sections["Enclosure Information"]
		switch {
		case !ok:
			return []string{fmt.Sprintf("storcli: controller %s lists its drives only as Physical Device Information (HBA or JBOD mode) and prints no Enclosure Information to count them against: the capture may be truncated", ctrl.ID)}
		case p.listed[drvKey] != n:
			return []string{fmt.Sprintf("storcli: controller %s: %d drive sections, but the Enclosure Information table counts %d drives: the capture may be truncated", ctrl.ID, p.listed[drvKey], n)}
		case eof && !p.inquiry && n > 0:
			return []string{fmt.Sprintf("storcli: controller %s: the last drive section (line %d) ends before its Inquiry Data: the capture may be truncated", ctrl.ID, p.lastTitle.n)}
		}
		return nil
	}
	if !eof {
		return nil
	}
	whole := p.listed["PD LIST"] > 0 && p.legend
	for sec := range p.afterPD {
		if sec != "Cachevault_Info" && sec != "BBU_Info" {
			whole = false
		}
	}
	if whole {
		return nil
	}
	last := strings.TrimSuffix(strings.TrimSpace(p.lastTitle.text), " :")
	return []string{fmt.Sprintf("storcli: the capture ends in controller %s's block (last section %q, line %d) where storcli does not end one: it may be truncated (storcli text has no end marker; use storcli /c%s show all J)", ctrl.ID, last, p.lastTitle.n, ctrl.ID)}
}

// Keys of the per-controller row counts beside the table names: drives in
// "Drive /cX/eY/sZ" sections, and drives the Enclosure Information table
// counts.
const (
	drvKey   = "drive sections"
	encPDKey = "enclosure PD"
)

// textTable collects one dashed storcli table.
type textTable struct {
	section string
	start   int
	rules   int
	header  []string
	rows    []map[string]string
}

// row maps a table row onto its header names. In the VD and PD tables
// "Size" spans two tokens ("278.464 GB") and "Name" or "Model" takes what is
// left; a row that cannot fill every column is an error. Other tables
// (TOPOLOGY, BBU_Info, Cachevault_Info) are read positionally as far as the
// tokens go, with "Size" still spanning two.
func (tb *textTable) row(tool Tool, l line) error {
	toks := strings.Fields(l.text)
	strict := tb.section == "VD LIST" || tb.section == "PD LIST" || storcliDrvRe.MatchString(tb.section)
	bad := func() error {
		return &ParseError{Tool: tool, Line: l.n, Err: ErrSyntax,
			Expected: fmt.Sprintf("a row with columns %s", strings.Join(tb.header, " ")), Got: l.text}
	}
	width := func(h string) int {
		if h == "Size" {
			return 2
		}
		return 1
	}
	flexCol, fixed := -1, 0
	for i, h := range tb.header {
		if strict && (h == "Name" || h == "Model") {
			flexCol = i
			continue
		}
		fixed += width(h)
	}
	flex := len(toks) - fixed
	if strict && (flexCol < 0 || flex < 0 || (flex == 0 && tb.header[flexCol] != "Name")) {
		return bad()
	}
	row := map[string]string{}
	k := 0
	for i, h := range tb.header {
		n := width(h)
		if i == flexCol {
			n = flex
		}
		if k+n > len(toks) {
			if strict {
				return bad()
			}
			break
		}
		row[h] = strings.Join(toks[k:k+n], " ")
		k += n
	}
	tb.rows = append(tb.rows, row)
	return nil
}

// finish stores the table's rows into ctrl.
func (tb *textTable) finish(ctrl *Controller, listed map[string]int) error {
	if ctrl == nil {
		return nil
	}
	switch {
	case tb.section == "VD LIST":
		for _, r := range tb.rows {
			ld := LogicalDrive{ID: r["DG/VD"], Condition: ConditionUnknown}
			if dg, vd, ok := strings.Cut(r["DG/VD"], "/"); ok {
				ld.ID, ld.Array = vd, ptr(dg)
			}
			ld.setLevel(r["TYPE"])
			ld.setState(r["State"])
			ld.setSize(r["Size"])
			if r["Name"] != "" {
				ld.Name = ptr(r["Name"])
			}
			ld.WriteCacheText = ptr(r["Cache"])
			if p, ok := storcliCache(r["Cache"]); ok {
				ld.WriteCache = ptr(p)
			}
			ctrl.LogicalDrives = append(ctrl.LogicalDrives, ld)
		}
		listed["VD LIST"] += len(tb.rows)
	case tb.section == "PD LIST" || storcliDrvRe.MatchString(tb.section) && !strings.HasSuffix(tb.section, "attributes"):
		for _, r := range tb.rows {
			ctrl.PhysicalDrives = append(ctrl.PhysicalDrives, storcliPDFrom(r["EID:Slt"], r["State"], r["DG"], r["Size"], r["Model"]))
		}
		if tb.section == "PD LIST" {
			listed["PD LIST"] += len(tb.rows)
		} else {
			listed[drvKey] += len(tb.rows)
		}
	case tb.section == "Enclosure Information":
		for _, r := range tb.rows {
			if n, ok := atoi(r["PD"]); ok {
				listed[encPDKey] += n
			}
		}
	case tb.section == "TOPOLOGY":
		storcliTopology(ctrl, tb.rows)
	case tb.section == "BBU_Info" || tb.section == "Cachevault_Info":
		for _, r := range tb.rows {
			ctrl.Battery = batteryFrom(ctrl.Battery, r["Model"], r["State"])
		}
	}
	return nil
}
