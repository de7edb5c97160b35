package raidctl

import (
	"fmt"
	"regexp"
	"strings"
)

// ToolMegaCLI is the Tool of MegaCli -LDPDInfo / -LdInfo / -PDList / -AdpBbuCmd / -AdpAllInfo.
const ToolMegaCLI Tool = "megacli"

// detectMegaCLI is the signature Detect looks for.
var detectMegaCLI = regexp.MustCompile(`(?im)^\s*(Exit Code:\s*0x|Adapter\s*#\d+|(CacheCade )?Virtual (Drive|Disk):\s*\d+|BBU status for Adapter)`)

var (
	megaAdapterRe = regexp.MustCompile(`(?i)^Adapter\s*#?\s*(\d+)(?:\s*--.*)?:?$`)
	megaBBURe     = regexp.MustCompile(`(?i)^BBU status for Adapter:\s*(\d+)$`)
	megaVDRe      = regexp.MustCompile(`(?i)^(CacheCade )?Virtual (?:Drive|Disk):\s*(\d+)`)
	megaPDInfoRe  = regexp.MustCompile(`(?i)^PD:\s*\d+ Information$`)
	megaExitRe    = regexp.MustCompile(`(?i)^Exit Code:\s*0x([0-9a-f]+)$`)
	megaPosRe     = regexp.MustCompile(`(?i)DiskGroup:\s*(\d+)`)
)

// ParseMegaCLI reads MegaCli/MegaCli64 output: -LdInfo, -PDList, -LDPDInfo,
// -AdpBbuCmd and -AdpAllInfo, alone or concatenated (one "Exit Code" line
// closes each command). The output must end with an "Exit Code" line.
//
// MegaCLI prints hundreds of keys; the ones the model does not need are
// skipped. "Cluster Support" maps onto Cluster.Supported. No capture shows
// how -AdpAllInfo prints the ClusterEnable setting: any other line whose key
// mentions "cluster" is read provisionally as Cluster.Enabled when its value
// is a yes/no word, and is reported as a warning either way.
func ParseMegaCLI(data []byte) (*System, error) {
	const tool = ToolMegaCLI
	ls := splitLines(data)
	last := lastNonEmpty(ls)
	// Another tool's output is foreign, not a truncated MegaCLI run: say
	// which tool it looks like, so --tool megacli on the wrong file is
	// told so.
	if other, ok := Detect(data); ok && other != tool {
		first := firstNonEmpty(ls)
		return nil, &ParseError{Tool: tool, Line: first.n, Err: ErrForeign,
			Expected: fmt.Sprintf("MegaCLI output (this looks like %s output)", other), Got: first.text}
	}
	if !detectMegaCLI.Match(data) {
		first := firstNonEmpty(ls)
		return nil, &ParseError{Tool: tool, Line: first.n, Err: ErrForeign,
			Expected: `MegaCLI output ("Adapter #N", "Virtual Drive: N", "BBU status for Adapter" or "Exit Code: 0x..")`, Got: first.text}
	}
	if m := megaExitRe.FindStringSubmatch(strings.TrimSpace(last.text)); m == nil {
		return nil, &ParseError{Tool: tool, Line: last.n, Err: ErrTruncated,
			Expected: `"Exit Code: 0x.." as the last line`, Got: last.text}
	}
	p := &megaParser{sys: &System{Tool: tool}, byID: map[string]*Controller{}, cur: "0", segOK: true, segStart: 1}
	for _, l := range ls {
		t := strings.TrimSpace(l.text)
		if t == "" || p.header(l, t) {
			continue
		}
		if key, val, ok := keyValueSpaced(t); ok {
			p.keyValue(l, t, normKey(key), val)
		}
	}
	p.flush()
	if !p.recognised {
		f := firstNonEmpty(ls)
		return nil, &ParseError{Tool: tool, Line: f.n, Err: ErrForeign,
			Expected: `MegaCLI output ("Adapter #N", "Virtual Drive: N", "Enclosure Device ID:" or "BBU status for Adapter: N")`, Got: f.text}
	}
	if len(p.order) == 0 && !p.segOK {
		return nil, &ParseError{Tool: tool, Line: last.n, Err: ErrToolFailed, Got: last.text}
	}
	for _, id := range p.order {
		c := p.byID[id]
		normalizeConditions(c)
		p.sys.Controllers = append(p.sys.Controllers, *c)
	}
	return p.sys, nil
}

// megaParser is the state of ParseMegaCLI: the adapters seen, the section
// being read and the drive it describes.
type megaParser struct {
	sys   *System
	byID  map[string]*Controller
	order []string

	cur        string
	mode       string // "ld", "pd", "bbu", "adp", "sum-..."
	ld         *LogicalDrive
	pd         *PhysicalDrive
	recognised bool
	segOK      bool
	segStart   int
	// summaryCtrls counts -ShowSummary "Controller" sections.
	summaryCtrls int
	// The current drive's raw Inquiry Data and Device Firmware Level,
	// split at flush.
	inquiry, fwLevel string
}

