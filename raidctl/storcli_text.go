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
	const tool = ToolStorcliText
	ls := splitLines(data)
	sys := &System{Tool: tool}
	var (
		ctrl        *Controller
		section     string
		table       *textTable
		counts      map[string]int
		countLine   map[string]int
		listed      map[string]int
		lastTitle   line
		bodySeen    bool
		ctrlLine    int
		sections    map[string]bool // section titles seen in this controller's block
		afterPD     map[string]bool // section titles after its PD LIST
		legend      bool            // the PD LIST legend was read whole
		legendStart bool
		// HBA form (drives only under Physical Device Information):
		// the last drive section reached its Inquiry Data line.
		inquiry bool
	)
	finishCtrl := func(at int, eof bool) error {
		if ctrl == nil {
			return nil
		}
		for k, n := range counts {
			want := map[string]string{"Virtual Drives": "VD LIST", "Physical Drives": "PD LIST"}[k]
			if listed[want] != n {
				return &ParseError{Tool: tool, Line: at, Err: ErrTruncated,
					Expected: fmt.Sprintf("%d rows in %s (line %d says %s = %d), found %d", n, want, countLine[k], k, n, listed[want])}
			}
		}
		// storcli text has no end marker. A block followed by the next
		// controller's is whole; the last one is whole only when it
		// ends as storcli ends a controller with drives: the PD LIST,
		// its legend, then at most the Cachevault_Info or BBU_Info table.
		_, pdCount := counts["Physical Drives"]
		hba := !pdCount && !sections["PD LIST"] && sections["Physical Device Information"]
		if hba {
			// HBA (IT firmware) or JBOD form: one "Drive /cX/eY/sZ"
			// section per drive, as many as the Enclosure Information
			// table's PD column adds up to; the last one ends with its
			// Inquiry Data.
			n, ok := listed[encPDKey], sections["Enclosure Information"]
			switch {
			case !ok:
				sys.Warnings = append(sys.Warnings, fmt.Sprintf("storcli: controller %s lists its drives only as Physical Device Information (HBA or JBOD mode) and prints no Enclosure Information to count them against: the capture may be truncated", ctrl.ID))
			case listed[drvKey] != n:
				sys.Warnings = append(sys.Warnings, fmt.Sprintf("storcli: controller %s: %d drive sections, but the Enclosure Information table counts %d drives: the capture may be truncated", ctrl.ID, listed[drvKey], n))
			case eof && !inquiry && n > 0:
				sys.Warnings = append(sys.Warnings, fmt.Sprintf("storcli: controller %s: the last drive section (line %d) ends before its Inquiry Data: the capture may be truncated", ctrl.ID, lastTitle.n))
			}
		}
		if eof && !hba {
			whole := listed["PD LIST"] > 0 && legend
			for sec := range afterPD {
				if sec != "Cachevault_Info" && sec != "BBU_Info" {
					whole = false
				}
			}
			if !whole {
				last := strings.TrimSuffix(strings.TrimSpace(lastTitle.text), " :")
				sys.Warnings = append(sys.Warnings, fmt.Sprintf("storcli: the capture ends in controller %s's block (last section %q, line %d) where storcli does not end one: it may be truncated (storcli text has no end marker; use storcli /c%s show all J)", ctrl.ID, last, lastTitle.n, ctrl.ID))
			}
		}
		if b := ctrl.Battery; b != nil && b.Present != nil && *b.Present && !sections["Cachevault_Info"] && !sections["BBU_Info"] {
			sys.Warnings = append(sys.Warnings, fmt.Sprintf("storcli: controller %s has a cache battery or CacheVault (HwCfg BBU = Present) but no Cachevault_Info or BBU_Info section: the capture may be truncated; the battery state is unknown", ctrl.ID))
		}
		// Shared stays unknown unless printed: "Cluster Active: No" says
		// nothing about a drive's own setting.
		normalizeConditions(ctrl)
		sys.Controllers = append(sys.Controllers, *ctrl)
		ctrl = nil
		return nil
	}
	for i := 0; i < len(ls); i++ {
		l := ls[i]
		t := strings.TrimSpace(l.text)
		next := ""
		if i+1 < len(ls) {
			next = strings.TrimSpace(ls[i+1].text)
		}
		// Tables.
		if table != nil {
			if strings.Trim(t, "-") == "" && t != "" {
				table.rules++
				if table.rules == 3 {
					if err := table.finish(ctrl, listed); err != nil {
						return nil, err
					}
					table = nil
				}
				continue
			}
			switch table.rules {
			case 1:
				table.header = strings.Fields(t)
			case 2:
				if err := table.row(tool, l); err != nil {
					return nil, err
				}
			}
			bodySeen = true
			continue
		}
		if t == "" {
			continue
		}
		if m := storcliCtrlRe.FindStringSubmatch(t); m != nil && strings.HasPrefix(next, "Status = ") {
			if err := finishCtrl(l.n, false); err != nil {
				return nil, err
			}
			ctrl = &Controller{ID: m[1], Vendor: "Broadcom/LSI"}
			counts, countLine, listed = map[string]int{}, map[string]int{}, map[string]int{}
			section, ctrlLine, sections, afterPD, legend = "", l.n, map[string]bool{}, map[string]bool{}, false
			legendStart = false
			continue
		}
		if strings.HasSuffix(t, " :") && strings.Trim(next, "=") == "" && next != "" {
			if ctrl == nil {
				return nil, &ParseError{Tool: tool, Line: l.n, Err: ErrForeign,
					Expected: `"Controller = N" and "Status = ..." before the first section`, Got: t}
			}
			section = strings.TrimSuffix(t, " :")
			if m := storcliDrvRe.FindStringSubmatch(section); m != nil && m[3] == "" {
				inquiry = false
			}
			if sections["PD LIST"] {
				afterPD[section] = true
			}
			sections[section] = true
			lastTitle, bodySeen = l, false
			i++ // skip the underline
			continue
		}
		if ctrl == nil {
			continue // banner lines ("Generating detailed summary ..."), CLI version
		}
		bodySeen = true
		// The legend after PD LIST: whole once its last line (CFShld-...)
		// is read.
		if strings.HasPrefix(t, "EID-Enclosure Device ID") || strings.HasPrefix(t, "EID=Enclosure Device ID") {
			legendStart = true
		}
		if legendStart && strings.HasPrefix(t, "CFShld-") && strings.HasSuffix(t, "Shielded") {
			legend = true
		}
		if strings.Trim(t, "-") == "" {
			table = &textTable{section: section, rules: 1, start: l.n}
			continue
		}
		key, val, ok := keyValue(t, " = ")
		if !ok {
			key, val, ok = keyValue(t, "=")
		}
		if !ok {
			continue // legends and wrapped text
		}
		if key == "Inquiry Data" {
			inquiry = true
		}
		if m := storcliCountRe.FindStringSubmatch(t); m != nil {
			n, _ := atoi(m[2])
			counts[m[1]], countLine[m[1]] = n, l.n
			continue
		}
		switch section {
		case "":
			if key == "Status" && !strings.EqualFold(val, "Success") {
				sys.Warnings = append(sys.Warnings, fmt.Sprintf("storcli line %d: controller %s command status %q; data read anyway", l.n, ctrl.ID, val))
			}
		case "Basics":
			switch key {
			case "Model":
				ctrl.Model = ptr(val)
			case "Serial Number":
				ctrl.Serial = ptr(val)
			case "PCI Address":
				ctrl.PCIAddress = ptr(val)
			}
		case "Version":
			if key == "Firmware Version" {
				ctrl.Firmware = ptr(val)
			}
		case "Status":
			if key == "Controller Status" {
				ctrl.Status = ptr(val)
			}
		case "Supported Adapter Operations":
			if key == "Cluster Support" {
				ctrl.Cluster.Supported = yesNo(val)
			}
		case "HwCfg":
			if key == "BBU" {
				if ctrl.Battery == nil {
					ctrl.Battery = &Battery{}
				}
				ctrl.Battery.Present = yesNo(val)
			}
		case "High Availability":
			switch key {
			case "Topology Type":
				ctrl.Cluster.Topology = ptr(val)
			case "Cluster Permitted":
				ctrl.Cluster.Enabled = yesNo(val)
			case "Cluster Active":
				ctrl.Cluster.Active = yesNo(val)
			}
		default:
			if m := storcliDrvRe.FindStringSubmatch(section); m != nil && m[3] != "" && key == "SN" && val != "" {
				e, _ := atoi(m[1])
				s, _ := atoi(m[2])
				for j := range ctrl.PhysicalDrives {
					pd := &ctrl.PhysicalDrives[j]
					if pd.Enclosure != nil && pd.Slot != nil && *pd.Enclosure == e && *pd.Slot == s {
						pd.Serial = ptr(val)
					}
				}
			}
		}
	}
	last := len(ls)
	// A controller header cut before its "Status = " line.
	for i := len(ls) - 1; i >= 0 && i >= len(ls)-4; i-- {
		t := strings.TrimSpace(ls[i].text)
		if t == "" {
			continue
		}
		if storcliCtrlRe.MatchString(t) || strings.HasPrefix("Controller = ", t) || storcliCtrlPartRe.MatchString(t) {
			return nil, &ParseError{Tool: tool, Line: ls[i].n, Err: ErrTruncated, Expected: `"Status = ..." and the block of the controller on line ` + fmt.Sprint(ls[i].n)}
		}
		if !strings.HasPrefix("Status = ", t) && !strings.HasPrefix(t, "Status = ") {
			break
		}
	}
	const banner = "Generating detailed summary of the adapter"
	if fl := strings.TrimSpace(lastNonEmpty(ls).text); strings.HasPrefix(fl, banner) || (len(fl) >= 3 && strings.HasPrefix(banner, fl)) {
		// storcli prints this banner before a controller's block.
		return nil, &ParseError{Tool: tool, Line: lastNonEmpty(ls).n, Err: ErrTruncated,
			Expected: `the controller block after the "Generating detailed summary" banner`}
	}
	if table != nil {
		return nil, &ParseError{Tool: tool, Line: last, Err: ErrTruncated,
			Expected: fmt.Sprintf("the closing rule of the table that starts on line %d (%s)", table.start, table.section)}
	}
	if lastTitle.n > 0 && !bodySeen {
		return nil, &ParseError{Tool: tool, Line: last, Err: ErrTruncated,
			Expected: fmt.Sprintf("the body of section %q (line %d)", strings.TrimSuffix(strings.TrimSpace(lastTitle.text), " :"), lastTitle.n)}
	}
	if ctrl == nil && len(sys.Controllers) == 0 {
		return nil, &ParseError{Tool: tool, Line: firstNonEmpty(ls).n, Err: ErrForeign,
			Expected: `storcli text output ("Controller = N" then "Status = ...")`, Got: firstNonEmpty(ls).text}
	}
	_ = ctrlLine
	if err := finishCtrl(last, true); err != nil {
		return nil, err
	}
	return sys, nil
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
		for _, r := range tb.rows {
			if r["Arr"] == "-" && r["Row"] == "-" {
				ctrl.Arrays = append(ctrl.Arrays, Array{ID: r["DG"], State: ptr(r["State"]), Condition: condition(r["State"])})
			}
		}
	case tb.section == "BBU_Info" || tb.section == "Cachevault_Info":
		for _, r := range tb.rows {
			ctrl.Battery = batteryFrom(ctrl.Battery, r["Model"], r["State"])
		}
	}
	return nil
}
