package raidctl

import (
	"bytes"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// line is one input line with its 1-based number, CR bytes and trailing
// blanks removed, invalid UTF-8 replaced.
type line struct {
	n    int
	text string
}

// splitLines splits raw tool output into lines. It tolerates CRLF, stray CR
// bytes and invalid UTF-8 (MegaCLI captures contain all three).
func splitLines(data []byte) []line {
	raw := bytes.Split(data, []byte{'\n'})
	out := make([]line, 0, len(raw))
	for i, r := range raw {
		r = bytes.ReplaceAll(r, []byte{'\r'}, nil)
		s := string(r)
		if !utf8.ValidString(s) {
			s = strings.ToValidUTF8(s, "\uFFFD")
		}
		out = append(out, line{n: i + 1, text: strings.TrimRight(s, " \t")})
	}
	// A final newline leaves one empty element: drop it so line counts match.
	if len(out) > 0 && out[len(out)-1].text == "" && len(raw[len(raw)-1]) == 0 {
		out = out[:len(out)-1]
	}
	return out
}

// lastNonEmpty returns the last line with text, or line 1 with no text for
// blank input.
func lastNonEmpty(ls []line) line {
	for i := len(ls) - 1; i >= 0; i-- {
		if strings.TrimSpace(ls[i].text) != "" {
			return ls[i]
		}
	}
	return line{n: 1}
}

// keyValue splits "  Key   : value" at the first sep. ok is false when sep
// is absent.
func keyValue(s, sep string) (key, value string, ok bool) {
	k, v, ok := strings.Cut(s, sep)
	if !ok {
		return "", "", false
	}
	return strings.TrimSpace(k), strings.TrimSpace(v), true
}

// keyValueSpaced splits at the first colon that follows a blank ("Reported
// Channel,Device(T:L)   : 0,0(0:0)"), falling back to the first colon.
func keyValueSpaced(s string) (key, value string, ok bool) {
	if i := strings.Index(s, " :"); i >= 0 {
		return strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+2:]), true
	}
	if i := strings.Index(s, "\t:"); i >= 0 {
		return strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+2:]), true
	}
	return keyValue(s, ":")
}

// normKey lowercases and collapses spaces so keys match across label
// generations ("Status of Logical Device" == "Status of logical device").
func normKey(k string) string {
	return strings.Join(strings.Fields(strings.ToLower(k)), " ")
}

// parseSize reads "70006 MB", "278.464 GB", "1.745 TB", "512B" into bytes,
// with binary multiples as the RAID tools use them.
func parseSize(s string) (int64, bool) {
	f := strings.Fields(strings.TrimSpace(s))
	var num, unit string
	switch len(f) {
	case 1:
		i := strings.IndexFunc(f[0], func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
		if i <= 0 {
			return 0, false
		}
		num, unit = f[0][:i], f[0][i:]
	case 2:
		num, unit = f[0], f[1]
	default:
		if len(f) > 2 {
			num, unit = f[0], f[1]
		} else {
			return 0, false
		}
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, false
	}
	var mul float64
	switch strings.ToUpper(unit) {
	case "B":
		mul = 1
	case "KB", "K", "KIB":
		mul = 1 << 10
	case "MB", "M", "MIB":
		mul = 1 << 20
	case "GB", "G", "GIB":
		mul = 1 << 30
	case "TB", "T", "TIB":
		mul = 1 << 40
	case "PB", "PIB":
		mul = 1 << 50
	default:
		return 0, false
	}
	b := v * mul
	if b > math.MaxInt64/2 {
		return 0, false
	}
	return int64(math.Round(b)), true
}

// sizeWithSectors reads "279.396 GB [0x22ecb25c Sectors]": the exact
// sector count times 512 when that is within 0.5% of the printed figure
// (MegaCLI's figures are cut, not rounded, and not always to the last
// digit), so a count of 4 KiB sectors is never read as an eighth of the
// drive; else the printed figure.
func sizeWithSectors(s string) (int64, bool) {
	text, rest, _ := strings.Cut(s, "[")
	b, ok := parseSize(text)
	if !ok {
		return 0, false
	}
	f := strings.Fields(rest)
	if len(f) < 2 || !strings.HasPrefix(strings.ToLower(f[1]), "sector") {
		return b, true
	}
	sec, err := strconv.ParseInt(strings.TrimPrefix(strings.ToLower(f[0]), "0x"), 16, 64)
	if err != nil || sec <= 0 || sec >= 1<<54 {
		return b, true
	}
	if exact := sec * 512; math.Abs(float64(exact-b)) <= 0.005*float64(b) {
		return exact, true
	}
	return b, true
}

// atoi parses a decimal int, trimming blanks.
func atoi(s string) (int, bool) {
	v, err := strconv.Atoi(strings.TrimSpace(s))
	return v, err == nil
}

// yesNo maps Yes/No/Enabled/Disabled/On/Off/True/False; unknown text gives nil.
func yesNo(s string) *bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "yes", "y", "enabled", "enable", "on", "true", "1", "present":
		return ptr(true)
	case "no", "n", "disabled", "disable", "off", "false", "0", "absent", "not installed", "not present":
		return ptr(false)
	}
	return nil
}

