package raidctl

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// ToolArcconf is the Tool of arcconf GETCONFIG <n> AL|AD|LD|PD.
const ToolArcconf Tool = "arcconf"

// detectArcconf is the signature Detect looks for.
var detectArcconf = regexp.MustCompile(`(?im)^\s*Controllers found:\s*\d+`)

var (
	arcFoundRe = regexp.MustCompile(`(?i)^Controllers found:\s*(\d+)$`)
	arcLDRe    = regexp.MustCompile(`(?i)^Logical (?:device|drive) number (\d+)$`)
	arcArrayRe = regexp.MustCompile(`(?i)^Array Number (\d+)$`)
	// arcArrayLDRe is a logical device line of an array section:
	// "Logical 0 : Optimal (1, Data, 228902 MB) RAID1-240GB  OS".
	arcArrayLDKeyRe = regexp.MustCompile(`(?i)^Logical (\d+)$`)
	arcArrayLDValRe = regexp.MustCompile(`^(\S[^(]*?)\s*\(([^,()]+),\s*[^,()]+,\s*([^,()]+)\)\s*(.*)$`)
	arcChannelRe    = regexp.MustCompile(`(?i)^Channel #(\d+):?$`)
	arcDeviceRe     = regexp.MustCompile(`(?i)^Device #(\d+)$`)
	arcInitiatorRe  = regexp.MustCompile(`(?i)^Initiator at SCSI ID (\d+)$`)
	arcChanDevRe    = regexp.MustCompile(`^(\d+),(\d+)`)
	arcEncSlotRe    = regexp.MustCompile(`(?i)Enclosure (\d+), Slot (\d+)`)
	arcSegmentRe    = regexp.MustCompile(`(?i)^(?:(?:Group \d+, )?Segment \d+|Device \d+)$`)
	arcParenRe      = regexp.MustCompile(`\(([^)]*)\)`)
)

// ParseArcconf reads `arcconf GETCONFIG <n> AL|AD|LD|PD|AR` output, and
// `arcconf GETSTATUS <n>` (its running tasks only, with a warning) (Adaptec,
// Microsemi, IBM ServeRAID-8). Both label generations are accepted
// ("Logical device number" / "Status of logical device" / "Write-cache
// mode" of 5.x-7.x firmware, and "Logical Device number" / "Status of
// Logical Device" / "Caching" of arcconf 3.x); keys match without regard to
// case or spacing. arcconf prints hundreds of keys the model does not need:
// those are skipped, while truncation is caught by the required closing
// line. Per-channel "Initiator at SCSI ID n" lines become the cluster
// initiator IDs. arcconf prints no controller number, so Controller.ID is
// empty unless the caller fills it in.
func ParseArcconf(data []byte) (*System, error) {
	const tool = ToolArcconf
	ls := splitLines(data)
	// Skip leading blank lines and captured shell prompts ("# arcconf ...").
	first := line{n: 1}
	for _, l := range ls {
		t := strings.TrimSpace(l.text)
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		first = l
		break
	}
	if !arcFoundRe.MatchString(strings.TrimSpace(first.text)) {
		return nil, &ParseError{Tool: tool, Line: first.n, Err: ErrForeign,
			Expected: `"Controllers found: N" as the first line`, Got: first.text}
	}
	last := lastNonEmpty(ls)
	if err := checkCompleted(tool, last); err != nil {
		return nil, err
	}
	sys := &System{Tool: tool}
	p := &arcParser{ctrl: Controller{Vendor: "Adaptec"}, ldCount: -1}
	for _, l := range ls {
		if l.n <= first.n || l.n >= last.n {
			continue
		}
		p.line(l)
	}
	p.flush()
	ctrl := p.ctrl
	arcArrayLDs(&ctrl, p.arrLDs)
	if p.ldCount >= 0 && p.ldListed && p.ldCount != len(ctrl.LogicalDrives) {
		sys.Warnings = append(sys.Warnings, fmt.Sprintf("arcconf line %d: the controller counts %d logical devices but the output lists %d: the capture may be truncated or edited", p.ldCountLine, p.ldCount, len(ctrl.LogicalDrives)))
	}
	if !p.sawSection {
		if st, ok := arcconfStatus(ls); ok {
			return st, nil
		}
		return nil, &ParseError{Tool: tool, Line: last.n, Err: ErrForeign,
			Expected: "a GETCONFIG section (Controller information, Logical device information or Physical Device information)"}
	}
	normalizeConditions(&ctrl)
	sys.Controllers = append(sys.Controllers, ctrl)
	return sys, nil
}

