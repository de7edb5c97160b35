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

	sys := &System{Tool: tool}
	ctrl := Controller{ID: "1", Vendor: "IBM"}
	var (
		section string
		ld      *LogicalDrive
		pd      *PhysicalDrive
		channel *int
		isDisk  bool
	)
	warn := func(l line, format string, args ...any) {
		sys.Warnings = append(sys.Warnings, fmt.Sprintf("ipssend line %d: ", l.n)+fmt.Sprintf(format, args...))
	}
	flushLD := func() {
		if ld != nil {
			ctrl.LogicalDrives = append(ctrl.LogicalDrives, *ld)
			ld = nil
		}
	}
	flushPD := func() {
		if pd != nil && isDisk {
			ctrl.PhysicalDrives = append(ctrl.PhysicalDrives, *pd)
		}
		pd = nil
	}
	provisional := func(l line, what string) {
		ctrl.Cluster.Provisional = true
		warn(l, "provisional: read %q as %s; no capture confirms this format", strings.TrimSpace(l.text), what)
	}
	for _, l := range ls {
		if l.n <= first.n || l.n >= last.n {
			continue
		}
		t := strings.TrimSpace(l.text)
		if t == "" || isRule(t) {
			continue
		}
		if m := ipsReadRe.FindStringSubmatch(t); m != nil {
			ctrl.ID = m[1]
			continue
		}
		if m := ipsLDRe.FindStringSubmatch(t); m != nil {
			flushLD()
			ld = &LogicalDrive{ID: m[1], Condition: ConditionUnknown}
			continue
		}
		if m := ipsStripeRe.FindStringSubmatch(t); m != nil {
			a := Array{ID: m[1], Condition: ConditionUnknown}
			for _, f := range strings.Fields(m[2]) {
				if !ipsMemberRe.MatchString(f) {
					return nil, &ParseError{Tool: tool, Line: l.n, Err: ErrSyntax,
						Expected: `stripe order as "channel,id" pairs`, Got: f}
				}
				a.Members = append(a.Members, f)
			}
			ctrl.Arrays = append(ctrl.Arrays, a)
			continue
		}
		if m := ipsChannelRe.FindStringSubmatch(t); m != nil {
			flushPD()
			c, _ := atoi(m[1])
			channel = ptr(c)
			continue
		}
		if m := ipsTargetRe.FindStringSubmatch(t); m != nil {
			flushPD()
			id, _ := atoi(m[1])
			pd = &PhysicalDrive{Channel: channel, Target: ptr(id), Condition: ConditionUnknown}
			isDisk = true
			continue
		}
		key, val, ok := keyValueSpaced(t)
		if !ok {
			switch nk := normKey(t); {
			case nk == "logical drive information":
				flushPD()
				section = "ld"
			case nk == "physical device information":
				flushLD()
				section = "pd"
			case strings.HasPrefix(nk, "controller information") || strings.HasPrefix(nk, "adapter information") ||
				strings.Contains(nk, "version information") || strings.HasPrefix(nk, "serveraid controller number"):
				flushLD()
				flushPD()
				section = "ctrl"
				if m := digitsRe.FindString(nk); m != "" && strings.HasPrefix(nk, "serveraid controller number") {
					ctrl.ID = m
				}
			case strings.HasPrefix(nk, "device is a"):
				isDisk = strings.Contains(nk, "disk") || strings.Contains(nk, "drive")
			default:
				warn(l, "unrecognised line %q", t)
			}
			continue
		}
		nk := normKey(key)
		switch {
		case ld != nil && section != "pd" && section != "ctrl":
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
					return nil, &ParseError{Tool: tool, Line: l.n, Err: ErrSyntax, Expected: "a merge group number", Got: val}
				}
				ld.setMergeGroup(mg)
			case ipsIgnoredLDKeys[nk]:
			default:
				warn(l, "unrecognised logical drive line %q", t)
			}
		case pd != nil:
			switch {
			case nk == "state":
				pd.State = ptr(val)
				pd.Condition = condition(val)
			case strings.HasPrefix(nk, "size (in mb)"):
				// "34715/71096368": MB and exact sectors, as sas2ircu
				// prints them.
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
				warn(l, "unrecognised physical device line %q", t)
			}
		default:
			switch {
			case nk == "controller type":
				ctrl.Model = ptr(val)
			case nk == "firmware version":
				ctrl.Firmware = ptr(val)
			case nk == "controller status" || nk == "status":
				ctrl.Status = ptr(val)
			case nk == "controller name" || nk == "cluster controller name":
				ctrl.Cluster.Name = ptr(val)
				provisional(l, "controller name")
			case nk == "partner name" || nk == "partner controller name":
				ctrl.Cluster.PartnerName = ptr(val)
				provisional(l, "partner name")
			case strings.Contains(nk, "initiator id"):
				id, ok := atoi(val)
				if !ok {
					warn(l, "initiator ID %q is not a number", val)
					continue
				}
				ch := 0 // 0: one ID printed for every channel
				if m := digitsRe.FindString(nk); m != "" {
					ch, _ = atoi(m)
				}
				ctrl.Cluster.Initiators = append(ctrl.Cluster.Initiators, ChannelInitiator{Channel: ch, ID: ptr(id)})
				what := fmt.Sprintf("the initiator ID of channel %d", ch)
				if ch == 0 {
					what = "the initiator ID of every channel"
				}
				provisional(l, what)
			case nk == "battery-backup cache" || nk == "battery backup cache":
				ctrl.Battery = &Battery{State: ptr(val), Present: yesNo(strings.Fields(val + " ?")[0])}
				if st := condition(val); st == ConditionFailed {
					ctrl.Battery.Failed = ptr(true)
				}
			case nk == "controlling bios version" || nk == "actual bios version" || nk == "device driver version" ||
				nk == "controller slot information":
			default:
				warn(l, "unrecognised line %q", t)
			}
		}
	}
	flushLD()
	flushPD()
	if len(ctrl.LogicalDrives) == 0 && len(ctrl.PhysicalDrives) == 0 && ctrl.Model == nil && ctrl.Cluster.Name == nil {
		return nil, &ParseError{Tool: tool, Line: last.n, Err: ErrTruncated,
			Expected: "logical drive, physical device or controller information before the closing line"}
	}
	normalizeConditions(&ctrl)
	sys.Controllers = append(sys.Controllers, ctrl)
	return sys, nil
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