// adapter returns the controller numbered id, adding it when new.
func (p *megaParser) adapter(id string) *Controller {
	c, ok := p.byID[id]
	if !ok {
		c = &Controller{ID: id, Vendor: "Broadcom/LSI"}
		p.byID[id] = c
		p.order = append(p.order, id)
	}
	return c
}

// flush adds the drive being read to its adapter.
func (p *megaParser) flush() {
	if p.ld != nil {
		c := p.adapter(p.cur)
		c.LogicalDrives = append(c.LogicalDrives, *p.ld)
		p.ld = nil
	}
	if p.pd != nil {
		megaInquiry(p.pd, p.inquiry, p.fwLevel)
		c := p.adapter(p.cur)
		c.PhysicalDrives = append(c.PhysicalDrives, *p.pd)
		p.pd, p.inquiry, p.fwLevel = nil, "", ""
	}
}

// header reads a line that ends a command's output or starts a section
// (adapter, BBU, virtual drive, physical drive list, -ShowSummary
// sections); false for any other line.
func (p *megaParser) header(l line, t string) bool {
	if m := megaExitRe.FindStringSubmatch(t); m != nil {
		p.flush()
		if m[1] != "00" && m[1] != "0" {
			p.segOK = false
			p.sys.Warnings = append(p.sys.Warnings, fmt.Sprintf("megacli line %d: command output starting at line %d ended with %s", l.n, p.segStart, t))
		}
		p.mode, p.segStart = "", l.n+1
		return true
	}
	if m := megaBBURe.FindStringSubmatch(t); m != nil {
		p.flush()
		p.cur, p.mode, p.recognised = m[1], "bbu", true
		c := p.adapter(p.cur)
		if c.Battery == nil {
			c.Battery = &Battery{Present: ptr(true)}
		}
		return true
	}
	if m := megaAdapterRe.FindStringSubmatch(t); m != nil {
		p.flush()
		p.cur, p.recognised = m[1], true
		p.adapter(p.cur)
		p.mode = "adp"
		if strings.Contains(strings.ToLower(t), "virtual drive information") {
			p.mode = "ld"
		}
		return true
	}
	if m := megaVDRe.FindStringSubmatch(t); m != nil {
		p.flush()
		p.ld = &LogicalDrive{ID: m[2], Condition: ConditionUnknown}
		if m[1] != "" {
			// An SSD cache for other drives, not storage: its block is
			// its own drive, never merged into the one before.
			p.ld.Role = ptr("CacheCade")
		}
		p.mode, p.recognised = "ld", true
		return true
	}
	if megaPDInfoRe.MatchString(t) {
		p.flush()
		p.mode, p.recognised = "pd", true
		return true
	}
	// -ShowSummary: "System", "Hardware" and "Storage" at the left margin,
	// indented "Controller", "BBU", "Enclosure", "PD" and "Virtual Drives"
	// sub-sections.
	if m, ok := megaSummarySection(l.text, p.mode); ok {
		p.flush()
		p.mode = m
		if m != "sum" {
			p.recognised = true
		}
		if m == "sum-ctrl" {
			p.summaryCtrls++
			if p.summaryCtrls > 1 {
				p.cur = fmt.Sprint(p.summaryCtrls - 1)
				p.sys.Warnings = append(p.sys.Warnings, fmt.Sprintf("megacli line %d: -ShowSummary prints no adapter numbers: controller %s is numbered by its order", l.n, p.cur))
			}
			p.adapter(p.cur)
		}
		return true
	}
	return false
}

// keyValue hands a "Key : value" line (nk is the normalised key) to the
// reader of the section it is in.
func (p *megaParser) keyValue(l line, t, nk, val string) {
	if nk == "enclosure device id" {
		p.flush()
		p.pd = &PhysicalDrive{Condition: ConditionUnknown}
		if v, ok := atoi(val); ok {
			p.pd.Enclosure = ptr(v)
		}
		p.mode, p.recognised = "pd", true
		return
	}
	switch {
	case p.mode == "ld" && p.ld != nil:
		megaLDKey(p.ld, nk, val)
	case p.mode == "pd" && p.pd != nil:
		p.pdKey(l, nk, val)
	case p.mode == "bbu":
		megaBatteryKey(p.adapter(p.cur).Battery, nk, val)
	case strings.HasPrefix(p.mode, "sum-"):
		megaSummaryKey(p.adapter(p.cur), p.mode, nk, val, &p.ld, &p.pd, p.flush)
	case p.mode == "adp":
		if megaAdapterKey(p.adapter(p.cur), nk, val) {
			p.sys.Warnings = append(p.sys.Warnings, fmt.Sprintf("megacli line %d: provisional: cluster line %q read as the cluster-enable setting; no capture confirms this format", l.n, t))
		}
	}
}