// arcParser is the state of ParseArcconf: the controller, the section and
// subsection being read and the device they describe.
type arcParser struct {
	ctrl         Controller
	section, sub string
	ld           *LogicalDrive
	pd           *PhysicalDrive
	arr          *Array
	isDisk       bool
	channel      *int
	sawSection   bool
	prevRule     bool
	arrLDs       []arrayLD // logical devices listed inside array sections
	// ldCount is the controller's "Logical devices/Failed/Degraded" (or
	// "Logical drives/Offline/Critical") total, and the line.
	ldCount, ldCountLine int
	ldListed             bool // a section that lists logical devices was read
	wcPrimary            bool // LD write cache came from a "mode"/"status" key
}

// flush adds the device being read to the controller.
func (p *arcParser) flush() {
	if p.ld != nil {
		p.ctrl.LogicalDrives = append(p.ctrl.LogicalDrives, *p.ld)
		p.ld = nil
	}
	if p.pd != nil && p.isDisk {
		p.ctrl.PhysicalDrives = append(p.ctrl.PhysicalDrives, *p.pd)
	}
	p.pd = nil
	if p.arr != nil {
		p.ctrl.Arrays = append(p.ctrl.Arrays, *p.arr)
		p.arr = nil
	}
}

// line reads one line between the header and the closing line.
func (p *arcParser) line(l line) {
	t := strings.TrimSpace(l.text)
	if t == "" {
		return
	}
	if isRule(t) {
		p.prevRule = true
		return
	}
	wasRule := p.prevRule
	p.prevRule = false
	if p.device(t) {
		return
	}
	key, val, isKV := keyValueSpaced(t)
	if !isKV {
		p.title(l, t, wasRule)
		return
	}
	nk := arcKey(key)
	switch {
	case p.ld != nil && p.section == "ld":
		p.ldKey(key, nk, val)
	case p.arr != nil && p.section == "array":
		p.arrayKey(key, nk, val)
	case p.pd != nil && p.section == "pd":
		arcPDKey(p.pd, nk, val)
	case p.section == "ctrl":
		p.controllerKey(l, nk, val)
	}
}

// device reads a line that starts a device: a logical device, an array,
// and in the physical device section a channel, an initiator or a device.
func (p *arcParser) device(t string) bool {
	if m := arcLDRe.FindStringSubmatch(t); m != nil {
		p.flush()
		p.ld = &LogicalDrive{ID: m[1], Condition: ConditionUnknown}
		p.wcPrimary = false
		return true
	}
	if m := arcArrayRe.FindStringSubmatch(t); m != nil {
		p.flush()
		p.arr = &Array{ID: m[1], Condition: ConditionUnknown}
		return true
	}
	if p.section != "pd" {
		return false
	}
	if m := arcChannelRe.FindStringSubmatch(t); m != nil {
		p.flush()
		c, _ := atoi(m[1])
		p.channel = ptr(c)
		return true
	}
	if m := arcInitiatorRe.FindStringSubmatch(t); m != nil {
		id, _ := atoi(m[1])
		ch := -1
		if p.channel != nil {
			ch = *p.channel
		}
		p.ctrl.Cluster.Initiators = append(p.ctrl.Cluster.Initiators, ChannelInitiator{Channel: ch, ID: ptr(id)})
		return true
	}
	if arcDeviceRe.MatchString(t) {
		p.flush()
		p.pd = &PhysicalDrive{Channel: p.channel, Condition: ConditionUnknown}
		p.isDisk = false
		return true
	}
	return false
}

