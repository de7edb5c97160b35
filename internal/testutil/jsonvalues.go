package testutil

import (
	"regexp"
	"strings"
	"testing"
)

var (
	looksLikeTime = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d`)
	oneTimeFormat = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
)

// CheckJSONValues walks a decoded JSON document (docs/JSON.md): every time
// is RFC 3339 in UTC with milliseconds, and none is the zero time (an
// unknown time is null).
func CheckJSONValues(t testing.TB, where string, v any) {
	t.Helper()
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			CheckJSONValues(t, where+"."+k, e)
		}
	case []any:
		for _, e := range x {
			CheckJSONValues(t, where+"[]", e)
		}
	case string:
		if looksLikeTime.MatchString(x) && (!oneTimeFormat.MatchString(x) || strings.HasPrefix(x, "0001-")) {
			t.Errorf("%s: time %q is not RFC 3339 UTC with milliseconds, or is the zero time", where, x)
		}
	}
}
