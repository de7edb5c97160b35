package raidctl

import (
	"fmt"
	"regexp"
	"strings"
)

// ToolIpssend is the Tool of ipssend GETCONFIG <n> AL|AD|LD.
const ToolIpssend Tool = "ipssend"

// detectIpssend is the signature Detect looks for.
var detectIpssend = regexp.MustCompile(`(?im)^\s*Found \d+ IBM ServeRAID controller`)

var (
	ipsFoundRe   = regexp.MustCompile(`(?i)^Found (\d+) IBM ServeRAID controller\(s\)\.?$`)
	ipsReadRe    = regexp.MustCompile(`(?i)^Read configuration has been initiated for controller (\d+)`)
	ipsLDRe      = regexp.MustCompile(`(?i)^Logical drive number (\d+)$`)
	ipsStripeRe  = regexp.MustCompile(`(?i)^Array ([A-Z0-9]+) stripe order \(Channel/SCSI ID\)\s*:\s*(.*)$`)
	ipsChannelRe = regexp.MustCompile(`(?i)^Channel #(\d+):?$`)
	ipsTargetRe  = regexp.MustCompile(`(?i)^Target on SCSI ID (\d+)$`)
	ipsMemberRe  = regexp.MustCompile(`^\d+,\d+$`)
	digitsRe     = regexp.MustCompile(`\d+`)
)

// ipssend LD keys this parser knows but does not map (they carry nothing
// the model needs).
var ipsIgnoredLDKeys = map[string]bool{
	"number of chunks": true, "stripe-unit size": true, "access blocked": true,
	"date created": true, "compression": true,
}

// ParseIpssend reads `ipssend GETCONFIG <n> LD|PD|AD|AL` output (IBM
// ServeRAID-3/4/6/7k).
//
// The logical-drive lines follow the one public capture. The controller
// section (controller name, partner name, initiator IDs) has never been seen
// in a capture: those keys are read provisionally (Cluster.Provisional is
// set and each such line adds a warning), and every line the parser does
// not know becomes a warning naming it, so the first capture from a site
// shows what to add.
func ParseIpssend(data []byte) (*System, error) {
	const tool = ToolIpssend
	ls := splitLines(data)
	first := firstNonEmpty(ls)
	if !ipsFoundRe.MatchString(strings.TrimSpace(first.text)) {
		return nil, &ParseError{Tool: tool, Line: first.n, Err: ErrForeign,
			Expected: `"Found N IBM ServeRAID controller(s)." as the first line`, Got: first.text}
	}
	last := lastNonEmpty(ls)
	if err := checkCompleted(tool, last); err != nil {
		return nil, err
	}

	p := &ipsParser{sys: &System{Tool: tool}, ctrl: Controller{ID: "1", Vendor: "IBM"}}
	for _, l := range ls {
		if l.n <= first.n || l.n >= last.n {
			continue
		}
		if err := p.line(l); err != nil {
			return nil, err
		}
	}
	p.flushLD()
	p.flushPD()
	ctrl := p.ctrl
	if len(ctrl.LogicalDrives) == 0 && len(ctrl.PhysicalDrives) == 0 && ctrl.Model == nil && ctrl.Cluster.Name == nil {
		return nil, &ParseError{Tool: tool, Line: last.n, Err: ErrTruncated,
			Expected: "logical drive, physical device or controller information before the closing line"}
	}
	normalizeConditions(&ctrl)
	p.sys.Controllers = append(p.sys.Controllers, ctrl)
	return p.sys, nil
}

// ipsParser is the state of ParseIpssend: the controller, the section being
// read and the drive it describes.
type ipsParser struct {
	sys     *System
	ctrl    Controller
	section string
	ld      *LogicalDrive
	pd      *PhysicalDrive
	channel *int
	isDisk  bool
}

func (p *ipsParser) warn(l line, format string, args ...any) {
	p.sys.Warnings = append(p.sys.Warnings, fmt.Sprintf("ipssend line %d: ", l.n)+fmt.Sprintf(format, args...))
}

func (p *ipsParser) flushLD() {
	if p.ld != nil {
		p.ctrl.LogicalDrives = append(p.ctrl.LogicalDrives, *p.ld)
		p.ld = nil
	}
}

func (p *ipsParser) flushPD() {
	if p.pd != nil && p.isDisk {
		p.ctrl.PhysicalDrives = append(p.ctrl.PhysicalDrives, *p.pd)
	}
	p.pd = nil
}