// megaLDKey reads a line of a virtual drive's block (-LdInfo, -LDPDInfo).
func megaLDKey(ld *LogicalDrive, nk, val string) {
	switch nk {
	case "name":
		if val != "" {
			ld.Name = ptr(val)
		}
	case "raid level":
		ld.RAIDLevel = megaLevel(val)
	case "size":
		ld.setSize(val)
	case "span depth":
		// RAID 10/50/60 print as Primary-1/5/6 spanned.
		if n, ok := atoi(val); ok && n > 1 && ld.RAIDLevel != nil &&
			(*ld.RAIDLevel == "1" || *ld.RAIDLevel == "5" || *ld.RAIDLevel == "6") {
			ld.RAIDLevel = ptr(*ld.RAIDLevel + "0")
		}
	case "state":
		ld.setState(val)
	case "target id of the associated lds":
		// "0,1", or "None" for a CacheCade drive that caches no drive yet.
		for _, id := range strings.FieldsFunc(val, func(r rune) bool { return r == ',' || r == ' ' }) {
			if !strings.EqualFold(id, "none") {
				ld.Caches = append(ld.Caches, id)
			}
		}
	case "current cache policy":
		ld.setWriteCache(val)
	case "default cache policy":
		if ld.WriteCacheText == nil {
			ld.setWriteCache(val)
		}
	}
}

// pdKey reads a line of a physical drive's block (-PDList, -LDPDInfo).
func (p *megaParser) pdKey(l line, nk, val string) {
	pd := p.pd
	switch nk {
	case "slot number":
		if v, ok := atoi(val); ok {
			pd.Slot = ptr(v)
		}
	case "firmware state":
		pd.setStateAs(val, condition)
	case "raw size":
		if b, ok := sizeWithSectors(val); ok {
			pd.SizeBytes = ptr(b)
		}
	case "inquiry data":
		if v := strings.Join(strings.Fields(val), " "); v != "" {
			pd.Model = ptr(v)
		}
		_, raw, _ := strings.Cut(l.text, ":")
		p.inquiry = strings.TrimPrefix(raw, " ")
	case "device firmware level":
		p.fwLevel = val
	case "drive's position":
		if m := megaPosRe.FindStringSubmatch(val); m != nil {
			pd.Array = ptr(m[1])
		}
	}
}

// megaBatteryKey reads a line of -AdpBbuCmd's BBU status.
func megaBatteryKey(b *Battery, nk, val string) {
	switch nk {
	case "batterytype":
		b.Model = ptr(val)
	case "battery state":
		b.State = ptr(val)
		if c := condition(val); c == ConditionOK {
			b.Failed = ptr(false)
		} else if c == ConditionFailed {
			b.Failed = ptr(true)
		}
	case "battery pack missing":
		if v := yesNo(val); v != nil {
			b.Present = ptr(!*v)
		}
	case "battery replacement required", "pack is about to fail & should be replaced":
		if v := yesNo(val); v != nil && *v {
			b.Failed = ptr(true)
		}
	}
}

// megaAdapterKey reads a line of -AdpAllInfo. provisional is true for a
// cluster line read as the cluster-enable setting, a format no capture
// confirms.
func megaAdapterKey(c *Controller, nk, val string) (provisional bool) {
	switch {
	case nk == "product name":
		c.Model = ptr(val)
	case nk == "serial no":
		c.Serial = ptr(val)
	case nk == "fw package build":
		c.Firmware = ptr(val)
	case nk == "cluster support":
		c.Cluster.Supported = yesNo(val)
	case strings.Contains(nk, "cluster"):
		if v := yesNo(val); v != nil {
			c.Cluster.Enabled = v
			c.Cluster.Provisional = true
		}
		return true
	}
	return false
}

var (
	megaSumSlotRe = regexp.MustCompile(`(?i)\bSlot\s*(\d+)\s*$`)
	megaSumVDRe   = regexp.MustCompile(`(?i)^Target Id\s*(\d+)\s*,\s*VD name\s*(.*)$`)
	megaSumBusRe  = regexp.MustCompile(`\s*\(Bus \d+, Dev \d+\)$`)
)