// condition maps a printed state onto a Condition.
func condition(state string) Condition {
	s := strings.ToLower(strings.TrimSpace(state))
	words := strings.FieldsFunc(s, func(r rune) bool {
		return (r < 'a' || r > 'z') && (r < '0' || r > '9')
	})
	word := func(set ...string) bool {
		for _, w := range words {
			for _, x := range set {
				if w == x {
					return true
				}
			}
		}
		return false
	}
	sub := func(set ...string) bool {
		for _, x := range set {
			if strings.Contains(s, x) {
				return true
			}
		}
		return false
	}
	switch {
	case s == "":
		return ConditionUnknown
	case sub("rebuild", "recover", "resync", "reshap", "copyback", "impacted") || word("rbld", "rebuilding", "building"):
		// arcconf "Impacted": a build or verify is running on the
		// logical device (Adaptec Storage Management Software User's
		// Guide, status reporting).
		return ConditionRebuilding
	case sub("unconfigured(bad)", "unconfigured bad"):
		return ConditionFailed
	case sub("unconfigured(good)", "unconfigured good"):
		return ConditionOK
	case sub("fail", "defunct", "inactive", "faulty", "missing", "offline", "removed") ||
		word("dead", "offln", "ofln", "msng", "ddd", "ubad"):
		return ConditionFailed
	case sub("degrad", "critical", "suboptimal") || word("dgrd", "pdgd", "crt"):
		return ConditionDegraded
	case sub("optimal", "online", "okay", "clean", "ready", "spare", "unconfigured good") ||
		word("ok", "oky", "onl", "onln", "optl", "rdy", "hsp", "ghs", "dhs", "ugood", "active", "jbod", "present", "sync"):
		return ConditionOK
	}
	return ConditionUnknown
}

// raidLevel normalises "RAID1", "raid5", "Primary-1, Secondary-0, ...",
// "1" into "1", "5", "10" ...
func raidLevel(s string) (string, bool) {
	t := strings.ToUpper(strings.TrimSpace(s))
	if t == "" || t == "-" || t == "N/A" {
		return "", false
	}
	t = strings.TrimPrefix(t, "RAID")
	t = strings.TrimPrefix(t, "-")
	t = strings.TrimSpace(t)
	// "6 Reed-Solomon", "1 (mirror)": the level is the first word.
	if f := strings.Fields(t); len(f) > 1 && f[0][0] >= '0' && f[0][0] <= '9' {
		t = f[0]
	}
	if t == "LINEAR" || t == "JBOD" || t == "SIMPLE_VOLUME" || t == "SIMPLE VOLUME" || t == "SPANNED_VOLUME" {
		return strings.ToLower(t), true
	}
	return t, t != ""
}
