package raidctl

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// ToolSasIRCU is the Tool of sas2ircu|sas3ircu <n> DISPLAY.
const ToolSasIRCU Tool = "sas2ircu"

// detectSasIRCU is the signature Detect looks for.
var detectSasIRCU = regexp.MustCompile(`(?im)^\s*\S.*\bSAS[23] IR Configuration Utility\.?\s*$`)

var (
	sasBannerRe = regexp.MustCompile(`(?i)^.*\bSAS[23] IR Configuration Utility\.?$`)
	sasEndRe    = regexp.MustCompile(`(?i)^SAS[23]IRCU: Utility Completed Successfully\.?$`)
	sasFailRe   = regexp.MustCompile(`(?i)^SAS[23]IRCU: .*(error|fail|invalid|not found)`)
	sasReadRe   = regexp.MustCompile(`(?i)^Read configuration has been initiated for controller (\d+)$`)
	sasVolRe    = regexp.MustCompile(`(?i)^IR volume (\d+)$`)
	sasDevRe    = regexp.MustCompile(`(?i)^Device is an? (.+)$`)
	sasPhyRe    = regexp.MustCompile(`(?i)^PHY\[\d+\] Enclosure#/Slot#$`)
	sasSizeRe   = regexp.MustCompile(`^(\d+)/(\d+)$`)
)

// ParseSasIRCU reads `sas2ircu <n> DISPLAY` or `sas3ircu <n> DISPLAY`
// output (LSI/Avago/Broadcom Integrated RAID on SAS HBAs such as the
// SAS2008 and SAS3008).
//
// The output must start with the utility's banner and end with
// "SAS2IRCU: Utility Completed Successfully."; anything else is foreign or
// truncated. The tool prints no write-cache setting and no shared-drive
// concept, so those stay unknown. Its "Initiator ID" is the HBA's SAS
// initiator number, not a parallel-SCSI bus ID, and is not mapped to
// Cluster.Initiators.
func ParseSasIRCU(data []byte) (*System, error) {
	const tool = ToolSasIRCU
	ls := splitLines(data)
	first := firstNonEmpty(ls)
	if !sasBannerRe.MatchString(strings.TrimSpace(first.text)) {
		return nil, &ParseError{Tool: tool, Line: first.n, Err: ErrForeign,
			Expected: `"... SAS2 IR Configuration Utility." as the first line`, Got: first.text}
	}
	last := lastNonEmpty(ls)
	lt := strings.TrimSpace(last.text)
	if !sasEndRe.MatchString(lt) {
		for _, l := range ls {
			if t := strings.TrimSpace(l.text); sasFailRe.MatchString(t) {
				return nil, &ParseError{Tool: tool, Line: l.n, Err: ErrToolFailed, Got: t}
			}
		}
		return nil, &ParseError{Tool: tool, Line: last.n, Err: ErrTruncated,
			Expected: `"SAS2IRCU: Utility Completed Successfully." as the last line`, Got: lt}
	}
	p := sasParser{sys: &System{Tool: tool}, ctrl: Controller{Vendor: "LSI"}}
	for _, l := range ls {
		if l.n <= first.n || l.n >= last.n {
			continue
		}
		if err := p.line(l); err != nil {
			return nil, err
		}
	}
	p.flush()
	if !p.read {
		return nil, &ParseError{Tool: tool, Line: last.n, Err: ErrForeign,
			Expected: `"Read configuration has been initiated for controller N" (the DISPLAY command)`, Got: lt}
	}
	if p.pci.complete() {
		p.ctrl.PCIAddress = ptr(fmt.Sprintf("%04x:%02x:%02x.%x", p.pci.v[0], p.pci.v[1], p.pci.v[2], p.pci.v[3]))
	}
	normalizeConditions(&p.ctrl)
	p.sys.Controllers = []Controller{p.ctrl}
	return p.sys, nil
}

// sasPCI collects "Segment", "Bus", "Device", "Function" (decimal).
type sasPCI struct {
	v    [4]int
	seen [4]bool
}

func (p *sasPCI) complete() bool { return p.seen[0] && p.seen[1] && p.seen[2] && p.seen[3] }

type sasParser struct {
	sys     *System
	ctrl    Controller
	read    bool
	section string
	ld      *LogicalDrive
	pd      *PhysicalDrive
	isDisk  bool
	pci     sasPCI
}

func (p *sasParser) flush() {
	if p.ld != nil {
		p.ctrl.LogicalDrives = append(p.ctrl.LogicalDrives, *p.ld)
		p.ld = nil
	}
	if p.pd != nil && p.isDisk {
		p.ctrl.PhysicalDrives = append(p.ctrl.PhysicalDrives, *p.pd)
	}
	p.pd = nil
}