// megaSummarySection reads a -ShowSummary section title: "System",
// "Hardware" and "Storage" at the left margin, then the indented
// sub-sections of the last two.
func megaSummarySection(raw, mode string) (string, bool) {
	t := strings.TrimSpace(raw)
	if strings.TrimLeft(raw, " \t") == raw {
		switch t {
		case "System", "Hardware", "Storage":
			return "sum", true
		}
		return "", false
	}
	if mode != "sum" && !strings.HasPrefix(mode, "sum-") {
		return "", false
	}
	switch t {
	case "Controller":
		return "sum-ctrl", true
	case "BBU":
		return "sum-bbu", true
	case "PD":
		return "sum-pd", true
	case "Virtual Drives":
		return "sum-vd", true
	case "Enclosure":
		return "sum-other", true
	}
	return "", false
}

// megaSummaryKey reads one -ShowSummary "Key : value" line. A drive starts
// at its "Connector" line, a virtual drive at its "Virtual drive" line.
func megaSummaryKey(c *Controller, mode, k, v string, ld **LogicalDrive, pd **PhysicalDrive, flush func()) {
	switch mode {
	case "sum-ctrl":
		switch k {
		case "productname":
			c.Model = ptr(megaSumBusRe.ReplaceAllString(v, ""))
		case "fw package version":
			c.Firmware = ptr(v)
		case "status":
			c.Status = ptr(v)
		}
	case "sum-bbu":
		if c.Battery == nil {
			c.Battery = &Battery{}
		}
		switch k {
		case "bbu type":
			c.Battery.Model = textOrNil(v)
		case "status":
			c.Battery.State = ptr(v)
			switch condition(v) {
			case ConditionFailed:
				c.Battery.Failed = ptr(true)
			case ConditionOK:
				c.Battery.Failed = ptr(false)
			}
			if strings.EqualFold(v, "Healthy") {
				c.Battery.Present, c.Battery.Failed = ptr(true), ptr(false)
			}
		}
	case "sum-pd":
		if k == "connector" {
			flush()
			*pd = &PhysicalDrive{Condition: ConditionUnknown}
			if m := megaSumSlotRe.FindStringSubmatch(v); m != nil {
				if n, ok := atoi(m[1]); ok {
					(*pd).Slot = ptr(n)
				}
			}
			return
		}
		p := *pd
		if p == nil {
			return
		}
		switch k {
		case "vendor id", "product id":
			if m := strings.Join(strings.Fields(v), " "); m != "" {
				if p.Model != nil {
					m = *p.Model + " " + m
				}
				p.Model = ptr(m)
			}
		case "state":
			p.setStateAs(v, condition)
		case "capacity":
			p.setSize(v)
		}
	case "sum-vd":
		if k == "virtual drive" {
			flush()
			*ld = &LogicalDrive{ID: v, Condition: ConditionUnknown}
			if m := megaSumVDRe.FindStringSubmatch(v); m != nil {
				(*ld).ID = m[1]
				(*ld).Name = textOrNil(strings.TrimSpace(m[2]))
			}
			return
		}
		d := *ld
		if d == nil {
			return
		}
		switch k {
		case "size":
			d.setSize(v)
		case "state":
			d.setState(v)
		case "raid level":
			d.setLevel(v)
		}
	}
}

// megaInquiry splits MegaCLI's Inquiry Data into model and serial when its
// layout can be proven from the drive's Device Firmware Level: SCSI/SAS
// inquiry is vendor (8), product (16), revision (4), serial; ATA identify
// data is serial (20), model (40), firmware (8). The firmware field must
// match the printed firmware level; otherwise the model stays the whole
// inquiry string and the serial unknown.
func megaInquiry(pd *PhysicalDrive, raw, fw string) {
	fw = strings.TrimSpace(fw)
	if fw == "" || fw == "N/A" {
		return
	}
	field := func(lo, hi int) string {
		if len(raw) < hi {
			return strings.TrimSpace(raw[min(lo, len(raw)):])
		}
		return strings.TrimSpace(raw[lo:hi])
	}
	switch {
	case len(raw) > 28 && field(24, 28) == fw:
		if v, p := field(0, 8), field(8, 24); p != "" {
			pd.Model = ptr(strings.TrimSpace(v + " " + p))
			pd.Serial = textOrNil(field(28, len(raw)))
		}
	case len(raw) > 60 && strings.HasSuffix(field(60, 68), fw):
		if m := field(20, 60); m != "" {
			pd.Model = ptr(m)
			pd.Serial = textOrNil(field(0, 20))
		}
	}
}

// megaLevel reads "Primary-1, Secondary-0, RAID Level Qualifier-0". Spanned
// mirrors (Primary-1 with Span Depth > 1) print the same line, so only the
// primary level is reported.
func megaLevel(s string) *string {
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "-")
		if ok && strings.EqualFold(k, "Primary") {
			if lv, ok := raidLevel(v); ok {
				return ptr(lv)
			}
		}
	}
	if lv, ok := raidLevel(s); ok && !strings.Contains(s, ",") {
		return ptr(lv)
	}
	return nil
}