// provisional marks a cluster line read in a format no capture confirms.
func (p *ipsParser) provisional(l line, what string) {
	p.ctrl.Cluster.Provisional = true
	p.warn(l, "provisional: read %q as %s; no capture confirms this format", strings.TrimSpace(l.text), what)
}

// line reads one line between the header and the closing line.
func (p *ipsParser) line(l line) error {
	t := strings.TrimSpace(l.text)
	if t == "" || isRule(t) {
		return nil
	}
	if done, err := p.device(l, t); done || err != nil {
		return err
	}
	key, val, ok := keyValueSpaced(t)
	if !ok {
		p.title(l, t)
		return nil
	}
	nk := normKey(key)
	switch {
	case p.ld != nil && p.section != "pd" && p.section != "ctrl":
		return p.ldKey(l, t, nk, val)
	case p.pd != nil:
		p.pdKey(l, t, nk, val)
	default:
		p.controllerKey(l, t, nk, val)
	}
	return nil
}

// device reads a line that names the controller or starts a logical
// drive, a stripe order (array), a channel or a target.
func (p *ipsParser) device(l line, t string) (bool, error) {
	if m := ipsReadRe.FindStringSubmatch(t); m != nil {
		p.ctrl.ID = m[1]
		return true, nil
	}
	if m := ipsLDRe.FindStringSubmatch(t); m != nil {
		p.flushLD()
		p.ld = &LogicalDrive{ID: m[1], Condition: ConditionUnknown}
		return true, nil
	}
	if m := ipsStripeRe.FindStringSubmatch(t); m != nil {
		a := Array{ID: m[1], Condition: ConditionUnknown}
		for _, f := range strings.Fields(m[2]) {
			if !ipsMemberRe.MatchString(f) {
				return true, &ParseError{Tool: ToolIpssend, Line: l.n, Err: ErrSyntax,
					Expected: `stripe order as "channel,id" pairs`, Got: f}
			}
			a.Members = append(a.Members, f)
		}
		p.ctrl.Arrays = append(p.ctrl.Arrays, a)
		return true, nil
	}
	if m := ipsChannelRe.FindStringSubmatch(t); m != nil {
		p.flushPD()
		c, _ := atoi(m[1])
		p.channel = ptr(c)
		return true, nil
	}
	if m := ipsTargetRe.FindStringSubmatch(t); m != nil {
		p.flushPD()
		id, _ := atoi(m[1])
		p.pd = &PhysicalDrive{Channel: p.channel, Target: ptr(id), Condition: ConditionUnknown}
		p.isDisk = true
		return true, nil
	}
	return false, nil
}

// title reads a line that is not "Key : value": a section title or the
// "Device is a ..." line of a physical device.
func (p *ipsParser) title(l line, t string) {
	switch nk := normKey(t); {
	case nk == "logical drive information":
		p.flushPD()
		p.section = "ld"
	case nk == "physical device information":
		p.flushLD()
		p.section = "pd"
	case strings.HasPrefix(nk, "controller information") || strings.HasPrefix(nk, "adapter information") ||
		strings.Contains(nk, "version information") || strings.HasPrefix(nk, "serveraid controller number"):
		p.flushLD()
		p.flushPD()
		p.section = "ctrl"
		if m := digitsRe.FindString(nk); m != "" && strings.HasPrefix(nk, "serveraid controller number") {
			p.ctrl.ID = m
		}
	case strings.HasPrefix(nk, "device is a"):
		p.isDisk = strings.Contains(nk, "disk") || strings.Contains(nk, "drive")
	default:
		p.warn(l, "unrecognised line %q", t)
	}
}

// ldKey reads a line of a logical drive.
func (p *ipsParser) ldKey(l line, t, nk, val string) error {
	ld := p.ld
	switch {
	case nk == "status of logical drive":
		ld.setState(val)
	case nk == "raid level":
		ld.setLevel(val)
	case nk == "size (in mb)":
		ld.setSize(val + " MB")
	case nk == "write cache status" || nk == "write cache mode" || nk == "write cache":
		ld.setWriteCache(val)
	case nk == "part of array":
		ld.Array = ptr(val)
	case nk == "part of merge group":
		mg, ok := atoi(val)
		if !ok {
			return &ParseError{Tool: ToolIpssend, Line: l.n, Err: ErrSyntax, Expected: "a merge group number", Got: val}
		}
		ld.setMergeGroup(mg)
	case ipsIgnoredLDKeys[nk]:
	default:
		p.warn(l, "unrecognised logical drive line %q", t)
	}
	return nil
}