// title reads a line that is not "Key : value": a section or subsection
// title, or the "Device is a ..." line of a physical device.
func (p *arcParser) title(l line, t string, wasRule bool) {
	nk := arcKey(t)
	switch {
	case nk == "controller information":
		p.flush()
		p.section, p.sub, p.sawSection = "ctrl", "", true
	case nk == "logical device information":
		p.flush()
		p.section, p.sub, p.sawSection, p.ldListed = "ld", "", true, true
	case nk == "physical device information":
		p.flush()
		p.section, p.sub, p.sawSection = "pd", "", true
		p.channel = nil
	case nk == "array information":
		p.flush()
		p.section, p.sub, p.sawSection, p.ldListed = "array", "", true, true
	case strings.HasPrefix(nk, "device is a"):
		p.isDisk = strings.Contains(nk, "hard drive") || strings.Contains(nk, "hard disk") ||
			strings.Contains(nk, "solid state")
	case wasRule && !strings.HasPrefix(l.text, " "):
		// An unindented title between rules opens a section this parser
		// does not read (maxCache, connectors, ...).
		p.flush()
		p.section, p.sub = "other", ""
	case wasRule:
		// An indented title between rules opens a subsection.
		p.sub = nk
	}
}

// ldKey reads a line of a logical device.
func (p *arcParser) ldKey(key, nk, val string) {
	ld := p.ld
	switch {
	case nk == "logical device name":
		ld.Name = ptr(val)
	case nk == "raid level":
		ld.setLevel(val)
	case nk == "status of logical device":
		ld.setState(val)
		ld.Progress = arcProgress(val)
	case nk == "size":
		ld.setSize(val)
	case nk == "array":
		ld.Array = ptr(val)
	case nk == "volume unique identifier" || nk == "unique identifier":
		ld.UUID = ptr(val)
	case nk == "write-cache mode" || nk == "write-cache status" || nk == "caching":
		ld.setWriteCache(val)
		p.wcPrimary = true
	case nk == "write-cache setting":
		if !p.wcPrimary {
			ld.setWriteCache(val)
		}
	case arcSegmentRe.MatchString(key) && strings.Contains(p.sub, "information"):
		if m := arcMember(val); m != "" {
			ld.Members = append(ld.Members, m)
		}
	case strings.HasPrefix(nk, "stripe order"):
		ld.Members = append(ld.Members, strings.Fields(val)...)
	}
}

// arrayKey reads a line of an array (GETCONFIG AR, or AL on arcconf 3.x):
// its state, its member drives and the logical devices it lists.
func (p *arcParser) arrayKey(key, nk, val string) {
	arr := p.arr
	switch {
	case arcArrayLDKeyRe.MatchString(key) && strings.Contains(p.sub, "logical"):
		p.arrLDs = append(p.arrLDs, arrayLD{id: arcArrayLDKeyRe.FindStringSubmatch(key)[1], array: arr.ID, val: val})
	case nk == "status":
		arr.State = ptr(val)
		arr.Condition = condition(val)
	case arcSegmentRe.MatchString(key) && strings.Contains(p.sub, "physical"):
		if m := arcMember(val); m != "" {
			arr.Members = append(arr.Members, m)
		}
	}
}