func (p *sasParser) warn(l line, format string, args ...any) {
	p.sys.Warnings = append(p.sys.Warnings, fmt.Sprintf("sas2ircu line %d: ", l.n)+fmt.Sprintf(format, args...))
}

func (p *sasParser) line(l line) error {
	t := strings.TrimSpace(l.text)
	switch {
	case t == "" || isRule(t):
		return nil
	case strings.HasPrefix(t, "Version ") || strings.HasPrefix(t, "Copyright"):
		return nil
	}
	if m := sasReadRe.FindStringSubmatch(t); m != nil {
		p.ctrl.ID, p.read = m[1], true
		return nil
	}
	switch strings.ToLower(t) {
	case "controller information", "ir volume information", "physical device information", "enclosure information":
		p.flush()
		p.section = strings.ToLower(t)
		return nil
	}
	if m := sasVolRe.FindStringSubmatch(t); m != nil && p.section == "ir volume information" {
		p.flush()
		p.ld = &LogicalDrive{ID: m[1], Condition: ConditionUnknown}
		return nil
	}
	if m := sasDevRe.FindStringSubmatch(t); m != nil && p.section == "physical device information" {
		p.flush()
		p.pd = &PhysicalDrive{Condition: ConditionUnknown}
		p.isDisk = !strings.Contains(strings.ToLower(m[1]), "enclosure services")
		return nil
	}
	if strings.HasPrefix(strings.ToLower(t), "initiator at id") {
		return nil
	}
	key, val, ok := keyValueSpaced(t)
	if !ok {
		p.warn(l, "line not understood: %q", t)
		return nil
	}
	switch p.section {
	case "controller information":
		p.controllerKey(normKey(key), val)
	case "ir volume information":
		return p.volumeKey(l, key, val)
	case "physical device information":
		p.deviceKey(normKey(key), val)
	}
	return nil
}

func (p *sasParser) controllerKey(k, v string) {
	switch k {
	case "controller type":
		p.ctrl.Model = ptr(v)
	case "firmware version":
		p.ctrl.Firmware = ptr(v)
	case "segment", "bus", "device", "function":
		i := map[string]int{"segment": 0, "bus": 1, "device": 2, "function": 3}[k]
		if n, ok := atoi(v); ok && n >= 0 {
			p.pci.v[i], p.pci.seen[i] = n, true
		}
	}
}

func (p *sasParser) volumeKey(l line, key, v string) error {
	if p.ld == nil {
		p.warn(l, "volume line outside an \"IR volume N\" block: %q", strings.TrimSpace(l.text))
		return nil
	}
	if sasPhyRe.MatchString(key) {
		if !strings.Contains(v, ":") {
			return &ParseError{Tool: ToolSasIRCU, Line: l.n, Err: ErrSyntax,
				Expected: `a member as "enclosure:slot"`, Got: v}
		}
		p.ld.Members = append(p.ld.Members, v)
		return nil
	}
	switch normKey(key) {
	case "volume name":
		if v != "" {
			p.ld.Name = ptr(v)
		}
	case "status of volume":
		p.ld.setState(v)
	case "volume wwid":
		p.ld.UUID = ptr(v)
	case "raid level":
		p.ld.setLevel(v)
	case "size (in mb)":
		p.ld.SizeText = ptr(v + " MB")
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 && n < 1<<43 {
			p.ld.SizeBytes = ptr(n << 20)
		}
	}
	return nil
}

func (p *sasParser) deviceKey(k, v string) {
	if p.pd == nil {
		return
	}
	switch k {
	case "enclosure #":
		if n, ok := atoi(v); ok {
			p.pd.Enclosure = ptr(n)
		}
	case "slot #":
		if n, ok := atoi(v); ok {
			p.pd.Slot = ptr(n)
		}
	case "state":
		p.pd.State = ptr(v)
		p.pd.Condition = condition(v)
	case "size (in mb)/(in sectors)":
		p.pd.SizeBytes = sasDriveSize(v)
	case "model number":
		if v != "" {
			p.pd.Model = ptr(v)
		}
	case "serial no":
		if v != "" {
			p.pd.Serial = ptr(v)
		}
	}
}

// sasDriveSize reads "3815447/7814037167": the exact sector count times
// 512 when that agrees with the rounded MB figure (so a 4Kn drive is never
// read as an eighth of its size), else the MB figure.
func sasDriveSize(v string) *int64 {
	m := sasSizeRe.FindStringSubmatch(v)
	if m == nil {
		return nil
	}
	mb, err1 := strconv.ParseInt(m[1], 10, 64)
	sec, err2 := strconv.ParseInt(m[2], 10, 64)
	if err1 != nil || err2 != nil || mb >= 1<<43 || sec >= 1<<54 {
		return nil
	}
	if b := sec * 512; b>>20 == mb {
		return ptr(b)
	}
	return ptr(mb << 20)
}