// pdKey reads a line of a physical device.
func (p *ipsParser) pdKey(l line, t, nk, val string) {
	pd := p.pd
	switch {
	case nk == "state":
		pd.State = ptr(val)
		pd.Condition = condition(val)
	case strings.HasPrefix(nk, "size (in mb)"):
		// "34715/71096368": MB and exact sectors, as sas2ircu prints
		// them.
		pd.SizeBytes = sasDriveSize(strings.ReplaceAll(val, " ", ""))
		if mb, _, _ := strings.Cut(val, "/"); pd.SizeBytes == nil {
			if b, ok := parseSize(strings.TrimSpace(mb) + " MB"); ok {
				pd.SizeBytes = ptr(b)
			}
		}
	case nk == "device id":
		pd.Serial = ptr(val)
	case nk == "fru part number":
		pd.Model = ptr(val)
	case nk == "scsi id" || nk == "pfa (yes/no)":
	default:
		p.warn(l, "unrecognised physical device line %q", t)
	}
}

// controllerKey reads a line of the controller's information: model,
// firmware, status, the (provisional) cluster lines and the battery.
func (p *ipsParser) controllerKey(l line, t, nk, val string) {
	ctrl := &p.ctrl
	switch {
	case nk == "controller type":
		ctrl.Model = ptr(val)
	case nk == "firmware version":
		ctrl.Firmware = ptr(val)
	case nk == "controller status" || nk == "status":
		ctrl.Status = ptr(val)
	case nk == "controller name" || nk == "cluster controller name":
		ctrl.Cluster.Name = ptr(val)
		p.provisional(l, "controller name")
	case nk == "partner name" || nk == "partner controller name":
		ctrl.Cluster.PartnerName = ptr(val)
		p.provisional(l, "partner name")
	case strings.Contains(nk, "initiator id"):
		p.initiator(l, nk, val)
	case nk == "battery-backup cache" || nk == "battery backup cache":
		ctrl.Battery = &Battery{State: ptr(val), Present: yesNo(strings.Fields(val + " ?")[0])}
		if st := condition(val); st == ConditionFailed {
			ctrl.Battery.Failed = ptr(true)
		}
	case nk == "controlling bios version" || nk == "actual bios version" || nk == "device driver version" ||
		nk == "controller slot information":
	default:
		p.warn(l, "unrecognised line %q", t)
	}
}

// initiator reads an initiator-ID line: one channel's ID, or with no
// channel number the ID of every channel (read provisionally).
func (p *ipsParser) initiator(l line, nk, val string) {
	id, ok := atoi(val)
	if !ok {
		p.warn(l, "initiator ID %q is not a number", val)
		return
	}
	ch := 0 // 0: one ID printed for every channel
	if m := digitsRe.FindString(nk); m != "" {
		ch, _ = atoi(m)
	}
	p.ctrl.Cluster.Initiators = append(p.ctrl.Cluster.Initiators, ChannelInitiator{Channel: ch, ID: ptr(id)})
	what := fmt.Sprintf("the initiator ID of channel %d", ch)
	if ch == 0 {
		what = "the initiator ID of every channel"
	}
	p.provisional(l, what)
}

// firstNonEmpty returns the first line with text, or line 1 with no text
// for blank input.
func firstNonEmpty(ls []line) line {
	for _, l := range ls {
		if strings.TrimSpace(l.text) != "" {
			return l
		}
	}
	return line{n: 1}
}

// checkCompleted requires the Adaptec/IBM closing line.
func checkCompleted(tool Tool, last line) error {
	t := strings.TrimSpace(last.text)
	if strings.EqualFold(t, "Command completed successfully.") {
		return nil
	}
	if strings.HasPrefix(strings.ToLower(t), "command failed") || strings.HasPrefix(strings.ToLower(t), "command aborted") {
		return &ParseError{Tool: tool, Line: last.n, Err: ErrToolFailed, Got: t}
	}
	return &ParseError{Tool: tool, Line: last.n, Err: ErrTruncated,
		Expected: `"Command completed successfully." as the last line`, Got: t}
}