// arcPDKey reads a line of a physical device.
func arcPDKey(pd *PhysicalDrive, nk, val string) {
	switch {
	case nk == "state":
		pd.State = ptr(val)
		pd.Condition = condition(val)
	case strings.HasPrefix(nk, "reported channel,device"):
		if m := arcChanDevRe.FindStringSubmatch(val); m != nil {
			c, _ := atoi(m[1])
			d, _ := atoi(m[2])
			pd.Channel, pd.Target = ptr(c), ptr(d)
		}
	case nk == "reported location":
		if m := arcEncSlotRe.FindStringSubmatch(val); m != nil {
			e, _ := atoi(m[1])
			s, _ := atoi(m[2])
			pd.Enclosure, pd.Slot = ptr(e), ptr(s)
		}
	case nk == "model":
		if v := strings.TrimSpace(val); v != "" {
			pd.Model = ptr(v)
		}
	case nk == "serial number":
		if v := strings.TrimSpace(val); v != "" {
			pd.Serial = ptr(v)
		}
	case nk == "size" || nk == "total size":
		if b, ok := parseSize(val); ok {
			pd.SizeBytes = ptr(b)
		}
	case nk == "array":
		pd.Array = ptr(val)
	}
}

// controllerKey reads a line of Controller information, with its battery
// and ZMM (flash-backed cache protection) subsections.
func (p *arcParser) controllerKey(l line, nk, val string) {
	ctrl := &p.ctrl
	switch {
	case nk == "controller status":
		ctrl.Status = ptr(val)
	case nk == "logical devices/failed/degraded" || nk == "logical drives/offline/critical":
		if n, ok := atoi(strings.SplitN(val, "/", 2)[0]); ok {
			p.ldCount, p.ldCountLine = n, l.n
		}
	case nk == "controller model":
		ctrl.Model = ptr(val)
	case nk == "controller serial number":
		ctrl.Serial = ptr(val)
	case nk == "firmware" && strings.Contains(p.sub, "version"):
		ctrl.Firmware = ptr(val)
	case strings.HasPrefix(nk, "pci address"):
		ctrl.PCIAddress = ptr(val)
	case nk == "status" && (strings.Contains(p.sub, "battery") || strings.Contains(p.sub, "zmm")):
		// "Controller ZMM Information": flash-backed cache protection
		// (zero-maintenance module, a supercap).
		ctrl.Battery = arcBattery(ctrl.Battery, val)
	case nk == "backup power status", nk == "overall backup unit status":
		ctrl.Battery = arcBattery(ctrl.Battery, val)
	case nk == "backup unit type":
		if ctrl.Battery == nil {
			ctrl.Battery = &Battery{}
		}
		ctrl.Battery.Model = ptr(val)
	}
}

var arcPercentRe = regexp.MustCompile(`(\d+(?:\.\d+)?)\s*%`)

// arcProgress reads the task progress a logical device's status carries:
// "Degraded, Rebuilding ( Rebuild : 38 % )".
func arcProgress(status string) *float64 {
	m := arcPercentRe.FindStringSubmatch(status)
	if m == nil {
		return nil
	}
	f, err := strconv.ParseFloat(m[1], 64)
	if err != nil || f < 0 || f > 100 {
		return nil
	}
	return &f
}

// arcconfStatus reads `arcconf GETSTATUS <n>`: the running tasks
// ("Logical device Task:" blocks with the logical device, the operation,
// its status and percentage). The model holds those logical devices only,
// each with its task as state and progress, and a warning says that the
// output lists tasks, not the configuration. ok is false when data holds
// no task block.
func arcconfStatus(ls []line) (*System, bool) {
	ctrl := Controller{Vendor: "Adaptec"}
	var cur *LogicalDrive
	var op, status string
	flush := func() {
		if cur == nil {
			return
		}
		st := strings.TrimSpace(op + ": " + status)
		cur.State = ptr(strings.Trim(st, ": "))
		if strings.EqualFold(status, "In Progress") {
			cur.Condition = ConditionRebuilding
		}
		ctrl.LogicalDrives = append(ctrl.LogicalDrives, *cur)
		cur, op, status = nil, "", ""
	}
	inTask := false
	for _, l := range ls {
		t := strings.TrimSpace(l.text)
		if strings.EqualFold(t, "Logical device Task:") {
			flush()
			inTask = true
			cur = &LogicalDrive{Condition: ConditionUnknown}
			continue
		}
		if !inTask || cur == nil {
			continue
		}
		key, val, ok := keyValueSpaced(t)
		if !ok {
			continue
		}
		switch strings.ToLower(key) {
		case "logical device":
			cur.ID = val
		case "current operation":
			op = val
		case "status":
			status = val
		case "percentage complete":
			if f, err := strconv.ParseFloat(strings.TrimSuffix(val, "%"), 64); err == nil {
				cur.Progress = ptr(f)
			}
		}
	}
	flush()
	if len(ctrl.LogicalDrives) == 0 {
		return nil, false
	}
	return &System{Tool: ToolArcconf, Controllers: []Controller{ctrl},
		Warnings: []string{"arcconf GETSTATUS output: it lists the running tasks only (the logical devices below, with their task); read arcconf GETCONFIG <n> AL for the configuration, drives and battery"}}, true
}

