package raidctl

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// ToolStorcli is the Tool of storcli /call show all J (JSON).
const ToolStorcli Tool = "storcli"

// detectStorcliJSON is the signature Detect looks for: a JSON object with
// a "Controllers" list.
func detectStorcliJSON(data []byte) bool {
	t := bytes.TrimSpace(data)
	return bytes.HasPrefix(t, []byte("{")) && bytes.Contains(t, []byte(`"Controllers"`))
}

var storcliVDKeyRe = regexp.MustCompile(`^/c\d+/v\d+$`)
var storcliDriveKeyRe = regexp.MustCompile(`^Drive /c\d+/e\d+/s\d+$|^Drive /c\d+/s\d+$`)

// ParseStorcliJSON reads storcli/perccli JSON output (commands ending in
// "J"): `/call show all J` (preferred: controller, cluster, battery, VDs and
// PDs), `/call show J`, `/cX/vY show all J`, `/cX/eALL/sALL show all J`
// and `/cX/eALL/sALL show J`. A controller whose Command Status is Failure but which still carries
// Response Data is read and a warning is added; one without data is an
// error. Drives come from "PD LIST", "PDs for VD n", "Drive Information"
// and the "Drive /cX/eY/sZ" sections, also when those sit inside
// "Physical Device Information" (HBA or JBOD form); a list shorter than
// the controller's own count of it (Virtual Drives, Physical Drives, the
// enclosures' PD column) is a warning, and so is a drive with a foreign
// configuration. Shared is left unknown: no capture shows a per-drive
// sharing setting, and the controller's cluster state says nothing about
// one.
func ParseStorcliJSON(data []byte) (*System, error) {
	const tool = ToolStorcli
	var doc struct {
		Controllers []struct {
			CommandStatus map[string]any             `json:"Command Status"`
			ResponseData  map[string]json.RawMessage `json:"Response Data"`
		} `json:"Controllers"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return nil, jsonError(tool, data, err)
	}
	if dec.More() {
		off := dec.InputOffset()
		return nil, &ParseError{Tool: tool, Line: lineAt(data, off), Err: ErrSyntax, Expected: "end of input after the JSON document"}
	}
	if doc.Controllers == nil {
		return nil, &ParseError{Tool: tool, Line: 1, Err: ErrForeign, Expected: `a JSON object with a "Controllers" array`}
	}
	sys := &System{Tool: tool}
	for i, c := range doc.Controllers {
		status, _ := c.CommandStatus["Status"].(string)
		desc := fmt.Sprint(c.CommandStatus["Description"]) + storcliDetail(c.CommandStatus["Detailed Status"])
		id := fmt.Sprint(i)
		if v, ok := c.CommandStatus["Controller"]; ok {
			id = fmt.Sprint(v)
		}
		if c.CommandStatus == nil {
			return nil, &ParseError{Tool: tool, Line: lineOf(data, `"Controllers"`), Err: ErrForeign,
				Expected: fmt.Sprintf(`"Command Status" in controller entry %d`, i)}
		}
		if !strings.EqualFold(status, "Success") {
			if len(c.ResponseData) == 0 {
				return nil, &ParseError{Tool: tool, Line: lineOf(data, `"Status"`), Err: ErrToolFailed,
					Got: fmt.Sprintf("controller %s: %s: %s", id, status, desc)}
			}
			sys.Warnings = append(sys.Warnings, fmt.Sprintf("storcli controller %s: command status %q (%s); data read anyway", id, status, desc))
		}
		ctrl, warnings, err := storcliController(data, id, c.ResponseData)
		if err != nil {
			return nil, err
		}
		sys.Controllers = append(sys.Controllers, *ctrl)
		sys.Warnings = append(sys.Warnings, warnings...)
	}
	if len(sys.Controllers) == 0 {
		return nil, &ParseError{Tool: tool, Line: lineOf(data, `"Controllers"`), Err: ErrForeign, Expected: "at least one controller"}
	}
	return sys, nil
}

// storcli VD and PD table rows.
type storcliVD struct {
	DGVD  string `json:"DG/VD"`
	Type  string `json:"TYPE"`
	State string `json:"State"`
	Cache string `json:"Cache"`
	Size  string `json:"Size"`
	Name  string `json:"Name"`
}

type storcliPD struct {
	EIDSlt string `json:"EID:Slt"`
	DID    any    `json:"DID"`
	State  string `json:"State"`
	DG     any    `json:"DG"`
	Size   string `json:"Size"`
	Model  string `json:"Model"`
}

type storcliBattery struct {
	Model string `json:"Model"`
	State string `json:"State"`
}

// storcliController reads one controller's Response Data, with the
// warnings its own counts call for.
func storcliController(data []byte, id string, rd map[string]json.RawMessage) (*Controller, []string, error) {
	d := &storJSON{data: data, rd: rd}
	ctrl := &Controller{ID: id, Vendor: "Broadcom/LSI"}
	for _, read := range []func(*Controller) error{d.controller, d.battery, d.logicalDrives, d.physicalDrives, d.arrays} {
		if err := read(ctrl); err != nil {
			return nil, nil, err
		}
	}
	// Dell PERC controllers (run through perccli) are Dell's.
	if ctrl.Model != nil && strings.HasPrefix(*ctrl.Model, "PERC ") {
		ctrl.Vendor = "Dell"
	}
	if !d.known {
		return nil, nil, &ParseError{Tool: ToolStorcli, Line: lineOf(data, `"Response Data"`), Err: ErrForeign,
			Expected: "controller, virtual drive or physical drive data (run `storcli /call show all J`)"}
	}
	warnings := storcliForeign(ctrl)
	normalizeConditions(ctrl)
	return ctrl, append(warnings, d.countWarnings(ctrl)...), nil
}

// storcliForeign takes the drives whose DG column reads "F" out of a drive
// group and says so: storcli's legend reads F as Foreign, a configuration
// written by another controller (on a shared bus, perhaps the partner's).
// The drive keeps its printed state; "F" is not a drive group of this
// controller.
func storcliForeign(ctrl *Controller) []string {
	var at []string
	for i, pd := range ctrl.PhysicalDrives {
		if pd.Array == nil || *pd.Array != "F" {
			continue
		}
		ctrl.PhysicalDrives[i].Array = nil
		loc := "?"
		if pd.Enclosure != nil && pd.Slot != nil {
			loc = fmt.Sprintf("%d:%d", *pd.Enclosure, *pd.Slot)
		} else if pd.Slot != nil {
			loc = fmt.Sprintf("slot %d", *pd.Slot)
		}
		at = append(at, loc)
	}
	if len(at) == 0 {
		return nil
	}
	return []string{fmt.Sprintf("storcli controller %s: drive(s) %s carry a foreign configuration (DG F): written by another controller, not part of this one's drive groups; see `storcli /c%s/fall show`", ctrl.ID, strings.Join(at, ", "), ctrl.ID)}
}

// countWarnings compares the lists read with the counts the controller
// prints beside them: "Virtual Drives" and "Physical Drives" (`show`,
// `show all`) and the PD column of "Enclosure LIST" or, in HBA (IT
// firmware) form, "Enclosure Information". A JSON document cannot be cut
// short and still decode, so a difference means drives the parser did not
// find (a layout it does not know), never a smaller system: it is said,
// not passed over as an empty or short list. Drives outside an enclosure
// ("Drive /cX/sZ") are not in the enclosure counts, so those may only
// fall short.
func (d *storJSON) countWarnings(ctrl *Controller) []string {
	var out []string
	count := func(key string) (int, bool) {
		raw, ok := d.rd[key]
		if !ok {
			return 0, false
		}
		var n int
		if json.Unmarshal(raw, &n) != nil {
			return 0, false // a list, not a count (`show` prints "Virtual Drives" as one)
		}
		return n, true
	}
	if n, ok := count("Virtual Drives"); ok && n != len(ctrl.LogicalDrives) {
		out = append(out, fmt.Sprintf("storcli controller %s: \"Virtual Drives\" counts %d, the output lists %d: virtual drives not read", ctrl.ID, n, len(ctrl.LogicalDrives)))
	}
	if n, ok := count("Physical Drives"); ok && n != len(ctrl.PhysicalDrives) {
		out = append(out, fmt.Sprintf("storcli controller %s: \"Physical Drives\" counts %d, the output lists %d: drives not read", ctrl.ID, n, len(ctrl.PhysicalDrives)))
	}
	for _, key := range []string{"Enclosure LIST", "Enclosure Information"} {
		var rows []map[string]any
		if json.Unmarshal(d.rd[key], &rows) != nil || rows == nil {
			continue
		}
		n := 0
		for _, r := range rows {
			if v, ok := r["PD"].(float64); ok {
				n += int(v)
			}
		}
		inEnclosure := 0
		for _, pd := range ctrl.PhysicalDrives {
			if pd.Enclosure != nil {
				inEnclosure++
			}
		}
		if inEnclosure < n {
			out = append(out, fmt.Sprintf("storcli controller %s: %q counts %d drives in its PD column, the output lists %d in an enclosure: drives not read", ctrl.ID, key, n, inEnclosure))
		}
	}
	return out
}

// storJSON decodes the sections of one controller's "Response Data".
type storJSON struct {
	data []byte // the whole output, to name the line of a bad section
	rd   map[string]json.RawMessage
	// known is set once a section this parser reads was found.
	known bool
}

// decodeIn decodes set[key] into v, if present. It is strict about shape:
// a key this parser relies on holding the wrong JSON type is an error
// naming its line.
func (d *storJSON) decodeIn(set map[string]json.RawMessage, key string, v any) error {
	raw, ok := set[key]
	if !ok {
		return nil
	}
	d.known = true
	if err := json.Unmarshal(raw, v); err != nil {
		return &ParseError{Tool: ToolStorcli, Line: lineOf(d.data, `"`+key+`"`), Err: ErrSyntax,
			Expected: fmt.Sprintf("%q to be a storcli table/section (%v)", key, err)}
	}
	return nil
}

func (d *storJSON) decode(key string, v any) error { return d.decodeIn(d.rd, key, v) }

// storStr is m[k] as text; nil when absent or null.
func storStr(m map[string]any, k string) *string {
	if v, ok := m[k]; ok && v != nil {
		s := strings.TrimSpace(fmt.Sprint(v))
		return &s
	}
	return nil
}

// controller reads the controller's own sections: Basics, Version,
// Status, Supported Adapter Operations, High Availability (`show all`), or
// the flat keys of `show`.
func (d *storJSON) controller(ctrl *Controller) error {
	var basics, version, status, ops, ha map[string]any
	for _, s := range []struct {
		key string
		dst *map[string]any
	}{{"Basics", &basics}, {"Version", &version}, {"Status", &status},
		{"Supported Adapter Operations", &ops}, {"High Availability", &ha}} {
		if err := d.decode(s.key, s.dst); err != nil {
			return err
		}
	}
	ctrl.Model, ctrl.Serial, ctrl.PCIAddress = storStr(basics, "Model"), storStr(basics, "Serial Number"), storStr(basics, "PCI Address")
	ctrl.Firmware = storStr(version, "Firmware Version")
	ctrl.Status = storStr(status, "Controller Status")
	// `show` (without all): flat keys.
	var top map[string]any
	for _, k := range []string{"Product Name", "Serial Number", "PCI Address", "FW Version"} {
		if raw, ok := d.rd[k]; ok {
			if top == nil {
				top = map[string]any{}
			}
			var v any
			if err := json.Unmarshal(raw, &v); err == nil {
				top[k] = v
			}
			d.known = true
		}
	}
	if top != nil {
		if ctrl.Model == nil {
			ctrl.Model = storStr(top, "Product Name")
		}
		if ctrl.Serial == nil {
			ctrl.Serial = storStr(top, "Serial Number")
		}
		if ctrl.PCIAddress == nil {
			ctrl.PCIAddress = storStr(top, "PCI Address")
		}
		if ctrl.Firmware == nil {
			ctrl.Firmware = storStr(top, "FW Version")
		}
	}
	if ops != nil {
		if s := storStr(ops, "Cluster Support"); s != nil {
			ctrl.Cluster.Supported = yesNo(*s)
		}
	}
	if ha != nil {
		ctrl.Cluster.Topology = storStr(ha, "Topology Type")
		if s := storStr(ha, "Cluster Permitted"); s != nil {
			ctrl.Cluster.Enabled = yesNo(*s)
		}
		if s := storStr(ha, "Cluster Active"); s != nil {
			ctrl.Cluster.Active = yesNo(*s)
		}
	}
	return nil
}

// battery reads HwCfg (whether a battery is fitted) and BBU_Info /
// Cachevault_Info (its state).
func (d *storJSON) battery(ctrl *Controller) error {
	var hwcfg map[string]any
	if err := d.decode("HwCfg", &hwcfg); err != nil {
		return err
	}
	if hwcfg != nil {
		if s := storStr(hwcfg, "BBU"); s != nil {
			ctrl.Battery = &Battery{Present: yesNo(*s)}
		}
	}
	for _, k := range []string{"BBU_Info", "Cachevault_Info"} {
		var rows []storcliBattery
		if err := d.decode(k, &rows); err != nil {
			return err
		}
		for _, r := range rows {
			ctrl.Battery = batteryFrom(ctrl.Battery, r.Model, r.State)
		}
	}
	return nil
}

// logicalDrives reads "VD LIST" (show all), "Virtual Drives" (list form)
// and "/cX/vY", then each "VDn Properties" for the configured write cache.
// Shared stays unknown: "Cluster Active: No" says nothing about a drive's
// own setting (issue 14 item 6).
func (d *storJSON) logicalDrives(ctrl *Controller) error {
	var vds []storcliVD
	for _, k := range sortedKeys(d.rd) {
		if k == "VD LIST" || storcliVDKeyRe.MatchString(k) || (k == "Virtual Drives" && bytes.HasPrefix(bytes.TrimSpace(d.rd[k]), []byte("["))) {
			var rows []storcliVD
			if err := d.decode(k, &rows); err != nil {
				return err
			}
			vds = append(vds, rows...)
		}
	}
	for _, r := range vds {
		ld := LogicalDrive{ID: r.DGVD, Condition: ConditionUnknown}
		if dg, vd, ok := strings.Cut(r.DGVD, "/"); ok {
			ld.ID = vd
			ld.Array = ptr(dg)
		}
		ld.setLevel(r.Type)
		ld.setState(r.State)
		ld.setSize(r.Size)
		if r.Name != "" {
			ld.Name = ptr(r.Name)
		}
		ld.WriteCacheText = ptr(r.Cache)
		if p, ok := storcliCache(r.Cache); ok {
			ld.WriteCache = ptr(p)
		}
		ctrl.LogicalDrives = append(ctrl.LogicalDrives, ld)
	}
	for i := range ctrl.LogicalDrives {
		var props map[string]any
		if err := d.decode("VD"+ctrl.LogicalDrives[i].ID+" Properties", &props); err != nil {
			return err
		}
		if s := storStr(props, "Write Cache(initial setting)"); s != nil && ctrl.LogicalDrives[i].WriteCache == nil {
			ctrl.LogicalDrives[i].setWriteCache(*s)
		}
	}
	return nil
}

// physicalDrives reads "PD LIST", "PDs for VD n", "Drive Information"
// (`/cX/eALL/sALL show`) and "Drive /cX/eY/sZ" (with its Detailed
// Information for the serial); in HBA (IT firmware) and
// JBOD form the drive sections sit inside "Physical Device Information"
// instead (the shape prometheus-community's storcli.py reads).
func (d *storJSON) physicalDrives(ctrl *Controller) error {
	var pdi map[string]json.RawMessage
	if err := d.decode("Physical Device Information", &pdi); err != nil {
		return err
	}
	for _, set := range []map[string]json.RawMessage{d.rd, pdi} {
		for _, k := range sortedKeys(set) {
			if k != "PD LIST" && k != "Drive Information" && !strings.HasPrefix(k, "PDs for VD ") && !storcliDriveKeyRe.MatchString(k) {
				continue
			}
			var rows []storcliPD
			if err := d.decodeIn(set, k, &rows); err != nil {
				return err
			}
			for _, r := range rows {
				pd := storcliPDFrom(r.EIDSlt, r.State, fmt.Sprint(r.DG), r.Size, r.Model)
				if storcliDriveKeyRe.MatchString(k) {
					var det map[string]map[string]any
					_ = json.Unmarshal(set[k+" - Detailed Information"], &det)
					if sn := storStr(det[k+" Device attributes"], "SN"); sn != nil && *sn != "" {
						pd.Serial = sn
					}
				}
				ctrl.PhysicalDrives = append(ctrl.PhysicalDrives, pd)
			}
		}
	}
	return nil
}

// arrays reads the drive groups from TOPOLOGY: the DG rows with Arr "-".
func (d *storJSON) arrays(ctrl *Controller) error {
	var topo []map[string]any
	if err := d.decode("TOPOLOGY", &topo); err != nil {
		return err
	}
	rows := make([]map[string]string, len(topo))
	for i, r := range topo {
		rows[i] = map[string]string{}
		for k, v := range r {
			rows[i][k] = fmt.Sprint(v)
		}
	}
	storcliTopology(ctrl, rows)
	return nil
}

// storcliTopology reads TOPOLOGY rows (JSON or text): a drive group is the
// row with Arr and Row "-"; its members are the DRIVE rows of the same DG
// with an EID:Slot (a missing drive's row prints "-" there and names no
// slot), in the order printed.
func storcliTopology(ctrl *Controller, rows []map[string]string) {
	for _, r := range rows {
		switch {
		case r["Arr"] == "-" && r["Row"] == "-":
			ctrl.Arrays = append(ctrl.Arrays, Array{ID: r["DG"], State: ptr(r["State"]), Condition: condition(r["State"])})
		case r["Type"] == "DRIVE" && r["EID:Slot"] != "" && r["EID:Slot"] != "-":
			for i := range ctrl.Arrays {
				if ctrl.Arrays[i].ID == r["DG"] {
					ctrl.Arrays[i].Members = append(ctrl.Arrays[i].Members, r["EID:Slot"])
				}
			}
		}
	}
}

// storcliPDFrom builds a PhysicalDrive from a PD LIST row.
func storcliPDFrom(eidSlt, state, dg, size, model string) PhysicalDrive {
	pd := PhysicalDrive{State: ptr(state), Condition: condition(storcliPDState(state))}
	if e, s, ok := strings.Cut(eidSlt, ":"); ok {
		if v, ok := atoi(e); ok {
			pd.Enclosure = ptr(v)
		}
		if v, ok := atoi(s); ok {
			pd.Slot = ptr(v)
		}
	}
	if b, ok := parseSize(size); ok {
		pd.SizeBytes = ptr(b)
	}
	if m := strings.TrimSpace(model); m != "" {
		pd.Model = ptr(m)
	}
	if dg != "" && dg != "-" && dg != "<nil>" {
		pd.Array = ptr(dg)
	}
	return pd
}

// storcliPDState expands PD LIST state codes that condition() cannot read.
func storcliPDState(s string) string {
	switch strings.TrimSpace(s) {
	case "UGood", "JBOD", "GHS", "DHS", "Onln":
		return "ok"
	case "UBad", "Offln", "Failed":
		return "failed"
	case "Rbld", "Cpybck":
		return "rebuild"
	case "-":
		return "" // HBA pass-through drives: no RAID state
	}
	return s
}

// storcliCache reads the VD LIST Cache column: optional read part (R, NR,
// RA), then AWB/WB/WT, then the IO part (C, D).
func storcliCache(s string) (WritePolicy, bool) {
	t := strings.ToUpper(strings.TrimSpace(s))
	for _, p := range []string{"NR", "RA", "R"} {
		if strings.HasPrefix(t, p) && len(t) > len(p) && (t[len(p)] == 'W' || t[len(p)] == 'A') {
			t = t[len(p):]
			break
		}
	}
	switch {
	case strings.HasPrefix(t, "AWB"), strings.HasPrefix(t, "WB"):
		return WriteBack, true
	case strings.HasPrefix(t, "WT"):
		return WriteThrough, true
	}
	return "", false
}

// batteryFrom merges a BBU/CacheVault row into b.
func batteryFrom(b *Battery, model, state string) *Battery {
	if b == nil {
		b = &Battery{}
	}
	if model != "" {
		b.Model = ptr(model)
	}
	b.State = ptr(state)
	b.Present = ptr(true)
	switch condition(state) {
	case ConditionOK:
		b.Failed = ptr(false)
	case ConditionFailed:
		b.Failed = ptr(true)
	default:
		b.Failed = nil
	}
	return b
}

// jsonError turns a decoder error into a ParseError with a line number.
func jsonError(tool Tool, data []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case len(bytes.TrimSpace(data)) == 0:
		return &ParseError{Tool: tool, Line: 1, Err: ErrTruncated, Expected: "a JSON document"}
	case errors.As(err, &se):
		exp := "valid JSON"
		if bytes.IndexByte(bytes.TrimSpace(data), '{') != 0 {
			return &ParseError{Tool: tool, Line: lineAt(data, 0), Err: ErrForeign, Expected: "JSON output (storcli command ending in J)", Got: firstLineOf(data)}
		}
		return &ParseError{Tool: tool, Line: lineAt(data, se.Offset), Err: fmt.Errorf("%w: %v", ErrSyntax, se), Expected: exp}
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return &ParseError{Tool: tool, Line: lineAt(data, int64(len(data))), Err: ErrTruncated, Expected: "the rest of the JSON document"}
	case errors.As(err, &te):
		return &ParseError{Tool: tool, Line: lineAt(data, te.Offset), Err: ErrForeign,
			Expected: fmt.Sprintf("%s to be %s", strconv.Quote(te.Field), te.Type), Got: te.Value}
	}
	return &ParseError{Tool: tool, Line: 1, Err: fmt.Errorf("%w: %v", ErrSyntax, err), Expected: "a storcli JSON document"}
}

// lineAt returns the 1-based line of byte offset off.
func lineAt(data []byte, off int64) int {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	if off < 0 {
		off = 0
	}
	return bytes.Count(data[:off], []byte{'\n'}) + 1
}

// lineOf returns the line of the first occurrence of needle, or 1.
func lineOf(data []byte, needle string) int {
	i := bytes.Index(data, []byte(needle))
	if i < 0 {
		return 1
	}
	return lineAt(data, int64(i))
}

func firstLineOf(data []byte) string {
	s, _, _ := strings.Cut(strings.TrimSpace(string(data)), "\n")
	return s
}

// sortedKeys are m's keys in storcli's own order: runs of digits compare
// as numbers, so "Drive /c0/e23/s2" comes before "Drive /c0/e23/s10" and
// "/c0/v2" before "/c0/v10" (a JSON object's key order is lost when it is
// decoded into a map).
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if c := naturalCompare(a, b); c != 0 {
			return c
		}
		return strings.Compare(a, b) // "s07" and "s7": still one order
	})
	return keys
}

// naturalCompare orders a and b with digit runs read as numbers.
func naturalCompare(a, b string) int {
	for a != "" && b != "" {
		da, db := digitRun(a), digitRun(b)
		if da > 0 && db > 0 {
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if c := cmp.Compare(len(na), len(nb)); c != 0 {
				return c
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return cmp.Compare(a[0], b[0])
		}
		a, b = a[1:], b[1:]
	}
	return cmp.Compare(len(a), len(b))
}

func digitRun(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}

// storcliDetail renders a Command Status's "Detailed Status" entries
// (ErrCd, ErrMsg and the other keys of each) so a failure keeps its reason;
// "" when there are none.
func storcliDetail(v any) string {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return ""
	}
	var parts []string
	for _, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			parts = append(parts, fmt.Sprint(e))
			continue
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var kv []string
		for _, k := range keys {
			kv = append(kv, fmt.Sprintf("%s=%v", k, m[k]))
		}
		parts = append(parts, strings.Join(kv, " "))
	}
	return "; detailed status: " + strings.Join(parts, "; ")
}