// arrayLD is a "Logical N : ..." line of an array section.
type arrayLD struct{ id, array, val string }

// arcArrayLDs links the logical devices listed in array sections to their
// array, and adds those the output lists only there (getconfig AR).
func arcArrayLDs(ctrl *Controller, lds []arrayLD) {
	for _, a := range lds {
		found := false
		for i := range ctrl.LogicalDrives {
			if ld := &ctrl.LogicalDrives[i]; ld.ID == a.id {
				found = true
				if ld.Array == nil {
					ld.Array = ptr(a.array)
				}
			}
		}
		if found {
			continue
		}
		ld := LogicalDrive{ID: a.id, Array: ptr(a.array), Condition: ConditionUnknown}
		if m := arcArrayLDValRe.FindStringSubmatch(a.val); m != nil {
			ld.State = ptr(strings.TrimSpace(m[1]))
			ld.Condition = condition(m[1])
			ld.setLevel(strings.TrimSpace(m[2]))
			ld.setSize(strings.TrimSpace(m[3]))
			if n := strings.TrimSpace(m[4]); n != "" {
				ld.Name = ptr(n)
			}
		} else {
			ld.State = ptr(a.val)
		}
		ctrl.LogicalDrives = append(ctrl.LogicalDrives, ld)
	}
}

// arcBattery records a battery/backup-power status line.
func arcBattery(b *Battery, val string) *Battery {
	if b == nil {
		b = &Battery{}
	}
	b.State = ptr(val)
	l := strings.ToLower(val)
	switch {
	case strings.Contains(l, "not installed") || strings.Contains(l, "not present"):
		b.Present = ptr(false)
	case condition(val) == ConditionFailed || strings.Contains(l, "replace"):
		b.Present, b.Failed = ptr(true), ptr(true)
	case condition(val) == ConditionOK || strings.Contains(l, "charging") || l == "ready":
		b.Present, b.Failed = ptr(true), ptr(false)
	}
	return b
}

// arcMember turns a segment value such as "Present (0,0) 3KT2ZPHH" or
// "Present (457862MB, SATA, SSD, Connector:0, Device:0) 7CS009RP" into a
// member reference ("0,0", "Connector:0,Device:0", "Enclosure:1,Slot:0").
func arcMember(val string) string {
	m := arcParenRe.FindStringSubmatch(val)
	if m == nil {
		return ""
	}
	in := strings.TrimSpace(m[1])
	if arcChanDevRe.MatchString(in) && !strings.Contains(in, ":") {
		return in
	}
	var parts []string
	for _, f := range strings.Split(in, ",") {
		f = strings.TrimSpace(f)
		if strings.Contains(f, ":") {
			parts = append(parts, f)
		}
	}
	return strings.Join(parts, ",")
}

// arcKey normalises a key and folds the oldest label generation ("Logical
// drive ...", ServeRAID-8 era) onto "Logical device ...".
func arcKey(k string) string {
	return strings.ReplaceAll(normKey(k), "logical drive", "logical device")
}
